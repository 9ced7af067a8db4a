"""{{ event.data|payload:changelist_url }}: an event's data on one line for the stream view, with its
amount in major units and the other account of a movement linked to that account's events."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from ledger.admin.parties import COUNTERPARTY_KEYS
from ledger.domain.money import CURRENCIES, format_money

register = template.Library()


@register.filter
def payload(data: Any, changelist_url: str) -> SafeString:
    if not isinstance(data, dict):
        return format_html("{}", data)
    amount, currency = data.get("amount"), data.get("currency")
    money = format_money(amount, currency) if type(amount) is int and currency in CURRENCIES else None
    items = []
    for key, value in data.items():
        if key == "account_id" or (key == "currency" and money):
            continue  # the stream's own id; a currency shown with its amount
        if key == "amount" and money:
            items.append((key, money))
        elif key in COUNTERPARTY_KEYS and isinstance(value, str) and value:
            items.append((key, format_html('<a href="{}?stream={}">{}</a>', changelist_url, quote_plus(value), value)))
        else:
            items.append((key, value))
    return format_html_join(" ", "{}={}", items)
