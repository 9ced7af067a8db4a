"""Screens that read: dashboard, accounts list, account page (and its state as of any moment),
projection status. They read the read models through projections.queries, and the event store
only for the historical view."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import UUID

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from ledger import forgetting
from ledger.account_numbers import number_opened_by
from ledger.domain.account import ERASED_NAME
from ledger.domain.money import CURRENCIES
from ledger.history import account_history
from ledger.htmx import HtmxHttpRequest
from ledger.roles import Task, may_audit, may_perform
from ledger.store import Checkpoint, replicas
from ledger.tasks import tasks_for
from projections import approval_queries, bluegreen, queries, skips, standing_orders, statements
from projections import dashboard as dashboard_figures
from projections.models import AccountSummary
from projections.rows import accounts_table, history_table, reverse_url_for, statement_table, version_options
from projections.status_history import StatusChange, status_history

TIMELINE_ROWS = 200
# What the account page shows; it need not wait for the dashboard's daily totals.
ACCOUNT_PAGE_PROJECTIONS = ("account_summary", "statement", "approvals")  # approvals: its pending requests


def _partial(request: HtmxHttpRequest, template: str, name: str) -> str:
    return f"{template}#{name}" if request.htmx else template


@require_GET
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    activity = queries.daily_activity(days=30)
    lags = queries.projection_lag()
    return render(
        request,
        "projections/dashboard.html",
        {
            "totals": queries.totals_by_currency(),
            "today": dashboard_figures.today(),
            "today_activity": dashboard_figures.today_by_currency(),
            "latest": dashboard_figures.latest_movements(),
            "chart": dashboard_figures.chart(activity),
            "days": activity,
            "moved": sum(sum(d[k] for k in dashboard_figures.KINDS) for d in activity),
            "freshness": dashboard_figures.freshness(lags),
            "lags": lags,
            "operator": request.user.is_superuser,  # the projections' details are the operators'
        },
    )


@require_GET
def accounts(request: HtmxHttpRequest) -> HttpResponse:
    filters = {k: request.GET.get(k, "") for k in ("q", "status", "currency", "sort")}
    filters["sort"] = filters["sort"] if filters["sort"] in queries.ACCOUNT_SORTS else "-activity"
    page = queries.accounts_search(**filters, page=request.GET.get("page", 1))
    template = "projections/accounts.html"
    return render(
        request,
        _partial(request, template, "results"),
        {
            "page": page,
            "accounts_table": accounts_table(page),
            # A whole number that found nothing: its check digits may say it was mistyped.
            "number_mistyped": "" if page.object_list else queries.number_mistyped(filters["q"]),
            "filters": filters,
            "statuses": queries.STATUSES,
            "currencies": list(CURRENCIES),
            "sorts": queries.ACCOUNT_SORTS,
            "may_open": may_perform(request.user, Task.OPEN),
        },
    )


def _parse_after(value: str | None) -> Checkpoint | None:
    try:
        tx_id, position = (int(part) for part in (value or "").split("."))
        return Checkpoint(tx_id, position)
    except ValueError:
        return None


@require_GET
def account(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """The account page. `?after=tx.position` (set after a task) waits until the read side has
    the command's events; if it takes longer, the page says so and refreshes itself. A checkpoint
    no command wrote is not waited for, and the page shows the account as it is."""
    after = _parse_after(request.GET.get("after"))
    # A page showing "processing" asks again every second by itself (`poll=1`): those requests
    # look once and do not wait, or a stalled read side would hold a web worker per open page.
    timeout = 0 if request.GET.get("poll") else queries.READ_YOUR_WRITES_SECONDS
    wait = queries.projection_wait(after, ACCOUNT_PAGE_PROJECTIONS, timeout=timeout) if after is not None else None
    processing = wait is queries.Wait.PENDING
    summary = queries.account_summary_get(account_id=account_id)
    if summary is None and not processing:
        raise Http404("There is no account with this number.")
    period, period_error = statements.period_from(request.GET.get("from", ""), request.GET.get("to", ""))
    in_period = None
    if summary is not None and not period.whole:
        in_period = statements.statement_for_period(
            account_id=account_id, currency=summary.currency, period=period, page=request.GET.get("page", 1)
        )
        statement = in_period.lines
    else:
        statement = queries.statement_page(account_id=account_id, page=request.GET.get("page", 1))
    # "Reverse" on each line for supervisors; the reversal's own page checks again, on the stream.
    may_reverse = summary is not None and summary.status != "closed" and may_perform(request.user, Task.REVERSE)
    status_changes = status_history(account_id=account_id) if summary else []
    context = {
        "summary": summary,
        "statement": statement,
        "statement_table": statement_table(statement, reverse_url=reverse_url_for(account_id) if may_reverse else None),
        "processing": processing,
        "after": f"{after.tx_id}.{after.position}" if processing and after else "",
        "account_id": account_id,
        "tasks": tasks_for(request.user, summary.status, forgettable=_forgettable(summary, status_changes))
        if summary
        else [],
        "forgettable_from": _forgettable_from(summary, status_changes),
        "may_forget": may_perform(request.user, Task.FORGET),
        "pending_requests": approval_queries.approvals_of_account(account_id=account_id) if summary else [],
        "standing_orders": standing_orders.orders_of_account(account_id) if summary else [],
        "may_audit": may_audit(request.user),
        "period": in_period,
        "period_text": {"from": request.GET.get("from", ""), "to": request.GET.get("to", "")},
        "period_error": period_error,
        "status_changes": status_changes,
    }
    template = "projections/account.html"
    if request.htmx and request.htmx.target in {"account", "statement"}:
        template = f"{template}#{request.htmx.target}"
    return render(request, template, context)


def _forgettable_from(summary: AccountSummary | None, changes: list[StatusChange]) -> datetime | None:
    """When a closed account's customer may be forgotten (None: open, or forgotten already)."""
    if summary is None or summary.status != "closed" or summary.owner == ERASED_NAME:
        return None
    closed = next((change.at for change in changes if change.became == "closed"), None)  # newest first
    return forgetting.ends_after(closed) if closed else None


def _forgettable(summary: AccountSummary, changes: list[StatusChange]) -> bool:
    ends = _forgettable_from(summary, changes)
    return ends is not None and forgetting.over(ends)


MOMENT_MESSAGE = "Enter the moment as a date and time, for example 2026-03-01 14:30."
VERSION_MESSAGE = "Choose one of the account's events from the list."
# ASCII digits only: str.isdigit() also takes "²" (which int() refuses) and "١٢" (which it reads
# as 12), and int() refuses more than 4,300 digits. No stream has 10**18 events.
VERSION = re.compile(r"[0-9]{1,18}")


def _moment(text: str) -> datetime | None:
    """The moment `text` names, or None when it names none: a date or time not on the calendar
    (30 February, hour 25), an offset of a day or more, or a moment so near the first or last one
    Python represents that it has no UTC or local time (which comparing and showing it need)."""
    try:
        at = parse_datetime(text)
        if at is None:
            return None
        if timezone.is_naive(at):
            at = timezone.make_aware(at)
        at.astimezone(UTC)  # raise OverflowError for a moment without a UTC time
        timezone.localtime(at)  # or without a local one
    except (ValueError, OverflowError):
        return None
    return at


@require_GET
def account_as_of(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """The account as it was at a moment (or right after one of its events), folded from the events."""
    at_text, version_text = request.GET.get("at", ""), request.GET.get("version", "")
    at = _moment(at_text) if at_text else None
    version = int(version_text) if VERSION.fullmatch(version_text) else None
    errors = [
        message
        for given, read, message in ((at_text, at, MOMENT_MESSAGE), (version_text, version, VERSION_MESSAGE))
        if given and read is None
    ]
    everything = account_history(account_id)
    if not everything:
        raise Http404("There is no account with this number.")
    if errors or (at is None and version is None):
        steps = everything
    else:
        steps = [
            s
            for s in everything
            if (at is None or s.event.recorded_at <= at) and (version is None or s.event.version <= version)
        ]
    shown = list(reversed(steps))[:TIMELINE_ROWS]
    return render(
        request,
        _partial(request, "projections/as_of.html", "history"),
        {
            # Long-lived accounts: show the latest part of the timeline; the state is folded from all of it.
            "account_id": account_id,
            "steps": shown,
            "history_table": history_table(shown, account_id=account_id),
            "shown_of": len(steps),
            "version_options": version_options(
                list(reversed(everything))[:TIMELINE_ROWS], selected=None if errors else version
            ),
            "state": steps[-1].state if steps else None,
            "at": None if errors else at,
            "version": None if errors else version,
            "error": " ".join(errors),
            "at_text": at_text,
            "opened_at": everything[0].event.recorded_at,
            "number": number_opened_by(everything[0].event),
        },
    )


@require_GET
def account_options(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    """Suggestions for a transfer's target account (a <datalist>)."""
    summary = queries.account_summary_get(account_id=account_id)
    options = (
        queries.account_options(currency=summary.currency, exclude=account_id, q=request.GET.get("q", ""))
        if summary
        else []
    )
    return render(request, "projections/account_options.html", {"options": options})


@require_GET
def projection_status(request: HtmxHttpRequest) -> HttpResponse:
    """Every role sees which projection stopped, where and since when, and what went wrong in one
    line; the traceback (file paths, code, data) only operators, who are superusers. Likewise for an
    open transaction holding the read side back: every role sees that one does and since when; only
    operators which backend it is and the start of its query."""
    return render(
        request,
        _partial(request, "projections/status.html", "table"),
        {
            "lags": queries.projection_lag(),
            "held_back": queries.read_side_held_back(),
            "rebuilds": bluegreen.progress(),
            "skipped": skips.recent(),
            "replicas": replicas.states(),
            "show_tracebacks": request.user.is_superuser,
            "may_browse": may_audit(request.user),
        },
    )


@require_GET
def lag_badge(request: HtmxHttpRequest) -> HttpResponse:
    """How current the figures are, in the header, refreshed every few seconds."""
    return render(
        request, "projections/lag_badge.html", {"freshness": dashboard_figures.freshness(queries.projection_lag())}
    )
