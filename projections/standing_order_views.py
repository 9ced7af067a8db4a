"""The standing orders screens that read: an account's orders (paying from it or into it, with the
set-up link and a cancel button for those whose role allows), and one order's page with every
period it settled. After a task they wait briefly for the read model (read-your-writes)."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ledger.htmx import HtmxHttpRequest
from ledger.roles import Task, may_audit, may_perform
from ledger.standing_order_forms import CancelStandingOrderForm
from projections import queries, standing_orders
from projections.views import _parse_after

PROJECTIONS = ("standing_orders", "account_summary")


def _wait(request: HtmxHttpRequest) -> bool:
    """Whether the page must say "processing" (the task's events are not in the read model yet)."""
    after = _parse_after(request.GET.get("after"))
    if after is None:
        return False
    timeout = 0 if request.GET.get("poll") else queries.READ_YOUR_WRITES_SECONDS
    return queries.projection_wait(after, PROJECTIONS, timeout=timeout) is queries.Wait.PENDING


@require_GET
def account_standing_orders(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    processing = _wait(request)
    summary = queries.account_summary_get(account_id=account_id)
    if summary is None and not processing:
        raise Http404("There is no account with this number.")
    may_change = may_perform(request.user, Task.STANDING_ORDER)
    orders = standing_orders.orders_of_account(account_id)
    # Each order's other account, named with its number: one query for all of them.
    others = queries.accounts_by_id(o.to_account_id if o.account_id == account_id else o.account_id for o in orders)
    context = {
        "summary": summary,
        "account_id": account_id,
        "orders": [
            {
                "row": o,
                "paying": o.account_id == account_id,
                "other": others.get(o.to_account_id if o.account_id == account_id else o.account_id),
                # a fresh command id per button: a double click is one cancellation
                "cancel": CancelStandingOrderForm()
                if may_change and o.status == "active" and o.account_id == account_id
                else None,
            }
            for o in orders
        ],
        "may_set_up": may_change and summary is not None and summary.status != "closed",
        "processing": processing,
        "after": request.GET.get("after", "") if processing else "",
    }
    template = "projections/standing_orders.html#orders" if request.htmx else "projections/standing_orders.html"
    return render(request, template, context)


@require_GET
def standing_order(request: HtmxHttpRequest, account_id: UUID, order_id: UUID) -> HttpResponse:
    row = standing_orders.order(order_id)
    if row is None or account_id not in (row.account_id, row.to_account_id):
        raise Http404("This account has no such standing order.")
    accounts = queries.accounts_by_id([row.account_id, row.to_account_id])
    context = {
        "row": row,
        "account_id": account_id,
        "summary": accounts.get(account_id),
        "from_account": accounts.get(row.account_id),
        "to_account": accounts.get(row.to_account_id),
        "periods": standing_orders.order_history(order_id),
        "may_audit": may_audit(request.user),
    }
    return render(request, "projections/standing_order.html", context)
