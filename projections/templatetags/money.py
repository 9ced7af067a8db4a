"""Template filters for money, statuses and moments: integer minor units shown as readable amounts,
times as the statement and the accounts list print them."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.timezone import localtime

from ledger.domain.money import format_money, to_decimal

register = template.Library()


@register.filter
def money(minor: int | None, currency: str) -> str:
    """{{ line.amount|money:summary.currency }} -> "1,234.50 EUR"."""
    if minor is None:
        return ""
    return format_money(minor, currency)


@register.filter
def signed_money(minor: int, currency: str) -> str:
    text = format_money(abs(minor), currency)
    return f"+{text}" if minor > 0 else f"−{text}" if minor < 0 else text


@register.filter
def plain_amount(minor: int, currency: str) -> str:
    """For form values: "1234.50" (no grouping, no currency)."""
    return str(to_decimal(minor, currency))


KIND_LABELS = {
    "deposit": "Deposit",
    "withdrawal": "Withdrawal",
    "transfer_in": "Transfer from",
    "transfer_out": "Transfer to",
}


@register.filter
def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


@register.filter
def percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@register.filter
def moment(value: datetime | None) -> str:
    """{{ line.recorded_at|moment }} -> "3 Mar 2026, 14:05", in the current time zone: what
    `|date:"j M Y, H:i"` prints, at half its cost, on every row of a statement or list."""
    if value is None:
        return ""
    local = localtime(value)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"
