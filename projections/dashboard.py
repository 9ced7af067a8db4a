"""What the dashboard shows the people at the counter: today's activity, the latest movements, the
last 30 days as a chart a person can read without hovering, and how current the figures are in one
plain sentence (the projections' details are the operators', on the Read side page)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from projections.models import AccountSummary, DailyActivity, StatementLine
from projections.projectors.daily_activity import DailyActivityProjector
from projections.queries import Lag

KINDS = ("deposits", "withdrawals", "transfers")
CHART_HEIGHT, BAR_STEP, AXIS_WIDTH = 140, 20, 36


# --- how current the figures are -------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    level: str  # ok, busy (a moment behind: no alarm), warn, bad
    text: str


# Behind by less than this is a command on its way, not news: said without the warning colour.
QUIET_SECONDS = 3


def freshness(lags: Sequence[Lag]) -> Freshness:
    """The read side in one plain sentence, the worst projection deciding."""
    if not lags:
        return Freshness("warn", "starting up")
    if any(lag.last_error for lag in lags):
        return Freshness("bad", "stopped: figures may be out of date")
    if any(lag.rebuilding for lag in lags):
        return Freshness("warn", "rebuilding: figures incomplete")
    lagging = [lag for lag in lags if lag.events_behind]
    if not lagging:
        return Freshness("ok", "up to date")
    behind = max(lag.seconds_behind for lag in lagging)
    if behind < QUIET_SECONDS:
        return Freshness("busy", "updating")
    return Freshness("warn", f"updating, {_duration(behind)} behind")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} seconds"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds / 3600)} hours"


# --- today and the latest movements --------------------------------------------------------------


def today() -> date:
    return timezone.localdate(timezone=timezone.get_default_timezone())  # the days the totals use


_COUNTERS = DailyActivityProjector.row_columns  # deposits_count, deposits_sum, ... transfers_sum


def today_by_currency() -> list[dict[str, Any]]:
    """Today's counts and sums per currency: the sum of the day's rows of every partition of the
    projection (projections/partitions.py), one row when it is not split."""
    rows = DailyActivity.objects.filter(day=today()).values("currency").order_by("currency")
    return [dict(row) for row in rows.annotate(**{f"{c}_total": Sum(c) for c in _COUNTERS})]


def latest_movements(limit: int = 8) -> list[StatementLine]:
    """The newest lines of every account's statement (by the position index), with owners' names."""
    lines = list(StatementLine.objects.order_by("-position")[:limit])
    owners = dict(
        AccountSummary.objects.filter(account_id__in={line.account_id for line in lines}).values_list(
            "account_id", "owner"
        )
    )
    for line in lines:
        line.owner = owners.get(line.account_id, "")  # type: ignore[attr-defined]  # shown beside the line
    return lines


# --- the chart ---------------------------------------------------------------------------------------


def nice_ceiling(value: int) -> int:
    """The axis's top: the value rounded up to 1, 2 or 5 times a power of ten, so its ticks are round."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if value <= factor * step:
                return factor * step
        step *= 10


def chart(activity: list[dict[str, Any]]) -> dict[str, Any]:
    """Stacked bars for an inline SVG, one per day, on a labelled axis of movement counts."""
    top = nice_ceiling(max((sum(d[k] for k in KINDS) for d in activity), default=0))
    bars = []
    for index, day in enumerate(activity):
        y, segments = CHART_HEIGHT, []
        for kind in KINDS:
            height = CHART_HEIGHT * day[kind] / top
            y -= height
            segments.append({"kind": kind, "y": round(y, 1), "height": round(height, 1)})
        total = sum(day[k] for k in KINDS)
        bars.append({"x": AXIS_WIDTH + index * BAR_STEP, "day": day, "total": total, "segments": segments})
    ticks = [{"value": top * i // 2, "y": round(CHART_HEIGHT - CHART_HEIGHT * i / 2, 1)} for i in range(3)]
    return {
        "bars": bars,
        "ticks": ticks,
        "width": AXIS_WIDTH + len(activity) * BAR_STEP,
        "axis_x": AXIS_WIDTH,
        "height": CHART_HEIGHT,
    }
