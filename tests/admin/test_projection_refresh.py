"""The projection status page refreshes its figures in place: it polls itself with HTMX, and a poll is
answered with each row's changing cells alone, to be swapped in by id, so the rows and their check
boxes stay as they are (the browser test shows the selection kept: tests/browser/test_event_browser.py)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client

from ledger.roles import Role
from projections import runner
from projections.admin import ProjectionStatusAdmin
from projections.models import ProjectionStatus
from projections.queries import projection_lag
from tests.projections.helpers import some_activity
from tests.screens.helpers import make_user

URL = "/admin/projections/projectionstatus/"
POLL = {"HX-Request": "true"}
LIVE = ("state", "checkpoint", "behind", "built_by", "rebuild", "applied", "updated")


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def cells(html: str) -> dict[tuple[str, str], str]:
    found = re.findall(
        r'<span id="live-(\w+?)-(state|checkpoint|behind|built_by|rebuild|applied|updated)"'
        r' hx-swap-oob="true">(.*?)</span>(?=<span id="live-|</td>|$)',
        html,
        flags=re.S,
    )
    return {(name, column): content for name, column, content in found}


def test_the_page_polls_itself_and_every_changing_cell_has_an_id_of_its_own(committed):
    runner.catch_up()
    page = client_of(make_user("refresh-auditor", Role.AUDITOR)).get(URL).content.decode()

    assert 'hx-get="/admin/projections/projectionstatus/"' in page and 'hx-swap="none"' in page
    assert "every 3s [!document.hidden &amp;&amp; !document.querySelector(" in page
    assert "input.action-select:checked" in page
    names = set(ProjectionStatus.objects.values_list("name", flat=True))
    assert {name for name, _ in cells(page)} == names
    assert {column for _, column in cells(page)} == set(LIVE)


def test_a_poll_is_answered_with_the_live_cells_alone_and_shows_new_figures(committed):
    runner.catch_up()
    operator, _ = User.objects.get_or_create(username="refresh-operator", defaults={"is_superuser": True})
    client = client_of(operator)
    before = cells(client.get(URL, headers=POLL).content.decode())

    some_activity()
    runner.catch_up()
    answer = client.get(URL, headers=POLL)
    after = cells(answer.content.decode())

    body = answer.content.decode()
    assert answer.status_code == 200 and "<html" not in body and "action-select" not in body
    assert body.count("hx-swap-oob") == len(LIVE) * ProjectionStatus.objects.count()
    applied_before = int(before[("statement", "applied")].replace(",", ""))
    assert int(after[("statement", "applied")].replace(",", "")) > applied_before
    assert after[("statement", "state")] == "up to date"


def test_a_poll_is_refused_to_whoever_may_not_see_the_page(committed):
    teller = client_of(make_user("refresh-teller", Role.TELLER))

    assert teller.get(URL, headers=POLL).status_code == 403
    assert Client().get(URL, headers=POLL).status_code == 302  # to the log-in page


@pytest.mark.parametrize(("behind", "shown"), [(1, "≈1 event, 0.4 s"), (2_000, "≈2,000 events, 0.4 s")])
def test_how_far_behind_a_projection_is_counts_its_events_in_words(committed, behind, shown):
    runner.catch_up()
    status = ProjectionStatus.objects.get(name="statement")
    (lag,) = [lag for lag in projection_lag() if lag.name == "statement"]
    status.lag = replace(lag, events_behind=behind, seconds_behind=0.4)  # type: ignore[attr-defined]
    model_admin = admin.site._registry[ProjectionStatus]
    assert isinstance(model_admin, ProjectionStatusAdmin)

    cell = model_admin.behind(status)

    assert cell == f'<span id="live-statement-behind" hx-swap-oob="true">{shown}</span>'
