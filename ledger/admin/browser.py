"""The admin event browser: a read-only window on the event table for auditors. Nobody, superusers
included, adds, changes or deletes an event here; history is corrected by compensating commands."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any
from urllib.parse import quote_plus
from uuid import UUID

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from ledger.account_numbers import number_of, number_opened_by
from ledger.admin import export
from ledger.admin.filters import (
    CausedByFilter,
    CommandFilter,
    CorrelationFilter,
    StreamFilter,
    StreamTypeFilter,
    TypeFilter,
    caused_by_event,
    meta_equals,
    search,
)
from ledger.admin.paging import CappedCountPaginator
from ledger.admin.parties import PartiesColumns
from ledger.admin.readonly import ReadOnlyAdmin
from ledger.admin.recorded import ORDER_RECORDED, ActorFilter, MomentFilter, OlderFilter, RecordedFilter, listed_by_time
from ledger.admin.rows import EventChangeList, list_link
from ledger.admin.timeline import stream_timeline
from ledger.domain.account import STREAM_TYPE
from ledger.domain.account_number import grouped
from ledger.domain.events import REVERSIBLE
from ledger.hooks import read_side_of
from ledger.models import Event
from ledger.moments import format_moment
from ledger.reversals import REVERSAL_TYPE, reversed_by

COUNT_LIMIT = 1_000  # "N events" next to a link; bounded, since a link may match many


def pretty_json(value: Any) -> SafeString:
    return format_html(
        '<pre class="event-json">{}</pre>', json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    )


@admin.register(Event)
class EventAdmin(PartiesColumns, ReadOnlyAdmin):
    list_display = (
        "position",
        "recorded",
        "stream",
        "owner",
        "version",
        "type",
        "amount",
        "counterparty",
        "actor",
        "correlation",
    )
    list_filter = (
        TypeFilter,
        StreamTypeFilter,
        RecordedFilter,
        ActorFilter,
        ("recorded_at", MomentFilter),
        StreamFilter,
        CorrelationFilter,
        CommandFilter,
        CausedByFilter,
        OlderFilter,
    )
    search_fields = ("stream_id",)  # shows the search box; get_search_results does the searching
    search_help_text = (
        "A stream, event, correlation or command id, or an account number (TL…); "
        "an actor's name (exact), or the start of an owner's name."
    )
    sortable_by = ()  # newest first only: any other order would sort the whole table
    list_per_page = 100
    list_max_show_all = 100  # "show all" never means all events
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts are COUNT(*) per filter choice
    paginator = CappedCountPaginator
    actions = None
    fieldsets = (
        ("Event", {"fields": ("position", "event_id", "type", "schema_version", "recorded")}),
        ("Stream", {"fields": ("stream_type", "stream_links", "owner", "version")}),
        ("Money", {"fields": ("amount", "counterparty_links")}),
        (
            "Who and why",
            {"fields": ("actor", "command_links", "correlation_links", "cause", "consequences", "reversal")},
        ),
        ("Payload", {"fields": ("data_json", "metadata_json")}),
        ("Integrity", {"fields": ("chain",)}),
        ("Read side", {"fields": ("read_side",)}),
    )
    readonly_fields = (
        "recorded",
        "stream_links",
        "owner",
        "amount",
        "counterparty_links",
        "actor",
        "command_links",
        "correlation_links",
        "cause",
        "consequences",
        "reversal",
        "data_json",
        "metadata_json",
        "chain",
        "read_side",
    )

    # --- list ------------------------------------------------------------------------------------

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[EventChangeList]:
        return EventChangeList

    def get_ordering(self, request: HttpRequest) -> tuple[str, ...]:
        """Newest first: by position, or by the moment recorded for a range of days (ledger/admin/recorded.py)."""
        return ORDER_RECORDED if listed_by_time(request.GET) else ()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Event], search_term: str
    ) -> tuple[QuerySet[Event], bool]:
        found = search(queryset, search_term)
        if found.note:  # a mistyped account number, or more owners than one page follows
            self.message_user(request, found.note, messages.WARNING)
        return found.events, False

    @admin.display(description="recorded at")
    def recorded(self, event: Event) -> str:
        return format_moment(event.recorded_at)  # as every screen shows a moment (ledger/moments.py)

    @admin.display(description="stream")
    def stream(self, event: Event) -> SafeString:
        return list_link(self._list_url(stream=event.stream_id), event.stream_id)

    @admin.display(description="actor")
    def actor(self, event: Event) -> SafeString | str:
        actor = event.metadata.get("actor", "")
        return list_link(self._list_url(actor=actor), actor) if actor else ""

    @admin.display(description="correlation id")
    def correlation(self, event: Event) -> SafeString | str:
        correlation_id = event.metadata.get("correlation_id")
        if not correlation_id:
            return ""
        return list_link(self._list_url(correlation=correlation_id), correlation_id)

    # --- detail ----------------------------------------------------------------------------------

    @admin.display(description="stream")
    def stream_links(self, event: Event) -> SafeString:
        number = number_opened_by(event) or (number_of(event.stream_id) if event.stream_type == STREAM_TYPE else None)
        return format_html(
            '{}{} &nbsp; <a href="{}">whole stream in order, with balances</a> &middot; <a href="{}">in the list</a>',
            format_html("account <strong>{}</strong> &middot; ", grouped(number)) if number else "",
            event.stream_id,
            self._stream_url(event.stream_id),
            self._list_url(stream=event.stream_id),
        )

    @admin.display(description="command")
    def command_links(self, event: Event) -> SafeString | str:
        command_id = event.metadata.get("command_id")
        if not command_id:
            return ""
        return format_html(
            '{} {} &nbsp; <a href="{}">its events</a>',
            event.metadata.get("command", ""),
            command_id,
            self._list_url(command=command_id),
        )

    @admin.display(description="correlation")
    def correlation_links(self, event: Event) -> SafeString | str:
        correlation_id = event.metadata.get("correlation_id")
        if not correlation_id:
            return ""
        shared = _count(Event.objects.filter(meta_equals("correlation_id", correlation_id)))
        return format_html(
            '{} &nbsp; <a href="{}">{} sharing it</a>',
            correlation_id,
            self._list_url(correlation=correlation_id),
            _events(shared),
        )

    @admin.display(description="caused by")
    def cause(self, event: Event) -> SafeString | str:
        """causation_id names the event this one follows from, or else the command that caused it."""
        causation_id = event.metadata.get("causation_id")
        if not causation_id:
            return ""
        cause_id = _uuid(causation_id)
        cause = Event.objects.filter(event_id=cause_id).first() if cause_id else None
        if cause is not None:
            return format_html('<a href="{}">{}</a>', self._event_url(cause), cause)
        return format_html(
            'command {} &nbsp; <a href="{}">its events</a>', causation_id, self._list_url(command=causation_id)
        )

    @admin.display(description="caused")
    def consequences(self, event: Event) -> SafeString | str:
        caused = _count(Event.objects.filter(caused_by_event(event.event_id)))
        if not caused:
            return "no other event"
        return format_html('<a href="{}">{}</a>', self._list_url(caused_by=event.event_id), _events(caused))

    @admin.display(description="reversal")
    def reversal(self, event: Event) -> SafeString | str:
        """A compensating entry and the movement it reverses link to each other (one stream, so the
        look-up reads only the rest of that stream)."""
        if event.type == REVERSAL_TYPE:
            original_id = _uuid(str(event.data.get("original_event_id", "")))
            original = Event.objects.filter(event_id=original_id).first() if original_id else None
            return format_html('reverses <a href="{}">{}</a>', self._event_url(original), original) if original else ""
        if event.type not in REVERSIBLE:
            return ""
        position = reversed_by(account_id=event.stream_id, event_id=event.event_id, version=event.version)
        if position is None:
            return "not reversed"
        url = reverse("admin:ledger_event_change", args=[position], current_app=self.admin_site.name)
        return format_html('reversed by <a href="{}">event #{}</a>', url, position)

    @admin.display(description="data")
    def data_json(self, event: Event) -> SafeString:
        return pretty_json(event.data)

    @admin.display(description="metadata")
    def metadata_json(self, event: Event) -> SafeString:
        return pretty_json(event.metadata)

    @admin.display(description="hash")
    def chain(self, event: Event) -> SafeString:
        """The event's link in its stream's hash chain (ledger/migrations/0005_event_hash_chain.py)."""
        return format_html(
            '<code class="hash">{}</code><div class="help">sha256 of the previous event\'s hash and this '
            "event's content, computed by the database when it was recorded; <code>manage.py verify_chain</code> "
            "checks every link, and the export carries it for an offline check.</div>",
            bytes(event.hash).hex(),
        )

    @admin.display(description="projections")
    def read_side(self, event: Event) -> SafeString:
        """Which projections have applied this event so far (the read side answers: ledger.hooks)."""
        rows = format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td></tr>", read_side_of(event.pk, event.type))
        return format_html('<table class="read-side">{}</table>', rows)

    # --- stream view -----------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        stream = path(
            "stream/<uuid:stream_id>/", self.admin_site.admin_view(self.stream_view), name="ledger_event_stream"
        )
        exported = path(
            "export.<str:kind>", self.admin_site.admin_view(require_GET(self.export_view)), name="ledger_event_export"
        )
        return [stream, exported, *super().get_urls()]

    # --- audit export ----------------------------------------------------------------------------

    def export_view(self, request: HttpRequest, kind: str) -> HttpResponse | StreamingHttpResponse:
        """The list the same query string shows, every matching event, as CSV or JSON lines
        (ledger/admin/export.py): streamed, oldest first."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if kind not in export.FORMATS:
            raise Http404("Exports come as export.csv or export.jsonl.")
        try:
            events = self.get_changelist_instance(request).queryset
        except IncorrectLookupParameters:
            return HttpResponseBadRequest(
                "The list's filters could not be read; open the list, filter it again and export from there.",
                content_type="text/plain; charset=utf-8",
            )
        rows, content_type = export.FORMATS[kind]
        response = StreamingHttpResponse(rows(events), content_type=content_type)
        day = timezone.localdate().isoformat()
        response["Content-Disposition"] = f'attachment; filename="tally-events-{day}.{kind}"'
        response["Cache-Control"] = "private, no-store"
        return response

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "POST":  # bulk actions and list editing: there are none to post to
            raise PermissionDenied
        query = request.GET.urlencode()
        exports = {
            kind: reverse("admin:ledger_event_export", args=[kind]) + (f"?{query}" if query else "")
            for kind in export.FORMATS
        }
        return super().changelist_view(request, {**(extra_context or {}), "exports": exports})

    def stream_view(self, request: HttpRequest, stream_id: UUID) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            page = int(request.GET.get("page", 1))
        except ValueError:
            page = 1
        timeline = stream_timeline(stream_id, page=page)
        if timeline is None:
            raise Http404("No events in this stream.")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Account {timeline.number} · stream {stream_id}" if timeline.number else f"Stream {stream_id}",
            "timeline": timeline,
            "list_url": self._list_url(stream=stream_id),
        }
        return TemplateResponse(request, "admin/ledger/event/stream.html", context)

    # --- urls ------------------------------------------------------------------------------------

    @cached_property
    def _changelist_url(self) -> str:
        """Reversed once per process, not twice per row of the list: the URL configuration and
        the script prefix it depends on do not change while the process runs."""
        return reverse("admin:ledger_event_changelist", current_app=self.admin_site.name)

    def _list_url(self, **params: Any) -> str:
        # Each value quoted as urlencode quotes it, without urlencode's checks of its argument,
        # which cost more than the quoting: this runs twice on every row of the list.
        query = "&".join([f"{name}={quote_plus(str(value))}" for name, value in params.items()])
        return f"{self._changelist_url}?{query}"

    def _event_url(self, event: Event) -> str:
        return reverse("admin:ledger_event_change", args=[event.pk], current_app=self.admin_site.name)

    def _stream_url(self, stream_id: UUID) -> str:
        return reverse("admin:ledger_event_stream", args=[stream_id], current_app=self.admin_site.name)


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def _count(queryset: QuerySet[Event]) -> int:
    return queryset[: COUNT_LIMIT + 1].count()


def _events(count: int) -> str:
    if count > COUNT_LIMIT:
        return f"more than {COUNT_LIMIT:,} events"
    return f"{count:,} event" + ("" if count == 1 else "s")
