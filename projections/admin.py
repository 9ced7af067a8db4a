"""Projections in the admin: each projector's checkpoint, lag, version and blue/green rebuild, the
event it is stopped at, and the events it was told to pass over. Auditors look; only superusers
(operators) act: rebuild or roll back through Celery, retry a stopped projection now, or skip the
event it is stopped at, with a reason.

The list's figures refresh in place: the page polls itself with HTMX every few seconds, and the
answer to a poll is each row's changing cells alone, swapped in by id (out of band). The rows, their
check boxes and the admin's script around them stay as they are, so a poll never loses the selection,
the focus or the scroll, and the page does not poll while rows are selected for an action
(templates/admin/projections/projectionstatus/change_list.html)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import floatformat, pluralize
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ledger.admin.readonly import ReadOnlyAdmin
from ledger.moments import format_moment
from ledger.store.upcasting import current_schema_version, upcasters_from
from projections import bluegreen, partitions, runner, skips
from projections.models import EventType, ProjectionStatus, SkippedEvent
from projections.projectors import get_runnable
from projections.queries import Lag, projection_lag
from projections.tasks import rebuild, roll_back

# How long "Retry now" may catch a projection up inside the operator's request.
RETRY_SECONDS = 5

Cell = Callable[[Any, ProjectionStatus], SafeString | str]


def live(column: Cell) -> Cell:
    """A column whose cells the page refreshes: each cell's content in a span with an id of its own,
    which the answer to a poll (the same span, hx-swap-oob) replaces."""

    @wraps(column)
    def cell(admin: Any, status: ProjectionStatus) -> SafeString:
        return format_html(
            '<span id="live-{}-{}" hx-swap-oob="true">{}</span>', status.name, column.__name__, column(admin, status)
        )

    return cell


class ProjectionChangeList(ChangeList):
    """The page's rows, each given its own lag and rebuild: they belong to this request's rows, never
    to the ModelAdmin, which is one instance shared by every request (and thread) of the process."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        lags = {lag.name: lag for lag in projection_lag()}  # one query for the whole page
        shadows = {p.name: p for p in bluegreen.progress()}
        of_projection = {p.projection: p for p in shadows.values()}  # built as other partitions than live
        for status in self.result_list:  # evaluates the page's queryset once; the template reuses it
            status.lag = lags.get(status.name)
            status.shadow = shadows.get(status.name) or of_projection.get(partitions.base_name(status.name))


class SkipForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"size": 80, "autofocus": True}),
        help_text="Kept with the skip and shown beside the projection. The event itself is not changed.",
    )


@admin.register(ProjectionStatus)
class ProjectionStatusAdmin(ReadOnlyAdmin):
    list_display = ("name", "state", "checkpoint", "behind", "built_by", "rebuild", "applied", "updated")
    live_columns = ("state", "checkpoint", "behind", "built_by", "rebuild", "applied", "updated")
    actions = ["rebuild_selected", "roll_back_selected", "retry_selected"]
    change_list_template = "admin/projections/projectionstatus/change_list.html"
    show_full_result_count = False

    # Read-only (ReadOnlyAdmin): rows are the runner's; operators act through the actions and the skip page.
    def has_rebuild_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def get_changelist(self, request: HttpRequest, **kwargs: object) -> type[ChangeList]:
        return ProjectionChangeList

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "GET" and getattr(request, "htmx", False):
            return self._live_cells(request)
        return super().changelist_view(request, extra_context)

    def _live_cells(self, request: HttpRequest) -> HttpResponse:
        """The answer to the page's poll: every row's live cells, each to be swapped in by its id."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        rows = self.get_changelist_instance(request).result_list
        return HttpResponse([getattr(self, name)(status) for status in rows for name in self.live_columns])

    def get_exclude(self, request: HttpRequest, obj: ProjectionStatus | None = None) -> tuple[str, ...]:
        # The traceback names files, code and data: operators only. Others see the one line (error).
        return () if request.user.is_superuser else ("last_error",)

    def get_readonly_fields(self, request: HttpRequest, obj: ProjectionStatus | None = None) -> tuple[str, ...]:
        return () if request.user.is_superuser else ("error",)

    @admin.display(description="Last error")
    def error(self, status: ProjectionStatus) -> str:
        return status.last_error.splitlines()[0][:200] if status.last_error else "—"

    @admin.display(description="State")
    @live
    def state(self, status: ProjectionStatus) -> SafeString | str:
        lag: Lag | None = getattr(status, "lag", None)
        if status.last_error:
            event_url = reverse("admin:ledger_event_change", args=[status.last_error_position])
            skip_url = reverse("admin:projections_projectionstatus_skip", args=[status.name])
            return format_html(
                '<strong style="color:#b42318">stopped at <a href="{}">event #{}</a></strong>: {} '
                '&nbsp; <a href="{}">skip it…</a>',
                event_url,
                status.last_error_position,
                status.last_error.splitlines()[0][:200],
                skip_url,
            )
        if status.rebuilding and lag:
            rate = f" at {floatformat(status.rebuild_rate or 0, 0)} events/s" if status.rebuild_rate else ""
            done = round(100 * (lag.rebuild_done or 0))
            return format_html(
                '<progress max="100" value="{}"></progress> rebuilding in place, {}%{}', done, done, rate
            )
        if lag and lag.events_behind:
            return "catching up"
        return "up to date"

    @admin.display(description="Checkpoint")
    @live
    def checkpoint(self, status: ProjectionStatus) -> str:
        return f"#{status.position} (tx {status.tx_id})"

    @admin.display(description="Behind")
    @live
    def behind(self, status: ProjectionStatus) -> str:
        lag: Lag | None = getattr(status, "lag", None)
        if not lag or not lag.events_behind:
            return "—"
        return f"≈{lag.events_behind:,} event{pluralize(lag.events_behind)}, {lag.seconds_behind:.1f} s"

    @admin.display(description="Built by")
    @live
    def built_by(self, status: ProjectionStatus) -> str:
        projector = {p.name: p for p in get_runnable()}.get(partitions.base_name(status.name))
        if projector is None:
            return f"version {status.version}"
        changes = [f"version {projector.version} deployed"] if projector.version != status.version else []
        if (wanted := partitions.configured(projector)) != partitions.parse(status.name)[2]:
            changes.append(f"{wanted} partition{pluralize(wanted)} configured")
        return f"version {status.version}" + (f" ({', '.join(changes)}: rebuilding)" if changes else "")

    @admin.display(description="Events applied")
    @live
    def applied(self, status: ProjectionStatus) -> str:
        return f"{status.events_applied:,}"

    @admin.display(description="Updated at")
    @live
    def updated(self, status: ProjectionStatus) -> str:
        return format_moment(status.updated_at)

    @admin.display(description="Blue/green rebuild")
    @live
    def rebuild(self, status: ProjectionStatus) -> SafeString | str:
        shadow: bluegreen.Progress | None = getattr(status, "shadow", None)
        if shadow is None:
            return "previous tables kept" if bluegreen.previous_available(partitions.base_name(status.name)) else "—"
        if shadow.phase == bluegreen.Phase.FAILED:
            return format_html(
                '<strong style="color:#b42318">not swapped in</strong>: {}', shadow.note.splitlines()[0][:200]
            )
        done = round(100 * (shadow.done or 0))
        rate = f", {floatformat(shadow.rate, 0)} events/s" if shadow.rate and shadow.phase == "building" else ""
        waiting = "" if shadow.running else " (interrupted: rebuild again to resume)"
        return format_html(
            '<progress max="100" value="{}"></progress> {} {}%{}{}', done, shadow.phase, done, rate, waiting
        )

    # --- actions (superusers) ---------------------------------------------------------------------

    def _send(self, request: HttpRequest, task: Any, names: list[str], what: str, command: str) -> None:
        try:
            task.apply_async(args=(names,), retry=False)
        except Exception as exc:  # noqa: BLE001 - the broker is down: say what to do instead
            self.message_user(
                request,
                f"Could not reach the workers ({exc}). Run 'manage.py rebuild_projections {command}"
                f"{' '.join(names)}' instead.",
                messages.ERROR,
            )
            return
        self.message_user(request, f"{what} of {', '.join(names)} sent to the workers.", messages.SUCCESS)

    @admin.action(
        description="Rebuild blue/green: new tables beside the live ones, checked, then swapped in",
        permissions=["rebuild"],
    )
    def rebuild_selected(self, request: HttpRequest, queryset: QuerySet[ProjectionStatus]) -> None:
        names = self._projections(queryset)
        if names:
            self._send(request, rebuild, names, "Rebuild (progress shows below)", "")

    @admin.action(description="Roll back to the tables the last rebuild replaced", permissions=["rebuild"])
    def roll_back_selected(self, request: HttpRequest, queryset: QuerySet[ProjectionStatus]) -> None:
        names = self._projections(queryset)
        missing = [n for n in names if not bluegreen.previous_available(n)]
        if missing:
            self.message_user(
                request, f"No earlier tables are kept for {', '.join(missing)}: nothing sent.", messages.ERROR
            )
            return
        if names:
            self._send(request, roll_back, names, "Rollback", "--rollback ")

    @admin.action(
        description="Retry now (catch up, trying a stopped projection's event again)", permissions=["rebuild"]
    )
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[ProjectionStatus]) -> None:
        names = sorted(queryset.values_list("name", flat=True))
        report = runner.catch_up(names, max_seconds=RETRY_SECONDS, wait_seconds=1)
        for name, error in report.failed.items():
            self.message_user(request, f"{name} is still stopped: {error}", messages.ERROR)
        if report.skipped:
            self.message_user(request, f"{', '.join(report.skipped)}: busy in a worker, try again", messages.WARNING)
        done = [n for n in names if n not in report.failed and n not in report.skipped]
        if done:
            state = "caught up" if report.caught_up else "catching up (more to do in the workers)"
            self.message_user(request, f"{', '.join(done)}: {state}.", messages.SUCCESS)

    def _projections(self, queryset: QuerySet[ProjectionStatus]) -> list[str]:
        """The projections of the selected rows (a partition's is its projector; process managers are
        never rebuilt)."""
        selected = {partitions.base_name(name) for name in queryset.values_list("name", flat=True)}
        return sorted(selected - {p.name for p in get_runnable() if not p.tables})

    @staticmethod
    def _runnable() -> set[str]:
        return {p.name for p in partitions.live_units()}

    # --- skipping a poison event (superusers) -------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        skip = path(
            "<path:name>/skip/",  # a partition's name holds a slash ("statement:2/4")
            self.admin_site.admin_view(self.skip_view),
            name="projections_projectionstatus_skip",
        )
        return [skip, *super().get_urls()]

    def skip_view(self, request: HttpRequest, name: str) -> HttpResponse:
        if not self.has_rebuild_permission(request):
            raise PermissionDenied
        # Names are checked against the projections first: a path may hold anything, a NUL included.
        status = ProjectionStatus.objects.filter(name=name).first() if name in self._runnable() else None
        if status is None:
            raise Http404("No such projection.")
        form = SkipForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                skips.skip_event(
                    projection=name,
                    position=status.last_error_position or 0,
                    reason=form.cleaned_data["reason"],
                    actor=request.user.get_username(),
                )
            except skips.SkipRefused as refused:
                form.add_error(None, str(refused))
            else:
                self.message_user(
                    request,
                    f"{name} will pass over event #{status.last_error_position}; it goes on at the next sweep.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:projections_projectionstatus_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Skip the event {name} is stopped at",
            "status": status,
            "form": form,
            "event_url": reverse("admin:ledger_event_change", args=[status.last_error_position])
            if status.last_error_position
            else None,
        }
        return TemplateResponse(request, "admin/projections/projectionstatus/skip.html", context)


@admin.register(SkippedEvent)
class SkippedEventAdmin(ReadOnlyAdmin):
    """Every skip ever recorded: the record of what an operator told a projection to pass over."""

    list_display = ("projection", "event", "reason", "skipped_by", "skipped_at", "error")
    list_filter = ("projection",)

    @admin.display(description="Event")
    def event(self, skip: SkippedEvent) -> SafeString:
        return format_html(
            '<a href="{}">#{}</a>', reverse("admin:ledger_event_change", args=[skip.position]), skip.position
        )


@admin.register(EventType)
class EventTypeAdmin(ReadOnlyAdmin):
    """The event-type catalogue (projections/projectors/event_types.py): each type with the schema
    versions its events are stored in, the upcasters that lift the older ones on read, how many
    events of each and when the first and last were recorded. A few rows kept current by the
    runner: nothing is counted at request time."""

    list_display = ("type", "stored_as", "current_version", "upcasters", "count", "first_seen", "last_seen")
    list_display_links = None
    ordering = ("type", "schema_version")
    sortable_by = ()
    list_per_page = 200
    actions = None
    search_fields = ("type",)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_view_permission(request)  # the list says it all: no detail page

    @admin.display(description="stored as")
    def stored_as(self, row: EventType) -> str:
        return f"schema version {row.schema_version}"

    @admin.display(description="read as")
    def current_version(self, row: EventType) -> str:
        return f"schema version {current_schema_version(row.type)}"

    @admin.display(description="upcasters on read")
    def upcasters(self, row: EventType) -> str:
        steps = upcasters_from(row.type, row.schema_version)
        return ", ".join(f"v{u.from_version} → v{u.from_version + 1}" for u in steps) or "none: the current shape"

    @admin.display(description="events")
    def count(self, row: EventType) -> SafeString:
        url = reverse("admin:ledger_event_changelist") + f"?type={row.type}"
        return format_html('<a href="{}">{}</a>', url, f"{row.events:,}")

    @admin.display(description="first recorded")
    def first_seen(self, row: EventType) -> str:
        return format_moment(row.first_recorded_at)

    @admin.display(description="last recorded")
    def last_seen(self, row: EventType) -> str:
        return format_moment(row.last_recorded_at)
