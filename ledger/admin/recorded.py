"""Who recorded an event and when: the event browser's actor filter and its date range, each picked in
the filter panel with a small form of its own (a plain GET that works without JavaScript).

A range is two days of the configured zone (TALLY_TIME_ZONE), both included. One that ends on a
chosen day is listed by the moment recorded, newest first, straight from the recorded_at index
(migration 0003): newest first by position, Postgres would walk the primary key past every event
recorded after the range before it found the first one in it, the whole table for a range of last
year's. recorded_at follows position everywhere but across transactions that overlap and imported
history, so the two orders agree but for those. A range open towards today keeps the position order,
in which a type's or an actor's own index (type, position) and (actor, position) fills a page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from ledger.admin.filters import BeforeFilter, FollowedFilter, RecordedAtFilter, meta_equals, storable
from ledger.models import Event

if TYPE_CHECKING:
    from django.contrib.admin.filters import _ListFilterChoices  # the stubs' name for a choice's dict

FROM, TO = "recorded_from", "recorded_to"
ORDER_RECORDED = ("-recorded_at", "-position")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # what <input type="date"> sends; ASCII digits only


def _day(text: str) -> date | None:
    """The day `text` names (YYYY-MM-DD), None for no text; ValueError for any other text."""
    if not text:
        return None
    if not _DAY.fullmatch(text):
        raise ValueError(f"{text!r} is not a day (YYYY-MM-DD)")
    return date.fromisoformat(text)


def _start_of(day: date) -> datetime | None:
    """The first moment of `day` in the current zone, in UTC (what Postgres is sent; see
    RecordedAtFilter); None when there is none: the day after the last day Python counts, or a
    first or last day that the zone's offset moves out of Python's range. No event is recorded
    that far out, so such a bound leaves the range open on that side."""
    try:
        return timezone.make_aware(datetime.combine(day, time.min)).astimezone(UTC)
    except OverflowError:
        return None


def _day_after(day: date) -> date | None:
    return day + timedelta(days=1) if day < date.max else None


def listed_by_time(params: Mapping[str, Any]) -> bool:
    """Whether the list is in the order recorded: a range that ends on a chosen day (see above)."""
    try:
        return _day(str(params.get(TO) or "")) is not None
    except ValueError:
        return False  # the filter refuses it; the admin shows its "cannot be shown" page


class ActorFilter(FollowedFilter):
    """Exactly this actor's events, through the (actor, position) index; offered as a text box, and
    set by following an actor's name in the list."""

    title = "actor"
    parameter_name = "actor"
    template = "admin/ledger/event/actor_filter.html"

    @staticmethod
    def parse(text: str) -> str:
        if not storable(text):  # a NUL or a lone surrogate: in no event, and not sendable
            raise ValueError(text)
        return text

    def condition(self, value: str) -> Q:
        return meta_equals("actor", value)

    def has_output(self) -> bool:
        return True  # the box shows also while no actor is chosen

    def choices(self, changelist: ChangeList) -> Iterator[_ListFilterChoices]:
        self.kept = kept_params(changelist, drop=(self.parameter_name,))
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name, BeforeFilter.parameter_name]),
            "display": "Anyone",
        }


class RecordedFilter(admin.ListFilter):
    """Events recorded from one day to another; quick links for the usual ranges up to today."""

    title = "date recorded"
    template = "admin/ledger/event/recorded_filter.html"

    def __init__(self, request: HttpRequest, params: dict[str, list[str]], model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        for name in (FROM, TO):
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]
        self.today = timezone.localdate()
        self.zone = timezone.get_current_timezone_name()

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [FROM, TO]

    @property
    def since(self) -> str:
        return str(self.used_parameters.get(FROM) or "")

    @property
    def until(self) -> str:
        return str(self.used_parameters.get(TO) or "")

    @property
    def backwards(self) -> bool:
        """Both days given, the second before the first: nothing matches, and the panel says why."""
        try:
            first, last = _day(self.since), _day(self.until)
        except ValueError:
            return False
        return first is not None and last is not None and last < first

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event]:
        try:
            first, last = _day(self.since), _day(self.until)
        except ValueError as error:
            raise IncorrectLookupParameters(error) from error
        start = _start_of(first) if first else None
        after = _day_after(last) if last else None
        end = _start_of(after) if after else None
        if start is not None:
            queryset = queryset.filter(recorded_at__gte=start)
        if end is not None:
            queryset = queryset.filter(recorded_at__lt=end)
        return queryset

    def choices(self, changelist: ChangeList) -> Iterator[_ListFilterChoices]:
        self.kept = kept_params(changelist, drop=(FROM, TO))
        today = self.today
        links = [
            ("Any date", None),
            ("Today", today),
            ("Past 7 days", today - timedelta(days=6)),
            ("This month", today.replace(day=1)),
            ("This year", today.replace(month=1, day=1)),
        ]
        for display, first in links:
            chosen = {FROM: first.isoformat()} if first else {}
            yield {
                "selected": chosen == {k: v for k, v in self.used_parameters.items() if v},
                "query_string": changelist.get_query_string(chosen, remove=[FROM, TO, BeforeFilter.parameter_name]),
                "display": display,
            }


class MomentFilter(RecordedAtFilter):
    """Exact moments in the address (recorded_at__gte, recorded_at__lt), as links made before the
    panel had its range of days: honoured, and shown in the panel only while in use."""

    def has_output(self) -> bool:
        return bool(self.used_parameters)


class OlderFilter(BeforeFilter):
    """The keyset cursor ("Older events" after the last row shown) in either order of the list: by
    position, the events before that one; by the moment recorded, those recorded before it, or at
    the same moment with a lower position (what follows it in that order)."""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event]:
        if not (self.value() and listed_by_time(request.GET)):
            return super().queryset(request, queryset)
        try:
            position = self.parse(str(self.value()))
        except ValueError:
            return queryset.none()
        moment = Event.objects.filter(pk=position).values_list("recorded_at", flat=True).first()
        if moment is None:  # no such event: a cursor the list never made
            return queryset.none()
        # The first condition alone is what the recorded_at index answers; the second keeps the order's ties.
        return queryset.filter(Q(recorded_at__lte=moment) & (Q(recorded_at__lt=moment) | Q(position__lt=position)))


def kept_params(changelist: ChangeList, *, drop: tuple[str, ...]) -> list[tuple[str, str]]:
    """The list's other filters and search, as (name, value) pairs for a form's hidden inputs, so that
    choosing an actor or days keeps them. Never the keyset cursor: new filters start at the newest."""
    dropped = {*drop, BeforeFilter.parameter_name}
    return [
        (name, value) for name, values in changelist.filter_params.items() if name not in dropped for value in values
    ]
