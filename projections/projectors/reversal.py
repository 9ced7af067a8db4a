"""How the read side counts a reversal (MovementReversed): as the opposite of the movement it names,
written once in SQL for the projectors' statements and once in Python for their replays."""

from __future__ import annotations

from typing import Any

from ledger.domain.events import REVERSAL_CREDITS
from projections.projectors.base import sql_list

REVERSAL = "MovementReversed"


def sign(data: dict[str, Any]) -> int:
    """+1 when the reversal brings money back into the account, -1 when it takes money out."""
    return 1 if data["original_type"] in REVERSAL_CREDITS else -1


# The same over the events `e` of a projector's statement.
SIGN_SQL = f"(CASE WHEN e.data ->> 'original_type' IN ({sql_list(sorted(REVERSAL_CREDITS))}) THEN 1 ELSE -1 END)"
