"""Request guards: a lost database connection answers a clear "try again" (503) instead of a
traceback; HTMX headers a client sent that cannot be read count as absent."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.functional import cached_property
from django_htmx.middleware import HtmxDetails

log = logging.getLogger(__name__)
UNAVAILABLE = (OperationalError, InterfaceError)


class DatabaseUnavailableMiddleware:
    """Placed before LoginRequiredMiddleware: the first query of a signed-in request (loading the
    session's user) happens there, before any view runs, so it is guarded here too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, *args: object) -> HttpResponse | None:
        try:
            getattr(request, "user", None) and request.user.is_authenticated  # loads the user now
        except UNAVAILABLE as exc:
            return self._unavailable(request, exc)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, UNAVAILABLE):
            return None
        return self._unavailable(request, exception)

    def _unavailable(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        log.warning("database unavailable while serving %s: %s", request.path, exc)
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = "5"
        return response


# C0 and C1 control characters and DEL: no header htmx sends holds one, raw or once URI-decoded.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _is_url(text: str) -> bool:
    """What a browser's location.href looks like: ASCII (it is percent-encoded) and parsable."""
    if not text.isascii():
        return False
    try:
        _ = urlsplit(text).port  # parsing the port is part of the check (a port out of range raises)
    except ValueError:
        return False
    return True


class ReadableHtmxDetails(HtmxDetails):
    """django_htmx's request.htmx, except that a header value it cannot read is None (absent).

    Every HX-* header is client input; code that reads one (a current URL to parse, a target to
    compare) is then never handed a value that makes it fail, and a request with a broken header
    is answered as a plain one would be."""

    def _get_header_value(self, name: str) -> str | None:
        value = super()._get_header_value(name)
        return None if value is None or _CONTROL.search(value) else value

    @cached_property
    def current_url(self) -> str | None:
        url = self._get_header_value("HX-Current-URL")
        return url if url is not None and _is_url(url) else None

    @cached_property
    def triggering_event(self) -> Any:
        value = self._get_header_value("Triggering-Event")
        try:
            return None if value is None else json.loads(value)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
            return None


class HtmxMiddleware:
    """In place of django_htmx's middleware of the same name: sets request.htmx, readable."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.htmx = ReadableHtmxDetails(request)  # type: ignore[attr-defined]
        return self.get_response(request)
