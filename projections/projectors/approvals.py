"""Approval requests: one row per request with its decision and outcome (the inbox is the pending ones)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from uuid import UUID

from ledger.store import RecordedEvent
from ledger.store.sql import Row, execute
from ledger.store.upcasting import CURRENT_VIEW as EVENTS
from projections.projectors.base import IN_SPAN, Projector, Span, sql_list, sql_text

_DECISIONS = {"ApprovalGranted": "approved", "ApprovalRejected": "rejected", "ApprovalExpired": "expired"}
_HANDLES = frozenset({"ApprovalRequested", "ApprovalSettled", *_DECISIONS})


@dataclass(slots=True)
class Line:
    account_id: UUID
    to_account_id: UUID | None
    amount: int
    currency: str
    memo: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    status: str = "pending"
    decided_by: str = ""
    decision_reason: str = ""
    decided_at: datetime | None = None
    outcome: str = ""
    outcome_detail: str = ""
    version: int = 0
    position: int = 0


def fold(rows: dict[UUID, Line], events: Iterable[RecordedEvent]) -> None:
    for e in events:
        d = e.data
        if e.type == "ApprovalRequested":
            to = d.get("to_account_id")
            rows[e.stream_id] = row = Line(
                UUID(d["account_id"]),
                UUID(to) if to else None,
                d["amount"],
                d["currency"],
                d.get("memo", ""),
                d["requested_by"],
                datetime.fromisoformat(d["requested_at"]),
                datetime.fromisoformat(d["expires_at"]),
            )
        else:
            row = rows[e.stream_id]
            if e.type == "ApprovalSettled":
                row.outcome, row.outcome_detail = d["outcome"], d.get("detail", "")
            else:
                row.status, row.decided_at = _DECISIONS[e.type], e.recorded_at
                row.decided_by, row.decision_reason = d.get("decided_by", ""), d.get("reason", "")
        row.version, row.position = e.version, e.position


_values = attrgetter(*(f.name for f in fields(Line)))
_COLUMNS = ", ".join(f.name for f in fields(Line))
_STATUS = " ".join(f"WHEN {sql_text(t)} THEN {sql_text(s)}" for t, s in _DECISIONS.items())

# New requests first (a request and its decision may share a span), then each request's decision and
# outcome in the span (at most one of each: the request's stream allows no second).
_INSERT = f"""
INSERT INTO projections_approvalrequest (request_id, {_COLUMNS})
SELECT e.stream_id, (e.data ->> 'account_id')::uuid, (e.data ->> 'to_account_id')::uuid,
       (e.data ->> 'amount')::bigint, e.data ->> 'currency', coalesce(e.data ->> 'memo', ''),
       e.data ->> 'requested_by', (e.data ->> 'requested_at')::timestamptz, (e.data ->> 'expires_at')::timestamptz,
       'pending', '', '', NULL, '', '', e.version, e.position
  FROM {EVENTS} e
 WHERE e.type = 'ApprovalRequested' AND {IN_SPAN}
"""
_UPDATE = f"""
WITH change AS (
    SELECT e.stream_id,
           max(CASE e.type {_STATUS} END) AS status,
           max(coalesce(e.data ->> 'decided_by', '')) FILTER (WHERE e.type <> 'ApprovalSettled') AS decided_by,
           max(coalesce(e.data ->> 'reason', '')) FILTER (WHERE e.type <> 'ApprovalSettled') AS reason,
           max(e.recorded_at) FILTER (WHERE e.type <> 'ApprovalSettled') AS decided_at,
           max(e.data ->> 'outcome') AS outcome,
           max(coalesce(e.data ->> 'detail', '')) FILTER (WHERE e.type = 'ApprovalSettled') AS detail,
           max(e.version) AS version, max(e.position) AS position
      FROM {EVENTS} e
     WHERE e.type IN ({sql_list(sorted(_HANDLES - {"ApprovalRequested"}))}) AND {IN_SPAN}
     GROUP BY e.stream_id
)
UPDATE projections_approvalrequest r
   SET status = coalesce(c.status, r.status), decided_by = coalesce(c.decided_by, r.decided_by),
       decision_reason = coalesce(c.reason, r.decision_reason), decided_at = coalesce(c.decided_at, r.decided_at),
       outcome = coalesce(c.outcome, r.outcome), outcome_detail = coalesce(c.detail, r.outcome_detail),
       version = greatest(c.version, r.version), position = greatest(c.position, r.position)
  FROM change c
 WHERE r.request_id = c.stream_id
"""


class ApprovalsProjector(Projector):
    name = "approvals"
    handles = _HANDLES
    tables = ("projections_approvalrequest",)
    key_columns = ("request_id",)
    row_columns = tuple(_COLUMNS.split(", "))

    def apply(self, span: Span) -> None:
        params = span.params()
        execute(_INSERT, params)
        execute(_UPDATE, params)

    def expected(self, events: Iterable[RecordedEvent]) -> Iterable[tuple[Hashable, Row]]:
        rows: dict[UUID, Line] = {}
        fold(rows, (e for e in events if e.type in self.handles))
        return ((key, _values(row)) for key, row in rows.items())
