"""`python -m bench [--quick]`: every benchmark, one table, bench-results/latest.{json,md}.

The families run in an order that keeps comparisons fair: each round of the write figures runs
Tally, the peer with its cache and the peer in its defaults back to back, figure by figure, with
the ceilings they are read against (so a change in the machine's load hits all alike), and the
long, heavy runs (rebuild, HTTP on the large log) come last. A family that fails is reported and
the others still run; the exit status is non-zero only when the harness itself failed, never for
a missed goal (the table says which goals are missed).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench import common
from bench.common import FULL, QUICK, ROOT, say

FAMILIES = ("limit", "write", "peer", "latency", "rebuild", "http", "replica", "partitions")
# The modules that measure, in running order; the peer's figures are taken by the module of the
# figure they sit beside (write, latency, rebuild), next to Tally's, and the ceilings of the write
# figures by bench.write between its rounds (bench.limit itself takes COPY, and the ceilings only
# when no write figure runs).
MEASURED = ("limit", "write", "latency", "rebuild", "http", "replica", "partitions")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="the same code on small data, in about four minutes (CI)")
    parser.add_argument(
        "--only", nargs="+", choices=FAMILIES, metavar="FAMILY", help=f"run only these families ({', '.join(FAMILIES)})"
    )
    parser.add_argument("--skip", nargs="+", choices=FAMILIES, default=[], metavar="FAMILY")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results", help="where latest.json/.md go")
    parser.add_argument(
        "--keep-databases",
        action="store_true",
        help="leave bench_* databases behind for a look (they are dropped otherwise)",
    )
    return parser.parse_args(argv)


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.profile = QUICK if args.quick else FULL
        wanted = args.only or FAMILIES
        self.families = [f for f in FAMILIES if f in wanted and f not in args.skip]
        self.results: dict[str, Any] = {}
        self.failed: list[str] = []
        self.peer_available = importlib.util.find_spec("eventsourcing") is not None
        self.machine: dict[str, Any] = {}

    def step(self, family: str, key: str | None, label: str, fn, *args) -> Any:
        """Run one measurement; a failure is recorded under the family and the run goes on."""
        say(label)
        started = time.perf_counter()
        try:
            value = fn(*args)
        except Exception:  # noqa: BLE001 - recorded under its family, and the run goes on
            error = traceback.format_exc()
            say(f"  FAILED: {error.strip().splitlines()[-1]}")
            self.failed.append(f"{family}.{key or ''}")
            self.results.setdefault(family, {}).setdefault("errors", {})[key or label] = error
            return None
        say(f"  done in {time.perf_counter() - started:.1f} s")
        if key is None:
            self.results.setdefault(family, {}).update(value)
        else:
            self.results.setdefault(family, {})[key] = value
        return value

    def setup_databases(self) -> None:
        say("creating the harness's databases (bench_*), migrating bench_tally")
        common.recreate_database(common.TALLY_DB)
        common.manage("migrate", "--no-input", database=common.TALLY_DB)
        # Same schema everywhere, copied from the migrated database (no connection to it yet).
        common.recreate_database(common.LIMIT_DB, template=common.TALLY_DB)
        common.recreate_database(common.REBUILD_DB, template=common.TALLY_DB)
        common.recreate_database(common.PEER_DB)

    @property
    def peer(self) -> bool:
        """Whether the peer's figures are taken in this run (asked for, and its library installed)."""
        return "peer" in self.families and self.peer_available

    def run(self) -> None:
        """Each family module measures its own figures (`measure(run)`, through run.step)."""
        from bench import machine

        self.machine = machine.describe()
        if "peer" in self.families and not self.peer_available:
            say("peer: the eventsourcing library is not installed (pip install -r requirements-bench.txt)")
            self.results["peer"] = {"errors": {"install": "eventsourcing is not installed"}}
            self.failed.append("peer")
        for family in MEASURED:
            if family in self.families or (family == "write" and self.peer):
                importlib.import_module(f"bench.{family}").measure(self)


def main(argv: list[str]) -> int:
    args = parse(argv)
    os.environ.update(common.bench_environment())
    run = Run(args)
    started = time.perf_counter()
    say(
        f"{run.profile.name} run of {', '.join(run.families)}; Postgres at {common.database_url('')[:-1]}, "
        f"Redis database {common.REDIS_DB}"
    )
    try:
        run.setup_databases()
        run.run()
    finally:
        if not args.keep_databases:
            from django.conf import settings

            if settings.configured:
                from django.db import connections

                connections.close_all()
            for name in common.ALL_DBS:
                try:
                    common.drop_database(name)
                except Exception as exc:  # noqa: BLE001 - a leftover database is not worth a traceback
                    say(f"could not drop {name}: {exc}")
    from bench import report

    elapsed = time.perf_counter() - started
    rows = report.build_rows(run.results)
    json_path, md_path = report.write(
        args.out, rows, run.results, run.machine, common.profile_dict(run.profile), elapsed
    )
    m = run.machine
    pg = m.get("postgres", {})
    pgs = pg.get("settings", {})
    print()
    print(
        f"Tally benchmarks ({run.profile.name}), {m.get('cores')} cores, {m.get('memory_gib')} GiB, PostgreSQL "
        f"{pg.get('version')} (shared_buffers {pgs.get('shared_buffers')}, synchronous_commit "
        f"{pgs.get('synchronous_commit')}, fsync {pgs.get('fsync')}), load average at start "
        f"{m.get('load_average_at_start')}, {elapsed:.0f} s"
    )
    print()
    print(report.text_table(rows))
    print()
    print(
        f"Written: {json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path}, "
        f"{md_path.relative_to(ROOT) if md_path.is_relative_to(ROOT) else md_path}"
    )
    if run.failed:
        print(f"Harness failures (see 'errors' in the JSON): {', '.join(run.failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
