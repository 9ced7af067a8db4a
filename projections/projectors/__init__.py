"""The projectors, by name. Each owns its tables and is rebuilt on its own."""

from __future__ import annotations

from projections.projectors.account_summary import AccountSummaryProjector
from projections.projectors.approval_process import ApprovalProcess
from projections.projectors.approvals import ApprovalsProjector
from projections.projectors.base import Projector
from projections.projectors.daily_activity import DailyActivityProjector
from projections.projectors.event_types import EventTypesProjector
from projections.projectors.standing_orders import StandingOrdersProjector
from projections.projectors.statement import StatementProjector

PROJECTORS: dict[str, Projector] = {
    p.name: p
    for p in (
        AccountSummaryProjector(),
        StatementProjector(),
        DailyActivityProjector(),
        ApprovalsProjector(),
        StandingOrdersProjector(),
        EventTypesProjector(),
    )
}
# Process managers follow the log like projectors, with the same runner, but act instead of writing
# tables (projections/projectors/process.py): never reset, rebuilt or verified, so not in PROJECTORS.
PROCESS_MANAGERS: dict[str, Projector] = {p.name: p for p in (ApprovalProcess(),)}


def get_projectors(names: list[str] | None = None) -> list[Projector]:
    """The named projectors (all when `names` is empty); KeyError names an unknown one."""
    if not names:
        return list(PROJECTORS.values())
    acting = [n for n in names if n in PROCESS_MANAGERS]
    if acting:  # rebuild_projections / verify_projections name them: say why they cannot
        raise KeyError(f"{', '.join(acting)}: a process manager acts on events; it is never rebuilt or verified")
    unknown = [n for n in names if n not in PROJECTORS]
    if unknown:
        raise KeyError(f"unknown projection {', '.join(unknown)}; known: {', '.join(PROJECTORS)}")
    return [PROJECTORS[n] for n in names]


def get_runnable(names: list[str] | None = None) -> list[Projector]:
    """What the runner catches up: the named projectors or process managers (all of both by default)."""
    if not names:
        return [*PROJECTORS.values(), *PROCESS_MANAGERS.values()]
    rest = [n for n in names if n not in PROCESS_MANAGERS]
    return [*(get_projectors(rest) if rest else []), *(PROCESS_MANAGERS[n] for n in names if n in PROCESS_MANAGERS)]
