"""Poison events: an event one projection cannot apply stops that projection at it (the runner keeps
its checkpoint just before and retries on every sweep). An operator either fixes the cause and
retries, or tells that one projection to pass over the event, with a reason. The skip is a row of
its own (who, when, why, and the error it had), shown beside the projection; the runner's spans go
around it, a rebuild passes over it again, and verify_projections leaves it out of its replay, so
the tables and the replay agree that it was never applied. The event itself is untouched, and every
other projection applies it as usual."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger.store import Checkpoint
from ledger.store.sql import fetch
from projections import partitions
from projections.models import ProjectionStatus, SkippedEvent
from projections.projectors.base import Span


class SkipRefused(Exception):
    """Why an operator's skip was not recorded; the message is for them."""


def checkpoints(names: list[str]) -> dict[str, list[Checkpoint]]:
    """The events each named projection passes over, as checkpoints in the log's commit order."""
    rows = fetch(
        """SELECT s.projection, e.tx_id::text, e.position FROM projections_skippedevent s
             JOIN ledger_event e ON e.position = s.position
            WHERE s.projection = ANY(%s)""",
        [names],
    )
    found: dict[str, list[Checkpoint]] = {}
    for name, tx_id, position in rows:
        found.setdefault(name, []).append(Checkpoint(int(tx_id), position))
    return found


def recent(limit: int = 20) -> list[SkippedEvent]:
    """The latest skips, newest first: what the read-side page lists."""
    return list(SkippedEvent.objects.order_by("-skipped_at")[:limit])


def positions(name: str) -> frozenset[int]:
    return frozenset(SkippedEvent.objects.filter(projection=name).values_list("position", flat=True))


def around(span: Span, passed_over: Iterable[Checkpoint]) -> Iterator[tuple[Span, bool]]:
    """The span in parts, in log order, each with whether it is one event to pass over; a span with
    nothing to pass over is itself, with no query."""
    inside = sorted(c for c in passed_over if span.after < c <= span.upto)
    if not inside:
        yield span, False
        return
    after = span.after
    for skipped in inside:
        before = _event_before(skipped)
        if before > after:
            yield _span(after, before), False
            after = before
        passed = _span(after, skipped)
        if passed.events != 1:  # never pass over more than the one event an operator named
            raise RuntimeError(f"the span to pass over at {skipped} holds {passed.events} events, not 1")
        yield passed, True
        after = skipped
    if after < span.upto:
        yield _span(after, span.upto), False


# ORDER BY names the table's columns: a bare tx_id is the tx_id::text output column, sorted as text,
# in which '99999' comes after '100000'. Once the cluster's transaction ids passed such a boundary,
# the event "before" a skipped one was found thousands of events too early, and a rebuild passed over
# every event in between (seen in the full test run on a long-lived Postgres).
_BEFORE = """SELECT tx_id::text, position FROM ledger_event
              WHERE (tx_id, position) < (%(tx_id)s::text::xid8, %(position)s) AND tx_id <= %(tx_id)s::text::xid8
              ORDER BY ledger_event.tx_id DESC, ledger_event.position DESC LIMIT 1"""

_BETWEEN = """SELECT count(*), (SELECT recorded_at FROM ledger_event WHERE position = %(upto_position)s)
                FROM ledger_event e
               WHERE (e.tx_id, e.position) > (%(after_tx)s::text::xid8, %(after_position)s)
                 AND (e.tx_id, e.position) <= (%(upto_tx)s::text::xid8, %(upto_position)s)
                 AND e.tx_id BETWEEN %(after_tx)s::text::xid8 AND %(upto_tx)s::text::xid8"""


def _event_before(checkpoint: Checkpoint) -> Checkpoint:
    rows = fetch(_BEFORE, {"tx_id": str(checkpoint.tx_id), "position": checkpoint.position})
    return Checkpoint(int(rows[0][0]), rows[0][1]) if rows else Checkpoint()


def _span(after: Checkpoint, upto: Checkpoint) -> Span:
    bounds = Span(after, upto, 0, timezone.now())
    events, recorded_at = fetch(_BETWEEN, bounds.params())[0]
    return Span(after, upto, events, recorded_at)


@dataclass(frozen=True)
class Skip:
    projection: str
    position: int


def skip_event(*, projection: str, position: int, reason: str, actor: str) -> Skip:
    """Record that `projection` passes over the event at `position`, the one it is stopped at.

    Only that event: a skip is an answer to a stop an operator has looked at, never a way to leave
    out events a projection has not failed on. Recording it twice is recording it once."""
    reason = reason.strip()
    if not reason:
        raise SkipRefused("Say why the event is skipped: the reason is kept with the skip.")
    if projection not in {p.name for p in partitions.live_units()}:
        raise SkipRefused(f"There is no projection called {projection!r}.")
    status = ProjectionStatus.objects.filter(name=projection).first()
    if status is None or status.last_error_position != position:
        stopped = status.last_error_position if status else None
        raise SkipRefused(
            f"{projection} is not stopped at event #{position}"
            + (f"; it is stopped at event #{stopped}." if stopped else "; it is not stopped at any event.")
        )
    event = fetch("SELECT event_id FROM ledger_event WHERE position = %s", [position])
    try:
        with transaction.atomic():
            SkippedEvent.objects.create(
                projection=projection,
                position=position,
                event_id=event[0][0],
                reason=reason[:200],
                skipped_by=actor,
                skipped_at=timezone.now(),
                error=status.last_error.split("\n", 1)[0][:2000],
            )
    except IntegrityError:
        pass  # a second operator, or a double click: skipped already
    return Skip(projection, position)
