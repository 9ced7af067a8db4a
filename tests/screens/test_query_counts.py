"""Guards against slow pages: every screen runs the same number of queries with three times the rows
(accounts, statement lines, events, days of activity), and none counts the whole event table.

Each page is rendered twice, once after building N rows and once after 3N; per-account pages look at
an account with N and one with 3N statement lines (transfers included, so counterparties show)."""

from __future__ import annotations

import re
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ledger.domain import commands as c
from ledger.execute import execute
from ledger.roles import Role
from projections import runner
from tests.screens.helpers import make_user
from tests.write.helpers import open_account

N = 30
TASKS = ("deposit", "withdraw", "transfer", "freeze", "unfreeze", "close")

# (name, url pattern, role, HTMX?) -- {a} is the account with N (then 3N) lines, {prefix} its owners' name
PAGES = [
    ("dashboard", "/", Role.SUPERVISOR, False),
    ("accounts list", "/accounts/", Role.SUPERVISOR, False),
    ("accounts list, live update", "/accounts/?sort=owner", Role.SUPERVISOR, True),
    ("accounts list, searched", "/accounts/?q={prefix}", Role.SUPERVISOR, False),
    ("accounts list, second page", "/accounts/?q={prefix}&page=2&sort=-balance", Role.SUPERVISOR, False),
    ("account page", "/accounts/{a}/", Role.SUPERVISOR, False),
    ("account page, statement page 2", "/accounts/{a}/?page=2", Role.SUPERVISOR, False),
    ("account page, statement refresh", "/accounts/{a}/", Role.SUPERVISOR, "statement"),
    ("account as of now", "/accounts/{a}/as-of/", Role.SUPERVISOR, False),
    ("account as of version 5", "/accounts/{a}/as-of/?version=5", Role.SUPERVISOR, False),
    ("transfer targets", "/accounts/{a}/transfer-targets/?q=", Role.SUPERVISOR, False),
    ("projection status", "/projections/", Role.SUPERVISOR, False),
    ("projection lag badge", "/projections/lag/", Role.SUPERVISOR, False),
    ("open account form", "/accounts/open/", Role.SUPERVISOR, False),
    *[(f"{task} form", f"/accounts/{{a}}/tasks/{task}/", Role.SUPERVISOR, False) for task in TASKS],
    ("admin event list", "admin:ledger_event_changelist", Role.AUDITOR, False),
    ("admin events of one stream", "admin:ledger_event_changelist?stream={a}", Role.AUDITOR, False),
    ("admin stream view", "admin:ledger_event_stream|{a}", Role.AUDITOR, False),
]

# A COUNT over the event table with no LIMIT inside it: the full count the design forbids. (The event
# browser's paginator counts at most 10,001 rows, `SELECT COUNT(*) FROM (... LIMIT 10001)`: allowed.)
COUNTS_EVENTS = re.compile(r"\bCOUNT\s*\(.*\bFROM\s+\"?ledger_event\"?(?![\w])", re.IGNORECASE | re.DOTALL)


def unbounded_event_counts(queries: list[str]) -> list[str]:
    return [q for q in queries if COUNTS_EVENTS.search(q) and " LIMIT " not in q.upper()]


def url_for(pattern: str, account: UUID, prefix: str) -> str:
    if pattern.startswith("admin:"):
        name, _, query = pattern.partition("?")
        name, _, arg = name.partition("|")
        path = reverse(name, args=[arg.format(a=account)] if arg else [])
        return path + ("?" + query.format(a=account) if query else "")
    return pattern.format(a=account, prefix=prefix)


def build(prefix: str, accounts: int, lines: int, days: int) -> UUID:
    """`accounts` more accounts named `prefix`..., one of which gets `lines` statement lines (a third
    transfers out, a third transfers in, a third deposits), plus deposits spread over `days` days."""
    others = [open_account(owner=f"{prefix} {i:03d}", balance=50_000) for i in range(accounts - 1)]
    account = open_account(owner=f"{prefix} main", balance=1_000_000)
    for i in range(lines - 1):  # the opening deposit is the first line
        other = others[i % len(others)]
        if i % 3 == 0:
            execute(c.Transfer(account_id=account, to_account_id=other, amount=100 + i, currency="EUR"), actor="teller")
        elif i % 3 == 1:
            execute(c.Transfer(account_id=other, to_account_id=account, amount=50 + i, currency="EUR"), actor="teller")
        else:
            execute(c.Deposit(account_id=account, amount=10 + i, currency="EUR"), actor="teller")
    now = timezone.now()
    for day in range(days):
        execute(
            c.Deposit(account_id=others[0], amount=1_000, currency="EUR"),
            actor="teller",
            recorded_at=now - timedelta(days=day, minutes=5),
        )
    runner.catch_up()
    return account


def measure(clients: dict[Role, Client], account: UUID, prefix: str) -> dict[str, tuple[int, int, list[str]]]:
    measured = {}
    for name, pattern, role, htmx in PAGES:
        url = url_for(pattern, account, prefix)
        headers = {}
        if htmx:
            headers = {"HX-Request": "true", **({"HX-Target": htmx} if isinstance(htmx, str) else {})}
        clients[role].get(url, headers=headers)  # warm: per-process caches (content types, ...) filled
        with CaptureQueriesContext(connection) as captured:
            response = clients[role].get(url, headers=headers)
        measured[name] = (response.status_code, len(captured), [q["sql"] for q in captured.captured_queries])
    return measured


@pytest.fixture(scope="module")
def renders(django_db_setup, django_db_blocker):
    """The pages measured with N rows, then again with 3N."""
    with django_db_blocker.unblock():
        clients = {}
        for role in (Role.SUPERVISOR, Role.AUDITOR):
            clients[role] = Client()
            clients[role].force_login(make_user(f"querycount-{role.value}", role))
        prefix = f"QC{uuid4().hex[:6]}"
        small = build(prefix, accounts=N, lines=N, days=N // 3)
        first = measure(clients, small, prefix)
        large = build(prefix, accounts=2 * N, lines=3 * N, days=N)  # 3N accounts, 3N lines, 3x the days
        second = measure(clients, large, prefix)
    return first, second


@pytest.mark.parametrize("page", [name for name, *_ in PAGES])
def test_a_screen_runs_as_many_queries_with_three_times_the_rows_and_never_counts_all_events(renders, page, figures):
    (status_n, queries_n, sql_n), (status_3n, queries_3n, sql_3n) = renders[0][page], renders[1][page]
    figures.setdefault("query_counts", {})[page] = [queries_n, queries_3n]

    assert status_n == status_3n == 200
    assert queries_3n == queries_n, "\n".join(sql_3n)
    assert unbounded_event_counts(sql_n + sql_3n) == []


def test_the_event_count_guard_catches_a_full_count_and_lets_a_capped_one_pass():
    assert unbounded_event_counts(['SELECT COUNT(*) AS "__count" FROM "ledger_event"'])
    assert unbounded_event_counts(["SELECT count(*) FROM ledger_event WHERE stream_id = '1'"])
    assert not unbounded_event_counts(['SELECT COUNT(*) FROM (SELECT 1 FROM "ledger_event" LIMIT 10001) subquery'])
    assert not unbounded_event_counts(["SELECT max(position) FROM ledger_event"])
