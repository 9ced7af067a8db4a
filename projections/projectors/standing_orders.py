"""Standing orders: one row per order with its schedule, its next due date, its last payment and its
failures (ledger/domain/standing_order.py). Each settled period's event carries the next due date,
so the SQL copies it instead of doing calendar arithmetic."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, fields
from datetime import date
from operator import attrgetter
from uuid import UUID

from ledger.store import RecordedEvent
from ledger.store.sql import Row, execute
from ledger.store.upcasting import CURRENT_VIEW as EVENTS
from projections.projectors.base import IN_SPAN, Projector, Span, sql_list

SET_UP, PAID, FAILED = "StandingOrderSetUp", "StandingOrderPaid", "StandingOrderPaymentFailed"
CANCELLED, ENDED = "StandingOrderCancelled", "StandingOrderEnded"
_HANDLES = frozenset({SET_UP, PAID, FAILED, CANCELLED, ENDED})


@dataclass(slots=True)
class Line:
    account_id: UUID
    to_account_id: UUID
    amount: int
    currency: str
    interval: str
    start_date: date
    end_date: date | None
    memo: str
    set_up_by: str
    status: str = "active"
    next_due: date | None = None
    payments: int = 0
    last_paid_on: date | None = None
    failures: int = 0
    last_failure_on: date | None = None
    last_failure_reason: str = ""
    ended_reason: str = ""
    version: int = 0
    position: int = 0


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def fold(rows: dict[UUID, Line], events: Iterable[RecordedEvent]) -> None:
    for e in events:
        d = e.data
        if e.type == SET_UP:
            start = date.fromisoformat(d["start_date"])
            rows[e.stream_id] = row = Line(
                UUID(d["account_id"]),
                UUID(d["to_account_id"]),
                d["amount"],
                d["currency"],
                d["interval"],
                start,
                _date(d.get("end_date")),
                d.get("memo", ""),
                d["set_up_by"],
                next_due=start,
            )
        else:
            row = rows[e.stream_id]
            if e.type in (PAID, FAILED):
                row.next_due = _date(d.get("next_due"))
                row.status = "active" if row.next_due else "finished"
                if e.type == PAID:
                    row.payments, row.last_paid_on = row.payments + 1, _date(d["due_date"])
                else:
                    row.failures, row.last_failure_on = row.failures + 1, _date(d["due_date"])
                    row.last_failure_reason = d["reason"]
            else:
                row.status = "cancelled" if e.type == CANCELLED else "ended"
                row.next_due, row.ended_reason = None, d.get("reason", "")
        row.version, row.position = e.version, e.position


_values = attrgetter(*(f.name for f in fields(Line)))
_COLUMNS = ", ".join(f.name for f in fields(Line))

_INSERT = f"""
INSERT INTO projections_standingorder (order_id, {_COLUMNS})
SELECT e.stream_id, (e.data ->> 'account_id')::uuid, (e.data ->> 'to_account_id')::uuid,
       (e.data ->> 'amount')::bigint, e.data ->> 'currency', e.data ->> 'interval',
       (e.data ->> 'start_date')::date, nullif(e.data ->> 'end_date', '')::date, coalesce(e.data ->> 'memo', ''),
       e.data ->> 'set_up_by', 'active', (e.data ->> 'start_date')::date, 0, NULL, 0, NULL, '', '',
       e.version, e.position
  FROM {EVENTS} e
 WHERE e.type = '{SET_UP}' AND {IN_SPAN}
"""
# A span may settle several periods of one order (a catch-up): counts add up, the last payment and
# the last failure are the latest of each, and the status and next due date are the last event's.
_UPDATE = f"""
WITH ev AS (
    SELECT e.stream_id, e.type, e.version, e.position, e.data
      FROM {EVENTS} e
     WHERE e.type IN ({sql_list(sorted(_HANDLES - {SET_UP}))}) AND {IN_SPAN}
), totals AS (
    SELECT stream_id, count(*) FILTER (WHERE type = '{PAID}') AS paid,
           count(*) FILTER (WHERE type = '{FAILED}') AS failed,
           max((data ->> 'due_date')::date) FILTER (WHERE type = '{PAID}') AS last_paid_on,
           max(version) AS version, max(position) AS position
      FROM ev GROUP BY stream_id
), latest AS (
    SELECT DISTINCT ON (stream_id) stream_id, type, data FROM ev ORDER BY stream_id, version DESC
), failure AS (
    SELECT DISTINCT ON (stream_id) stream_id, data FROM ev WHERE type = '{FAILED}' ORDER BY stream_id, version DESC
)
UPDATE projections_standingorder r
   SET payments = r.payments + t.paid, failures = r.failures + t.failed,
       last_paid_on = coalesce(t.last_paid_on, r.last_paid_on),
       last_failure_on = coalesce((f.data ->> 'due_date')::date, r.last_failure_on),
       last_failure_reason = coalesce(f.data ->> 'reason', r.last_failure_reason),
       next_due = CASE WHEN l.type IN ('{PAID}', '{FAILED}') THEN nullif(l.data ->> 'next_due', '')::date END,
       status = CASE l.type WHEN '{CANCELLED}' THEN 'cancelled' WHEN '{ENDED}' THEN 'ended'
                ELSE CASE WHEN coalesce(l.data ->> 'next_due', '') = '' THEN 'finished' ELSE 'active' END END,
       ended_reason = CASE WHEN l.type IN ('{CANCELLED}', '{ENDED}') THEN coalesce(l.data ->> 'reason', '')
                      ELSE r.ended_reason END,
       version = greatest(t.version, r.version), position = greatest(t.position, r.position)
  FROM totals t
  JOIN latest l USING (stream_id)
  LEFT JOIN failure f USING (stream_id)
 WHERE r.order_id = t.stream_id
"""


class StandingOrdersProjector(Projector):
    name = "standing_orders"
    handles = _HANDLES
    tables = ("projections_standingorder",)
    key_columns = ("order_id",)
    row_columns = tuple(_COLUMNS.split(", "))

    def apply(self, span: Span) -> None:
        params = span.params()
        execute(_INSERT, params)
        execute(_UPDATE, params)

    def expected(self, events: Iterable[RecordedEvent]) -> Iterable[tuple[Hashable, Row]]:
        rows: dict[UUID, Line] = {}
        fold(rows, (e for e in events if e.type in self.handles))
        return ((key, _values(row)) for key, row in rows.items())
