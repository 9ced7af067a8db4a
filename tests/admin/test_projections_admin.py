"""Projections in the admin: status for auditors, a Celery-driven rebuild for operators."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from ledger.roles import Role
from projections import runner
from projections.models import ProjectionStatus
from scripts.processes import wait_until
from tests.projections.helpers import differences, some_activity
from tests.screens.helpers import make_user

URL = "/admin/projections/projectionstatus/"


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_auditor_sees_each_projections_checkpoint_and_cannot_rebuild(committed):
    some_activity()
    runner.catch_up()
    auditor = client_of(make_user("admin-auditor", Role.AUDITOR))

    page = auditor.get(URL)

    assert page.status_code == 200
    body = page.content.decode()
    for name in ("account_summary", "statement", "daily_activity"):
        assert name in body
    assert "up to date" in body and "rebuild_selected" not in body
    refused = auditor.post(URL, {"action": "rebuild_selected", "_selected_action": ["statement"]})
    assert refused.status_code in (200, 302, 403)
    assert not ProjectionStatus.objects.filter(rebuilding=True).exists()


def test_a_teller_cannot_see_the_projection_admin(committed):
    teller = client_of(make_user("admin-teller", Role.TELLER))

    assert teller.get(URL).status_code == 403


def test_an_operator_rebuilds_through_celery_and_sees_it_finish(committed, celery_stack):
    some_activity()
    runner.catch_up()
    operator, _ = User.objects.get_or_create(username="admin-operator", defaults={"is_superuser": True})
    client = client_of(operator)
    before = ProjectionStatus.objects.get(name="statement").rebuild_started_at

    response = client.post(
        URL, {"action": "rebuild_selected", "_selected_action": ["account_summary", "statement"]}, follow=True
    )

    assert "sent to the workers" in response.content.decode()

    def rebuilt() -> bool:
        status = ProjectionStatus.objects.get(name="statement")
        return status.rebuild_started_at not in (None, before) and not status.rebuilding

    wait_until(rebuilt, timeout=30, message="the rebuild to finish")
    assert all(not diff for diff in differences().values())
    assert client.post(f"{URL}statement/delete/").status_code == 403
