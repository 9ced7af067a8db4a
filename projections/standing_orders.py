"""The standing orders' sweep and reads. The beat's sweep finds the orders due by the read model (it
may lag: each order's own stream then decides what is due, ledger.standing_orders.settle_due)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from django.db.models import Q

from ledger import store
from ledger.standing_orders import settle_due
from projections.models import StandingOrder


def pay_due(*, on: date, limit: int = 500) -> int:
    """Settle the due periods of up to `limit` orders, the longest overdue first; how many periods
    this sweep recorded (another sweep running at once records the others, never the same)."""
    due = StandingOrder.objects.filter(status="active", next_due__lte=on).order_by("next_due", "order_id")
    return sum(settle_due(order_id, on=on) for order_id in due.values_list("order_id", flat=True)[:limit])


def orders_of_account(account_id: UUID) -> list[StandingOrder]:
    """The orders paying from or into the account: active first, then by when they were set up."""
    rows = StandingOrder.objects.filter(Q(account_id=account_id) | Q(to_account_id=account_id))
    return sorted(rows, key=lambda o: (o.status != "active", -o.position))


def order(order_id: UUID) -> StandingOrder | None:
    return StandingOrder.objects.filter(order_id=order_id).first()


OUTCOMES = {
    "StandingOrderPaid": "paid",
    "StandingOrderPaymentFailed": "failed",
    "StandingOrderEnded": "ended",
}


def order_history(order_id: UUID) -> list[dict[str, object]]:
    """Every period the order settled, oldest first, read from its stream (the historical view):
    due date, outcome, why it failed or ended, when it was recorded and its place in the log."""
    return [
        {
            "period": e.data["period"],
            "due_date": date.fromisoformat(e.data["due_date"]),
            "outcome": OUTCOMES[e.type],
            "reason": e.data.get("reason", ""),
            "recorded_at": e.recorded_at,
            "position": e.position,
        }
        for e in store.read_stream(order_id)
        if e.type in OUTCOMES
    ]
