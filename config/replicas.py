"""Screens on Postgres replicas: the middleware that sends a screen's reads to one, and the router
that sends the ORM's reads of the ledger's and the projections' models where the request reads.

Only GET and HEAD requests read from a replica, and not all of them: the read side's own status
(its checkpoints and rebuilds, what operators act on), the health check and the metrics read the
primary. Sessions and users always come from the primary (a session written a moment ago must be
found), and so does every write. A page that fails on a replica which a check then leaves out of
rotation is served again from the primary: reading twice is harmless for a GET.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.http import HttpRequest, HttpResponse

from ledger.store import replicas
from ledger.store.sql import reading_alias, reading_from

log = logging.getLogger(__name__)

READ_SIDE_APPS = frozenset({"ledger", "projections"})
PRIMARY_ONLY = ("/projections/", "/admin/projections/", "/healthz", "/metrics")


class ReplicaRouter:
    """The ORM half: the ledger's and the projections' models are read where the request reads;
    everything else, every write and every migration is the primary's."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        return reading_alias() if model._meta.app_label in READ_SIDE_APPS else DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database: a replica is the primary's copy

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReplicaReadsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD") or request.path.startswith(PRIMARY_ONLY):
            return self.get_response(request)
        alias = replicas.choose()
        if alias is None:
            return self.get_response(request)
        with reading_from(alias):
            response = self.get_response(request)
        if response.status_code >= 500 and not replicas.check(alias).in_rotation:  # left out now, logged
            log.warning("%s failed on replica %s; served again from the primary", request.path, alias)
            response = self.get_response(request)
        return response
