"""One table of every figure (figure, Tally, peer, peer in its defaults, ratio, ceiling, goal, met?), printed, and
written with the same numbers to bench-results/latest.json (everything, raw) and latest.md (the
table and the machine, ready to paste into the README).

Each family module builds its own rows (`rows(results)`, with Row and the helpers below); this
module only puts them together and formats them."""

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
    unit: str  # "/s", "ms", "x", "%", "MB"
    tally: float | None = None
    peer: float | None = None  # the peer in its best documented configuration for the figure
    limit: float | None = None  # the ceiling the figure is read against (the row says which)
    goal: str = ""
    met: bool | None = None  # None: no goal, or not measured
    note: str = ""
    peer_default: float | None = None  # the peer in its default configuration, where measured

    @property
    def ratio(self) -> float | None:
        """Tally / peer, whatever the unit: above 1 is more throughput or more latency."""
        if self.tally is None or self.peer is None or not self.peer:
            return None
        return self.tally / self.peer


def get(results: dict[str, Any], *path: str) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def check(value: float | None, test: Callable[[float], bool]) -> bool | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else bool(test(value))


def at_most(goal: float) -> Callable[[float], bool]:
    """A test bound to this goal (a lambda in the loop would see the loop's last goal, were it kept)."""
    return lambda x: x <= goal


def at_least(goal: float) -> Callable[[float], bool]:
    return lambda x: x >= goal


# Display order of the table: each family module has rows(results) -> list[Row] for its figures.
ROW_FAMILIES = ("write", "rebuild", "latency", "http", "replica", "partitions", "limit")


def build_rows(results: dict[str, Any]) -> list[Row]:
    """Every family's rows, in display order (a family that did not run shows its rows unmeasured)."""
    import importlib

    rows: list[Row] = []
    for family in ROW_FAMILIES:
        rows += importlib.import_module(f"bench.{family}").rows(results)
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
    if unit == "%":
        return f"{value:.0f} %"
    return f"{value:,.1f} {unit}"


def _met(row: Row) -> str:
    if row.met is None:
        return NOT_YET if row.note == NOT_YET else "—"
    return "yes" if row.met else "NO"


HEADER = ("Figure", "Tally", "Peer", "Peer, defaults", "Tally/peer", "Ceiling", "Goal", "Met?")


def cells(row: Row) -> tuple[str, ...]:
    return (
        row.figure,
        fmt(row.tally, row.unit),
        fmt(row.peer, row.unit),
        fmt(row.peer_default, row.unit),
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


def markdown(rows: list[Row], machine: dict[str, Any], profile: str, results: dict[str, Any] | None = None) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] + ["---:"] * 5 + ["---", ":---:"]) + "|"]
    lines += ["| " + " | ".join(cells(r)) + " |" for r in rows]
    pg = machine.get("postgres", {})
    s = pg.get("settings", {})
    git = machine.get("git", {})
    commit = f"{git.get('commit', '?')}{', with uncommitted changes' if git.get('dirty') else ''}"
    lines += [
        "",
        f"Measured {machine.get('taken_at', '')} with `python -m bench{' --quick' if profile == 'quick' else ''}` "
        f"(commit {commit}) on {machine.get('cores')} cores "
        f"({machine.get('cpu', '')}), {machine.get('memory_gib')} GiB, Python {machine.get('python')}, "
        f"PostgreSQL {pg.get('version', '?')} (shared_buffers {s.get('shared_buffers')}, synchronous_commit "
        f"{s.get('synchronous_commit')}, fsync {s.get('fsync')}, full_page_writes {s.get('full_page_writes')}); "
        f"peer: eventsourcing {machine.get('packages', {}).get('eventsourcing', '?')}. "
        f"Load average at start: {machine.get('load_average_at_start')}.",
    ]
    columns = [
        f"- {name} (write figures): {config}"
        for name, config in (
            ("Peer", get(results or {}, "peer", "config")),
            ("Peer, defaults", get(results or {}, "peer_defaults", "config")),
        )
        if config
    ]
    if columns:
        lines += ["", *columns]
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
    md_path.write_text(markdown(rows, machine, profile["name"], results))
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
