"""Filters and search of the admin event browser. Every condition is one the indexes of migrations
0001 and 0003 answer, so a page costs the same on a thousand events as on millions."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.lookups import Exact
from django.http import HttpRequest
from django.utils import timezone

from ledger.account_numbers import account_numbered
from ledger.domain import account_number
from ledger.domain.streams import ALL_EVENT_TYPES as EVENT_TYPES
from ledger.domain.streams import STREAM_TYPES
from ledger.hooks import accounts_of_owner
from ledger.models import Event

# What Postgres text cannot hold: NUL (psycopg refuses to send it) and lone surrogates (not UTF-8).
# The read side's screens check the same in projections.queries.storable; ledger cannot import it.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> bool:
    """Whether `text` can be compared with Postgres text; text that cannot is in no event."""
    return _UNSTORABLE.search(text) is None


def meta_equals(key: str, value: str) -> Q:
    """`metadata ->> key = value`, the expression the indexes are built on. Django's own
    `metadata__key=value` compares jsonb (`->`) and would miss them."""
    return Q(Exact(KT(f"metadata__{key}"), value))


def caused_by_event(event_id: UUID) -> Q:
    """The events that `event_id` caused. The second condition is the predicate of the partial
    index ledger_event_caused_by_event and drops no match: an event id is never a command id, so
    an event caused by another event always has a causation that differs from its command."""
    return meta_equals("causation_id", str(event_id)) & ~Q(
        Exact(KT("metadata__causation_id"), KT("metadata__command_id"))
    )


# The accounts a search by owner follows at most: the events of more would be no page to read (and
# a long IN list for the planner); the note asks for more of the name.
OWNER_ACCOUNTS = 100


@dataclass(frozen=True)
class Search:
    events: QuerySet[Event]
    note: str = ""  # what the person should know about the result: a mistyped number, too many owners


def search(queryset: QuerySet[Event], term: str) -> Search:
    """A UUID is looked up as a stream, event, correlation or command id; a whole account number
    (as people type it) as its account's stream; other text as an actor's name (exactly) or the
    start of an owner's name or of a word in it (those accounts' streams)."""
    term = term.strip()
    if not term:
        return Search(queryset)
    if not storable(term):
        return Search(queryset.none())
    try:
        uuid = UUID(term)
    except ValueError:
        pass
    else:
        return Search(
            queryset.filter(
                Q(stream_id=uuid)
                | Q(event_id=uuid)
                | meta_equals("correlation_id", str(uuid))
                | meta_equals("command_id", str(uuid))
            )
        )
    if (start := account_number.search_start(term)) is not None and account_number.is_whole(start):
        return _numbered(queryset, start)
    owners = accounts_of_owner(term, limit=OWNER_ACCOUNTS + 1)
    match = meta_equals("actor", term)
    if owners:
        match |= Q(stream_id__in=owners[:OWNER_ACCOUNTS])
    note = ""
    if len(owners) > OWNER_ACCOUNTS:
        note = (
            f"More than {OWNER_ACCOUNTS} accounts have an owner whose name starts with “{term}”: these are the "
            f"events of the first {OWNER_ACCOUNTS} by name. Type more of the name to find the others."
        )
    return Search(queryset.filter(match), note)


def _numbered(queryset: QuerySet[Event], number: str) -> Search:
    """The stream of the account numbered so, found from the number alone (its opening's position)."""
    try:
        account = account_numbered(number)
    except account_number.InvalidAccountNumber as error:
        return Search(queryset.none(), error.message)
    if account is None:
        return Search(queryset.none(), f"There is no account {account_number.grouped(number)}.")
    return Search(queryset.filter(stream_id=account))


def search_events(queryset: QuerySet[Event], term: str) -> QuerySet[Event]:
    return search(queryset, term).events


class ChoiceFilter(admin.SimpleListFilter):
    """A filter picked from a fixed list: any other value (one typed into the URL) matches nothing,
    and is not sent to the database, which may be unable to compare it (a NUL byte)."""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event]:
        value = self.value()
        if not value:
            return queryset
        if value not in {choice for choice, _ in self.lookup_choices}:
            return queryset.none()
        return queryset.filter(**{str(self.parameter_name): value})


class TypeFilter(ChoiceFilter):
    title = "type"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # The registry, not SELECT DISTINCT over millions of rows.
        return [(name, name) for name in sorted(EVENT_TYPES)]


class StreamTypeFilter(ChoiceFilter):
    title = "stream type"
    parameter_name = "stream_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in STREAM_TYPES]


class FollowedFilter(admin.SimpleListFilter):
    """A filter set by following a link (an event's stream, correlation, ...) rather than picked
    from a list: it shows in the sidebar only while active, with "All" to drop it. A malformed
    value matches nothing."""

    parse: Callable[[str], Any] = staticmethod(UUID)

    def condition(self, value: Any) -> Q:
        """Which events match `value`; every followed filter below says it."""
        raise TypeError(f"{type(self).__name__} must define condition()")

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, value)] if value else []

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event]:
        given = self.value()
        if not given:
            return queryset
        try:
            value = self.parse(given)
        except ValueError:
            return queryset.none()
        return queryset.filter(self.condition(value))


class StreamFilter(FollowedFilter):
    title = "stream"
    parameter_name = "stream"

    def condition(self, value: UUID) -> Q:
        return Q(stream_id=value)


class CorrelationFilter(FollowedFilter):
    title = "correlation"
    parameter_name = "correlation"

    def condition(self, value: UUID) -> Q:
        return meta_equals("correlation_id", str(value))


class CommandFilter(FollowedFilter):
    title = "command"
    parameter_name = "command"

    def condition(self, value: UUID) -> Q:
        return meta_equals("command_id", str(value))


class CausedByFilter(FollowedFilter):
    title = "caused by event"
    parameter_name = "caused_by"

    def condition(self, value: UUID) -> Q:
        return caused_by_event(value)


class RecordedAtFilter(admin.DateFieldListFilter):
    """Django's date filter, with each moment in UTC before it reaches Postgres: Python takes UTC
    offsets of up to a day and Postgres of up to 16 hours, so "2026-03-01T10:00+23:59" in the
    address answered 500. A moment without a UTC time (the first or last one Python represents,
    shifted by an offset) is refused as a malformed one is: the admin's "cannot be shown" page."""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event]:
        field = Event._meta.get_field("recorded_at")
        try:
            for name in (self.lookup_kwarg_since, self.lookup_kwarg_until):
                if name in self.used_parameters:
                    given = cast("list[str]", self.used_parameters[name])
                    self.used_parameters[name] = [_in_utc(field.to_python(value)) for value in given]
        except (ValidationError, ValueError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error
        return cast("QuerySet[Event]", super().queryset(request, queryset))


def _in_utc(moment: datetime) -> datetime:
    if timezone.is_naive(moment):  # read in the current time zone, as Django reads it
        moment = timezone.make_aware(moment)
    return moment.astimezone(UTC)


def _position(text: str) -> int:
    value = int(text)
    if not 0 < value < 2**63:
        raise ValueError(text)
    return value


class BeforeFilter(FollowedFilter):
    """The keyset cursor: "older than position N" pages on from any depth through the primary key,
    where a page number would make Postgres count past every newer row first."""

    title = "older than position"
    parameter_name = "before"
    parse = staticmethod(_position)

    def condition(self, value: int) -> Q:
        return Q(position__lt=value)
