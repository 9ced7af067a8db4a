"""One table of every figure (figure, Tally, peer, ratio, Postgres limit, goal, met?), printed, and
written with the same numbers to bench-results/latest.json (everything, raw) and latest.md (the
table and the machine, ready to paste into the README)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

NOT_YET = "not measured yet"


@dataclass
class Row:
    key: str
    figure: str
    unit: str  # "/s", "ms", "x", "MB"
    tally: float | None = None
    peer: float | None = None
    limit: float | None = None
    goal: str = ""
    met: bool | None = None  # None: no goal, or not measured
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """Tally / peer, whatever the unit: above 1 is more throughput or more latency."""
        if self.tally is None or self.peer is None or not self.peer:
            return None
        return self.tally / self.peer


def _get(results: dict[str, Any], *path: str) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _check(value: float | None, test: Callable[[float], bool]) -> bool | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else bool(test(value))


def _at_most(goal: float) -> Callable[[float], bool]:
    """A test bound to this goal (a lambda in the loop would see the loop's last goal, were it kept)."""
    return lambda x: x <= goal


def build_rows(results: dict[str, Any]) -> list[Row]:
    r = results
    rows: list[Row] = []

    def throughput(key: str, figure: str, family_key: str, limit_key: str | None, goal: float | None) -> None:
        row = Row(
            key,
            figure,
            "/s",
            _get(r, "write", family_key, "per_second"),
            _get(r, "peer", family_key, "per_second"),
            _get(r, "limit", limit_key, "per_second") if limit_key else None,
        )
        if goal is not None:
            row.goal = f">= {goal:g}x peer"
            row.met = _check(row.ratio, lambda x: x >= goal)
        rows.append(row)

    throughput("deposit_1", "Deposit commands/s, 1 process", "deposit_1", "insert_1", 2.5)
    throughput("deposit_4", "Deposit commands/s, 4 processes, distinct accounts", "deposit_4", "insert_4", 3)
    for p in ("p50", "p99"):
        row = Row(
            f"deposit_latency_{p}",
            f"Deposit latency {p}, 1 process",
            "ms",
            _get(r, "write", "deposit_1", "latency_ms", p),
            _get(r, "peer", "deposit_1", "latency_ms", p),
            _get(r, "limit", "insert_1", "latency_ms", p),
            goal="<= 0.5x peer",
        )
        row.met = _check(row.ratio, lambda x: x <= 0.5)
        rows.append(row)
    history = Row(
        "history_cost",
        "Deposit cost, 10,000 prior events vs 10",
        "x",
        _get(r, "write", "history", "ratio"),
        _get(r, "peer", "history", "ratio"),
        goal="<= 1.5x",
    )
    history.met = _check(history.tally, lambda x: x <= 1.5)
    long_ms, short_ms = _get(r, "write", "history", "long_ms", "p50"), _get(r, "write", "history", "short_ms", "p50")
    if long_ms is not None:
        history.note = f"Tally median {long_ms:.2f} ms vs {short_ms:.2f} ms, loading snapshot and later events"
        cached = _get(r, "write", "history", "cached_ratio")
        if cached is not None:
            cached_long = _get(r, "write", "history", "cached_long_ms", "p50")
            cached_short = _get(r, "write", "history", "cached_short_ms", "p50")
            history.note += (
                f"; with the state cached by the process that wrote last: {cached:.2f}x "
                f"({cached_long:.2f} ms vs {cached_short:.2f} ms)"
            )
    rows.append(history)

    rebuild = Row(
        "rebuild_rate",
        "Rebuild all projections, events/s",
        "/s",
        _get(r, "rebuild", "per_second"),
        _get(r, "peer", "projection", "per_second"),
        _get(r, "limit", "scan", "per_second"),
        goal=">= 50000/s",
    )
    rebuild.met = _check(rebuild.tally, lambda x: x >= 50_000)
    sizes = _get(r, "rebuild", "sizes")
    if sizes:
        rebuild.note = f"Tally over {sizes[1]:,} events"
        if _get(r, "peer", "projection", "events"):
            rebuild.note += f"; peer's balance projection over {_get(r, 'peer', 'projection', 'events'):,}"
        if _get(r, "rebuild", "valid") is False:
            rebuild.note += "; REBUILT READ MODEL DIFFERS"
    rows.append(rebuild)
    memory = Row(
        "rebuild_memory",
        "Rebuild peak RSS, larger log / smaller log",
        "x",
        _get(r, "rebuild", "peak_rss_ratio"),
        goal="<= 1.1x (flat)",
    )
    memory.met = _check(memory.tally, lambda x: x <= 1.1)
    runs = _get(r, "rebuild", "runs")
    if runs:
        memory.note = ", ".join(f"{run['peak_rss_mb']:.0f} MB at {run['events']:,}" for run in runs)
    rows.append(memory)

    for p, goal in (("p50", 50), ("p99", 300)):
        row = Row(
            f"visibility_{p}",
            f"Commit -> read model visible {p}, 100 commands/s",
            "ms",
            _get(r, "latency", "tally", "latency_ms", p),
            _get(r, "latency", "peer", "latency_ms", p),
            goal=f"<= {goal} ms",
        )
        row.met = _check(row.tally, _at_most(goal))
        if p == "p50" and _get(r, "latency", "tally"):
            row.note = "Tally: Redis + Celery; peer: its LISTEN/NOTIFY projection runner"
        rows.append(row)

    events = _get(r, "http", "events")
    log = f"{events:,} events" if events else "1,000,000 events"
    for key, figure, goal in (
        ("account_page", "HTTP account page p95, 10 clients", 50),
        ("accounts_list", "HTTP accounts list p95, 10 clients", 50),
        ("deposit", "HTTP deposit round trip p95 (read-your-writes)", 200),
        ("admin_list", f"Admin event list p95, {log}", 200),
        ("admin_search", f"Admin event search p95, {log}", 200),
    ):
        entry = _get(r, "http", key)
        row = Row(f"http_{key}", figure, "ms", goal=f"<= {goal} ms")
        if isinstance(entry, dict) and "latency_ms" in entry:
            row.tally = entry["latency_ms"]["p95"]
            row.met = _check(row.tally, _at_most(goal))
            row.note = f"p50 {entry['latency_ms']['p50']:.0f} ms, {entry['per_second']:.0f} requests/s"
            if entry.get("errors"):
                row.note += f", {entry['errors']} FAILED requests"
                row.met = False
        else:
            row.note = entry if isinstance(entry, str) else NOT_YET
        rows.append(row)

    # Context without a goal: what the other commands of the workload cost, and bulk writes.
    throughput("transfer_1", "Transfer commands/s, 1 process (no goal)", "transfer_1", None, None)
    rows.append(
        Row(
            "open_1",
            "Open-account commands/s, 1 process (no goal)",
            "/s",
            _get(r, "write", "deposit_1", "open_per_second"),
            _get(r, "peer", "deposit_1", "open_per_second"),
        )
    )
    loads = _get(r, "rebuild", "runs")
    rows.append(
        Row(
            "copy",
            "COPY into the event table, rows/s (no goal)",
            "/s",
            loads[-1]["load_per_second"] if loads else None,
            None,
            _get(r, "limit", "copy", "per_second"),
            note="Tally: the harness's generator + COPY loading the rebuild log" if loads else "",
        )
    )
    return rows


# --- formatting -----------------------------------------------------------------------------------------


def fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:,.1f} {unit}"


def _met(row: Row) -> str:
    if row.met is None:
        return NOT_YET if row.note == NOT_YET else "—"
    return "yes" if row.met else "NO"


HEADER = ("Figure", "Tally", "Peer", "Tally/peer", "Postgres limit", "Goal", "Met?")


def cells(row: Row) -> tuple[str, ...]:
    return (
        row.figure,
        fmt(row.tally, row.unit),
        fmt(row.peer, row.unit),
        fmt(row.ratio, "x"),
        fmt(row.limit, row.unit),
        row.goal or "—",
        _met(row),
    )


def text_table(rows: list[Row]) -> str:
    table = [HEADER, *[cells(r) for r in rows]]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    out = []
    for n, line in enumerate(table):
        out.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True)))
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [f"  {r.figure}: {r.note}" for r in rows if r.note and r.note != NOT_YET]
    return "\n".join(out + (["", "Notes:", *notes] if notes else []))


def markdown(rows: list[Row], machine: dict[str, Any], profile: str) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] + ["---:"] * 4 + ["---", ":---:"]) + "|"]
    lines += ["| " + " | ".join(cells(r)) + " |" for r in rows]
    pg = machine.get("postgres", {})
    s = pg.get("settings", {})
    lines += [
        "",
        f"Measured {machine.get('taken_at', '')} with `python -m bench{' --quick' if profile == 'quick' else ''}` "
        f"(commit {machine.get('git', {}).get('commit', '?')}) on {machine.get('cores')} cores "
        f"({machine.get('cpu', '')}), {machine.get('memory_gib')} GiB, Python {machine.get('python')}, "
        f"PostgreSQL {pg.get('version', '?')} (shared_buffers {s.get('shared_buffers')}, synchronous_commit "
        f"{s.get('synchronous_commit')}, fsync {s.get('fsync')}, full_page_writes {s.get('full_page_writes')}); "
        f"peer: eventsourcing {machine.get('packages', {}).get('eventsourcing', '?')} with its default "
        f"Postgres recorder. Load average at start: {machine.get('load_average_at_start')}.",
    ]
    notes = [f"- {r.figure}: {r.note}" for r in rows if r.note and r.note != NOT_YET]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def write(
    out_dir: Path,
    rows: list[Row],
    results: dict[str, Any],
    machine: dict[str, Any],
    profile: dict[str, Any],
    elapsed: float,
) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine,
        "profile": profile,
        "elapsed_seconds": round(elapsed, 1),
        "figures": [{**asdict(r), "ratio": r.ratio, "met": r.met} for r in rows],
        "results": results,
    }
    json_path, md_path = out_dir / "latest.json", out_dir / "latest.md"
    json_path.write_text(json.dumps(_clean(document), indent=2, default=str) + "\n")
    md_path.write_text(markdown(rows, machine, profile["name"]))
    return json_path, md_path


def _clean(value: Any) -> Any:
    """Strict JSON: NaN and infinities (a figure with no samples) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
