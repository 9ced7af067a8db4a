"""Projections in the admin: status for auditors, a Celery-driven rebuild for operators."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from ledger.roles import Role
from ledger.store.sql import fetch
from projections import runner
from projections.projectors import get_projectors
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
    assert "up to date" in body
    for action in ("rebuild_selected", "roll_back_selected", "retry_selected"):
        assert action not in body
        refused = auditor.post(URL, {"action": action, "_selected_action": ["statement"]}, follow=True)
        assert refused.status_code in (200, 403)
        assert "sent to the workers" not in refused.content.decode()
    assert auditor.get(f"{URL}statement/skip/").status_code == 403
    assert auditor.post(f"{URL}statement/skip/", {"reason": "because"}).status_code == 403


def test_a_teller_cannot_see_the_projection_admin(committed):
    teller = client_of(make_user("admin-teller", Role.TELLER))

    assert teller.get(URL).status_code == 403


def live_table_oids() -> dict[str, int]:
    return {p.name: fetch("SELECT to_regclass(%s)::oid", [f"public.{p.tables[0]}"])[0][0] for p in get_projectors()}


def test_an_operator_rebuilds_through_celery_and_sees_it_finish(committed, celery_stack):
    some_activity()
    runner.catch_up()
    operator, _ = User.objects.get_or_create(username="admin-operator", defaults={"is_superuser": True})
    client = client_of(operator)
    before = live_table_oids()

    response = client.post(
        URL, {"action": "rebuild_selected", "_selected_action": ["account_summary", "statement"]}, follow=True
    )

    assert "sent to the workers" in response.content.decode()

    def swapped() -> bool:  # blue/green: new tables took the live ones' place
        now = live_table_oids()
        return now["statement"] != before["statement"] and now["account_summary"] != before["account_summary"]

    wait_until(swapped, timeout=60, message="the rebuild to be swapped in")
    assert live_table_oids()["daily_activity"] == before["daily_activity"]  # not selected, not rebuilt
    assert all(not diff for diff in differences().values())
    page = client.get(URL).content.decode()
    assert "previous tables kept" in page
    assert client.post(f"{URL}statement/delete/").status_code == 403
