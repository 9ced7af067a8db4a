"""The request a view gets once the HTMX middleware has run: `request.htmx` says whether HTMX sent
it, and what it said (config.middleware makes unreadable headers absent)."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails
