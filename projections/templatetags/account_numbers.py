"""Account numbers as people read them: `{{ summary.number|account_number }}` -> "TL12 3456 7890 12"."""

from __future__ import annotations

from django import template

from ledger.domain.account_number import grouped

register = template.Library()


@register.filter
def account_number(number: str | None) -> str:
    """Grouped in fours; "" for an account whose number the read side does not have (not seen yet,
    or a table that version 1 of its projector built, before the rebuild that fills numbers in)."""
    return grouped(number) if number else ""
