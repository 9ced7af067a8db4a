"""Template filters for money, statuses and moments: integer minor units shown as readable amounts,
moments as every screen prints them (ledger/moments.py)."""

from __future__ import annotations

from django import template

from ledger.domain.money import format_money, to_decimal
from ledger.moments import format_moment

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
    "deposit_reversal": "Reversal of a deposit",
    "withdrawal_reversal": "Reversal of a withdrawal",
    "transfer_in_reversal": "Reversal of a transfer from",
    "transfer_out_reversal": "Reversal of a transfer to",
}


@register.filter
def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


@register.filter
def percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


# {{ line.recorded_at|moment }} -> "3 Mar 2026, 14:05:09 UTC", as every screen shows a moment (ledger/moments.py)
moment = register.filter("moment", format_moment)
