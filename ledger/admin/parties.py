"""Who and what an event is about, as the event browser shows it: the account it concerns, the other
account of a movement (its counterparty), both owners' names, and the amount in major units.

Owners come from each account's own AccountOpened event (data.owner, sealed: opened with the keys
of the page's accounts, or the erased name once a customer is forgotten), read for a whole page of
rows in one query on the (stream_id, version) index, rather than from the read side through a hook: the
browser is where auditors look when the read side is behind, rebuilding or stopped, and an account
opened a moment ago has its owner in the log before any projection has it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from uuid import UUID

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ledger.domain.account import STREAM_TYPE
from ledger.domain.money import CURRENCIES, format_money
from ledger.models import Event
from ledger.store import personal

# The keys under which an event's data names the other account of a movement: a transfer's two
# sides, a request or standing order to pay another account, a reversed transfer.
COUNTERPARTY_KEYS = ("to_account_id", "from_account_id", "counterparty_id")


@dataclass(frozen=True, slots=True)
class Parties:
    account_id: UUID | None = None  # the account the event concerns
    owner: str = ""
    counterparty_id: UUID | None = None
    counterparty_owner: str = ""


def account_of(event: Event) -> UUID | None:
    """An account's own events concern it; an approval request's or a standing order's concern the
    account in their data."""
    if event.stream_type == STREAM_TYPE:
        return event.stream_id
    return _uuid(_data(event).get("account_id"))


def counterparty_of(event: Event) -> UUID | None:
    data = _data(event)
    for key in COUNTERPARTY_KEYS:
        if (found := _uuid(data.get(key))) is not None:
            return found
    return None


def parties_of(events: Iterable[Event]) -> dict[int, Parties]:
    """Each event's parties by position, the owners of all of them read in one query."""
    pairs = {event.pk: (account_of(event), counterparty_of(event)) for event in events}
    owners = owners_of({account for pair in pairs.values() for account in pair if account is not None})
    return {
        position: Parties(
            account, owners.get(account, "") if account else "", other, owners.get(other, "") if other else ""
        )
        for position, (account, other) in pairs.items()
    }


def owners_of(account_ids: set[UUID]) -> dict[UUID, str]:
    """The owner each account was opened for; accounts never opened are left out."""
    if not account_ids:
        return {}
    opened = list(
        Event.objects.filter(
            stream_id__in=account_ids, version=1, type="AccountOpened", stream_type=STREAM_TYPE
        ).values_list("stream_id", "data")
    )
    personal.open_events(("AccountOpened", data) for _, data in opened)
    return {stream_id: data.get("owner") or "" for stream_id, data in opened}


def amount_of(event: Event) -> str:
    """For an event that moves or holds money, its amount as "1,234.56 EUR"; else ""."""
    data = _data(event)
    amount, currency = data.get("amount"), data.get("currency")
    if type(amount) is not int or currency not in CURRENCIES:  # not bool, nor an amount stored as text
        return ""
    return format_money(amount, currency)


def _data(event: Event) -> dict[str, Any]:
    return event.data if isinstance(event.data, dict) else {}


def _uuid(value: object) -> UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


class PartiesColumns:
    """EventAdmin's columns and fields for an event's owner, amount and other account. Every row of a
    list page has its parties set by the change list (ledger/admin/rows.py), in one query."""

    admin_site: admin.AdminSite

    @admin.display(description="owner")
    def owner(self, event: Event) -> str:
        return parties(event).owner

    @admin.display(description="amount")
    def amount(self, event: Event) -> str:
        return amount_of(event)

    @admin.display(description="other account")
    def counterparty(self, event: Event) -> SafeString | str:
        """The other account's id, linked to its events, with its owner's name below."""
        found = parties(event)
        if found.counterparty_id is None:
            return ""
        other, name = found.counterparty_id, html.escape(found.counterparty_owner)
        link = f'<a href="{html.escape(_events_url(self.admin_site.name))}?stream={other}">{other}</a>'
        return SafeString(link + (f'<br><span class="quiet">{name}</span>' if name else ""))  # escaped; UUIDs need not

    @admin.display(description="other account")
    def counterparty_links(self, event: Event) -> SafeString | str:
        found = parties(event)
        if found.counterparty_id is None:
            return "none"
        return format_html(
            '{}{} &nbsp; <a href="{}">its history</a> &middot; <a href="{}">its list of events</a>',
            found.counterparty_id,
            format_html(" ({})", found.counterparty_owner) if found.counterparty_owner else "",
            reverse("admin:ledger_event_stream", args=[found.counterparty_id], current_app=self.admin_site.name),
            f"{_events_url(self.admin_site.name)}?stream={found.counterparty_id}",
        )


@cache
def _events_url(site: str) -> str:
    """The event list's address, reversed once per process rather than on every row: the URL
    configuration and the script prefix it depends on do not change while the process runs."""
    return reverse("admin:ledger_event_changelist", current_app=site)


def parties(event: Event) -> Parties:
    """The event's parties as its change list set them, else read now (an event's own page)."""
    found = getattr(event, "parties", None)
    if not isinstance(found, Parties):
        found = parties_of([event])[event.pk]
        event.parties = found  # type: ignore[attr-defined]  # the page's fields ask several times
    return found
