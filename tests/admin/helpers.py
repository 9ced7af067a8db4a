"""Small helpers for the event browser tests."""

from __future__ import annotations

import re
from hashlib import md5
from html import unescape
from typing import Any
from uuid import UUID

from django.test import Client
from django.urls import reverse

from ledger.models import Event

EVENTS = reverse("admin:ledger_event_changelist")

BULK_SCHEMA = "admin_browser_bulk"
BULK_EVENTS = 1_000_000
BULK_STREAMS = 10_000  # so each stream holds 100 events, spread across the whole table


def bulk_id(text: str) -> UUID:
    """An id of the bulk events, made as the fixture's SQL makes them: md5(text)::uuid."""
    return UUID(md5(text.encode(), usedforsecurity=False).hexdigest())


def change_url(event: Event) -> str:
    return reverse("admin:ledger_event_change", args=[event.pk])


def stream_url(stream_id: UUID | str) -> str:
    return reverse("admin:ledger_event_stream", args=[stream_id])


def listed(client: Client, url: str = EVENTS, **params: Any) -> list[Event]:
    """The events a change list page shows, in the order shown."""
    response = client.get(url, params)
    assert response.status_code == 200, response
    return list(response.context["cl"].result_list)


def link(html: str, text: str) -> str:
    """The href of the first link whose text contains `text`."""
    for href, inner in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', html, flags=re.S):
        if text in unescape(inner):
            return unescape(href)
    raise AssertionError(f"no link with {text!r}")
