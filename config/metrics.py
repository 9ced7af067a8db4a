"""/metrics: the figures in Prometheus's text format, for operators only (a bearer token).

The token is TALLY_METRICS_TOKEN; with none set, /metrics does not exist (404). A request without
the token, or with another, gets 401 and no figures. The figures are the write side's command
counts (ledger.metrics) and the runner's commit-to-visible times (projections.metrics), added up
over every process of this host in multiprocess mode (PROMETHEUS_MULTIPROC_DIR) or this process's
own without it, and the read side's state, read from the database at each scrape
(projections.metrics.ReadSideCollector), so that every process and host answers the same.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from projections.metrics import ReadSideCollector


@login_not_required  # a scraper has no session; the token is its log-in
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.TALLY_METRICS_TOKEN
    if not token:
        raise Http404("metrics are off: TALLY_METRICS_TOKEN is not set")
    if not bearer_matches(request.headers.get("Authorization", ""), token):
        response = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="tally-metrics"'
        return response
    encode, content_type = _encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(_registry()), content_type=content_type)


def _encoder(accept: str) -> tuple[Callable[[Collector], bytes], str]:
    """The format the scraper asks for (Prometheus's text format, or OpenMetrics), as
    prometheus-client chooses it; the classic text format when the Accept header makes no sense to
    it (a version of letters, "version=abc", is compared with numbers and raises)."""
    try:
        return choose_encoder(accept)
    except (TypeError, ValueError):
        return generate_latest, CONTENT_TYPE_PLAIN_0_0_4


def bearer_matches(header: str, token: str) -> bool:
    """Whether `header` is "Bearer <token>" (the scheme in any case, RFC 7235). Compared in constant
    time, so how long an answer takes says nothing of how much of a guess was right."""
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    try:
        # The bytes the client sent: a WSGI server hands header values over decoded as Latin-1.
        given = credentials.strip().encode("latin-1")
    except UnicodeEncodeError:  # text no HTTP request can carry
        return False
    return hmac.compare_digest(given, token.encode())


def _registry() -> CollectorRegistry:
    """The figures of one scrape. Multiprocess mode reads every process's files afresh each time;
    prometheus-client's own registry then holds only this process's, so it is left out."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    registry.register(ReadSideCollector())
    return registry
