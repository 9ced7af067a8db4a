"""The projectors, by name. Each owns its tables and is rebuilt on its own."""

from __future__ import annotations

from projections.projectors.account_summary import AccountSummaryProjector
from projections.projectors.base import Projector
from projections.projectors.daily_activity import DailyActivityProjector
from projections.projectors.statement import StatementProjector

PROJECTORS: dict[str, Projector] = {
    p.name: p for p in (AccountSummaryProjector(), StatementProjector(), DailyActivityProjector())
}


def get_projectors(names: list[str] | None = None) -> list[Projector]:
    """The named projectors (all when `names` is empty); KeyError names an unknown one."""
    if not names:
        return list(PROJECTORS.values())
    unknown = [n for n in names if n not in PROJECTORS]
    if unknown:
        raise KeyError(f"unknown projection {', '.join(unknown)}; known: {', '.join(PROJECTORS)}")
    return [PROJECTORS[n] for n in names]
