"""Under gunicorn's threads one ModelAdmin instance serves every request of the process at once:
the projection status page keeps what it works out for a request with that request's rows."""

from __future__ import annotations

import threading

from django.contrib import admin
from django.test import Client

from ledger.roles import Role
from projections import runner
from projections.models import ProjectionStatus
from tests.projections.helpers import some_activity
from tests.screens.helpers import make_user

URL = "/admin/projections/projectionstatus/"


def auditor_client() -> Client:
    client = Client()
    client.force_login(make_user("deploy-auditor", Role.AUDITOR))
    return client


def test_the_projection_page_leaves_the_shared_admin_as_it_found_it(committed):
    some_activity()
    runner.catch_up()
    model_admin = admin.site._registry[ProjectionStatus]
    before = dict(vars(model_admin))

    page = auditor_client().get(URL)

    assert page.status_code == 200 and "up to date" in page.content.decode()
    assert vars(model_admin) == before  # nothing of the request stayed on the instance


def test_pages_rendered_at_once_in_threads_each_show_their_own_lag(committed):
    runner.catch_up()
    some_activity()  # not caught up: every page must say how far behind each projection is
    client = auditor_client()
    bodies: list[str] = []
    start = threading.Barrier(6)

    def load() -> None:
        from django.db import connection

        try:
            start.wait()
            bodies.append(client.get(URL).content.decode())
        finally:
            connection.close()

    threads = [threading.Thread(target=load) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    rows = ProjectionStatus.objects.count()
    assert len(bodies) == 6
    assert all(body.count("catching up") == rows and body.count("events, ") == rows for body in bodies)
