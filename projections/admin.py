"""Projections in the admin: each projector's checkpoint and lag, and a rebuild that runs through
Celery and shows its progress. Auditors look; only superusers (operators) may rebuild."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import floatformat
from django.utils.html import format_html

from ledger.admin.readonly import ReadOnlyAdmin
from projections.models import ProjectionStatus
from projections.queries import Lag, projection_lag
from projections.tasks import rebuild


class ProjectionChangeList(ChangeList):
    """The page's rows, each given its own lag: the lags belong to this request's rows, never to the
    ModelAdmin, which is one instance shared by every request (and thread) of the process."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        lags = {lag.name: lag for lag in projection_lag()}  # one query for the whole page
        for status in self.result_list:  # evaluates the page's queryset once; the template reuses it
            status.lag = lags.get(status.name)


@admin.register(ProjectionStatus)
class ProjectionStatusAdmin(ReadOnlyAdmin):
    list_display = ("name", "state", "checkpoint", "behind", "events_applied", "updated_at")
    actions = ["rebuild_selected"]
    change_list_template = "admin/projections/projectionstatus/change_list.html"
    show_full_result_count = False

    # Read-only (ReadOnlyAdmin): rows are the runner's; the only change an operator makes is "rebuild".
    def has_rebuild_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def get_changelist(self, request: HttpRequest, **kwargs: object) -> type[ChangeList]:
        return ProjectionChangeList

    def get_exclude(self, request: HttpRequest, obj: ProjectionStatus | None = None) -> tuple[str, ...]:
        # The traceback names files, code and data: operators only. Others see the one line (error).
        return () if request.user.is_superuser else ("last_error",)

    def get_readonly_fields(self, request: HttpRequest, obj: ProjectionStatus | None = None) -> tuple[str, ...]:
        return () if request.user.is_superuser else ("error",)

    @admin.display(description="Last error")
    def error(self, status: ProjectionStatus) -> str:
        return status.last_error.splitlines()[0][:200] if status.last_error else "—"

    @staticmethod
    def _lag(status: ProjectionStatus) -> Lag | None:
        return getattr(status, "lag", None)

    @admin.display(description="State")
    def state(self, status: ProjectionStatus) -> str:
        lag = self._lag(status)
        if status.last_error:
            return format_html(
                '<strong style="color:#b42318">stopped at event #{}</strong>: {}',
                status.last_error_position,
                status.last_error.splitlines()[0][:200],
            )
        if status.rebuilding and lag:
            rate = f" at {floatformat(status.rebuild_rate or 0, 0)} events/s" if status.rebuild_rate else ""
            done = round(100 * (lag.rebuild_done or 0))
            return format_html('<progress max="100" value="{}"></progress> rebuilding, {}%{}', done, done, rate)
        if lag and lag.events_behind:
            return "catching up"
        return "up to date"

    @admin.display(description="Checkpoint")
    def checkpoint(self, status: ProjectionStatus) -> str:
        return f"#{status.position} (tx {status.tx_id})"

    @admin.display(description="Behind")
    def behind(self, status: ProjectionStatus) -> str:
        lag = self._lag(status)
        if not lag or not lag.events_behind:
            return "—"
        return f"≈{lag.events_behind} events, {lag.seconds_behind:.1f} s"

    @admin.action(description="Rebuild the selected projections (through Celery)", permissions=["rebuild"])
    def rebuild_selected(self, request: HttpRequest, queryset: QuerySet[ProjectionStatus]) -> None:
        names = sorted(queryset.values_list("name", flat=True))
        try:
            rebuild.apply_async(args=(names,), retry=False)
        except Exception as exc:  # noqa: BLE001 - the broker is down: say what to do instead
            self.message_user(
                request,
                f"Could not reach the workers ({exc}). Run 'manage.py rebuild_projections {' '.join(names)}' instead.",
                messages.ERROR,
            )
            return
        self.message_user(
            request, f"Rebuild of {', '.join(names)} sent to the workers; progress shows below.", messages.SUCCESS
        )
