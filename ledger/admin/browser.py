"""The admin event browser: a read-only window on the event table for auditors. Nobody, superusers
included, adds, changes or deletes an event here; history is corrected by compensating commands."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any
from urllib.parse import quote_plus
from uuid import UUID

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

from ledger.admin.filters import (
    BeforeFilter,
    CausedByFilter,
    CommandFilter,
    CorrelationFilter,
    RecordedAtFilter,
    StreamFilter,
    StreamTypeFilter,
    TypeFilter,
    caused_by_event,
    meta_equals,
    search_events,
)
from ledger.admin.paging import CappedCountPaginator
from ledger.admin.readonly import ReadOnlyAdmin
from ledger.admin.rows import EventChangeList, list_link
from ledger.admin.timeline import stream_timeline
from ledger.models import Event

COUNT_LIMIT = 1_000  # "N events" next to a link; bounded, since a link may match many


def pretty_json(value: Any) -> SafeString:
    return format_html(
        '<pre class="event-json">{}</pre>', json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    )


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("position", "recorded", "stream", "version", "type", "actor", "correlation")
    list_filter = (
        TypeFilter,
        StreamTypeFilter,
        ("recorded_at", RecordedAtFilter),
        StreamFilter,
        CorrelationFilter,
        CommandFilter,
        CausedByFilter,
        BeforeFilter,
    )
    search_fields = ("stream_id",)  # shows the search box; get_search_results does the searching
    search_help_text = "Exact match: a stream, event, correlation or command id, or an actor's name."
    sortable_by = ()  # newest first only: any other order would sort the whole table
    list_per_page = 100
    list_max_show_all = 100  # "show all" never means all events
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts are COUNT(*) per filter choice
    paginator = CappedCountPaginator
    actions = None
    fieldsets = (
        ("Event", {"fields": ("position", "event_id", "type", "schema_version", "recorded")}),
        ("Stream", {"fields": ("stream_type", "stream_links", "version")}),
        ("Who and why", {"fields": ("actor", "command_links", "correlation_links", "cause", "consequences")}),
        ("Payload", {"fields": ("data_json", "metadata_json")}),
    )
    readonly_fields = (
        "recorded",
        "stream_links",
        "actor",
        "command_links",
        "correlation_links",
        "cause",
        "consequences",
        "data_json",
        "metadata_json",
    )

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "POST":  # bulk actions and list editing: there are none to post to
            raise PermissionDenied
        return super().changelist_view(request, extra_context)

    # --- list ------------------------------------------------------------------------------------

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[EventChangeList]:
        return EventChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Event], search_term: str
    ) -> tuple[QuerySet[Event], bool]:
        return search_events(queryset, search_term), False

    @admin.display(description="recorded at")
    def recorded(self, event: Event) -> str:
        # To the second, unambiguous. strftime, not Django's date_format: a quarter of the cost, on
        # every row of the list, and no localized names in this format to need it.
        return localtime(event.recorded_at).strftime("%Y-%m-%d %H:%M:%S %Z")

    @admin.display(description="stream")
    def stream(self, event: Event) -> SafeString:
        return list_link(self._list_url(stream=event.stream_id), event.stream_id)

    @admin.display(description="actor")
    def actor(self, event: Event) -> str:
        return event.metadata.get("actor", "")

    @admin.display(description="correlation id")
    def correlation(self, event: Event) -> SafeString | str:
        correlation_id = event.metadata.get("correlation_id")
        if not correlation_id:
            return ""
        return list_link(self._list_url(correlation=correlation_id), correlation_id)

    # --- detail ----------------------------------------------------------------------------------

    @admin.display(description="stream")
    def stream_links(self, event: Event) -> SafeString:
        return format_html(
            '{} &nbsp; <a href="{}">whole stream in order, with balances</a> &middot; <a href="{}">in the list</a>',
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

    @admin.display(description="data")
    def data_json(self, event: Event) -> SafeString:
        return pretty_json(event.data)

    @admin.display(description="metadata")
    def metadata_json(self, event: Event) -> SafeString:
        return pretty_json(event.metadata)

    # --- stream view -----------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        stream = path(
            "stream/<uuid:stream_id>/", self.admin_site.admin_view(self.stream_view), name="ledger_event_stream"
        )
        return [stream, *super().get_urls()]

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
            "title": f"Stream {stream_id}",
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
