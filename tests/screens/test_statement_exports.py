"""Statements to take away (issue 17): CSV and PDF for an account and a period, whose opening balance
plus every line is the closing balance, and both are the as-of balances at the period's edges."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from ledger.domain.commands import Command, Deposit, OpenAccount, Transfer, Withdraw
from ledger.execute import execute
from ledger.roles import Role
from projections import runner
from projections.statements import Period
from tests.screens.test_statement_and_status_history import as_of
from tests.write.helpers import event_count

pytestmark = pytest.mark.usefixtures("committed")

FIRST = datetime(2025, 1, 1, 9, tzinfo=UTC)
DAYS = 40


@pytest.fixture(scope="module")
def history(django_db_setup, django_db_blocker):
    """An account with a movement every day for forty days (a transfer from a counterparty every
    fifth day, with a memo a spreadsheet would run as a formula), and its counterparty."""
    with django_db_blocker.unblock():
        account, other = uuid4(), uuid4()
        execute(OpenAccount(account_id=account, owner="Erin Export", currency="EUR"), actor="t", recorded_at=FIRST)
        execute(OpenAccount(account_id=other, owner="Olu Other", currency="EUR"), actor="t", recorded_at=FIRST)
        execute(Deposit(account_id=other, amount=10**9, currency="EUR"), actor="t", recorded_at=FIRST)
        for day in range(DAYS):
            at = FIRST + timedelta(days=day, hours=1)
            command: Command
            if day % 5 == 4:
                command = Transfer(
                    account_id=other, to_account_id=account, amount=12_345, currency="EUR", memo="=HYPERLINK(1)"
                )
            elif day % 2:
                command = Withdraw(account_id=account, amount=250 * day, currency="EUR")
            else:
                command = Deposit(account_id=account, amount=1_000 + day, currency="EUR")
            execute(command, actor="teller", recorded_at=at)
        runner.catch_up()
    return account


@pytest.fixture
def auditor(committed, client_for):
    return client_for(Role.AUDITOR)


def minor(text: str) -> int:
    return int(Decimal(text) * 100)


def read_csv(body: bytes) -> tuple[dict[str, str], list[dict[str, str]], dict[str, str]]:
    """The file's head (key, value), its lines and its totals."""
    rows = list(csv.reader(io.StringIO(body.decode())))
    header_at = rows.index(["Recorded at", "Description", "Counterparty", "Memo", "Actor", "Amount",
                            "Balance after", "Event position"])  # fmt: skip
    head = {row[0]: row[1] for row in rows[:header_at] if row}
    end = rows.index([], header_at)
    lines = [dict(zip(rows[header_at], row, strict=True)) for row in rows[header_at + 1 : end]]
    totals = {row[0]: row[1] for row in rows[end + 1 :] if row}
    return head, lines, totals


def download(client, account, kind: str, start: date | None, end: date | None):
    params = {"from": start.isoformat() if start else "", "to": end.isoformat() if end else ""}
    return client.get(f"/accounts/{account}/statement.{kind}", params)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.one_of(st.none(), st.integers(-3, DAYS + 3)),
    length=st.one_of(st.none(), st.integers(0, DAYS + 3)),
)
def test_a_csv_statements_opening_plus_its_lines_is_its_closing_and_both_are_the_as_of_balances(
    auditor, history, start, length
):
    first = (FIRST + timedelta(days=start)).date() if start is not None else None
    last = (first or FIRST.date()) + timedelta(days=length) if length is not None else None

    response = download(auditor, history, "csv", first, last)

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"] and response["Cache-Control"] == "private, no-store"
    head, lines, totals = read_csv(b"".join(response.streaming_content))
    begins, ends = Period(first, last).bounds()
    opening, closing = minor(head["Opening balance"]), minor(totals["Closing balance"])
    assert opening == (as_of(history, begins) if begins else 0)
    assert closing == as_of(history, ends or datetime.now(UTC) + timedelta(days=1))
    assert opening + sum(minor(line["Amount"]) for line in lines) == closing
    balances = [minor(line["Balance after"]) for line in lines]
    assert all(
        a + minor(line["Amount"]) == b for (a, b), line in zip(itertools.pairwise(balances), lines[1:], strict=True)
    )
    moments = [datetime.fromisoformat(line["Recorded at"]) for line in lines]
    assert moments == sorted(moments) and all(
        (begins is None or m >= begins) and (ends is None or m < ends) for m in moments
    )
    assert minor(totals["Money in"]) + minor(totals["Money out"]) == closing - opening


def test_the_csv_names_the_account_and_the_counterparty_and_never_hands_a_formula_to_a_spreadsheet(auditor, history):
    response = download(auditor, history, "csv", date(2025, 1, 1), date(2025, 1, 10))

    head, lines, _ = read_csv(b"".join(response.streaming_content))
    assert head["Owner"] == "Erin Export" and head["Statement of account"].startswith("TL")
    transfers = [line for line in lines if line["Description"] == "Transfer from"]
    assert transfers and all(
        line["Memo"] == "'=HYPERLINK(1)" and "Olu Other" in line["Counterparty"] for line in transfers
    )
    assert response["Content-Disposition"].endswith('-2025-01-01-2025-01-10.csv"')


def test_the_pdf_holds_the_same_balances_and_every_line(auditor, history):
    start, end = date(2025, 1, 6), date(2025, 1, 25)
    csv_head, csv_lines, csv_totals = read_csv(
        b"".join(download(auditor, history, "csv", start, end).streaming_content)
    )

    response = download(auditor, history, "pdf", start, end)

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Statement of account" in text and "Erin Export" in text and csv_head["Statement of account"] in text
    opening = f"{Decimal(csv_head['Opening balance']):,.2f} EUR"
    closing = f"{Decimal(csv_totals['Closing balance']):,.2f} EUR"
    assert opening in text and closing in text
    for line in csv_lines:  # each line's balance after it, in the order of the CSV
        assert f"{Decimal(line['Balance after']):,.2f} EUR" in text
    assert text.count("=HYPERLINK(1)") == sum(line["Description"] == "Transfer from" for line in csv_lines)


def test_a_long_statement_runs_over_pages_with_its_header_on_each(auditor, history):
    response = download(auditor, history, "pdf", None, None)

    pages = PdfReader(io.BytesIO(response.content)).pages
    assert len(pages) >= 2
    assert all(
        "Balance after" in page.extract_text() and f"Page {n}" in page.extract_text() for n, page in enumerate(pages, 1)
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.text(max_size=12), end=st.text(max_size=12), kind=st.sampled_from(["csv", "pdf"]))
def test_any_period_text_gets_an_answer_never_a_500(auditor, history, start, end, kind):
    before = event_count()

    response = auditor.get(f"/accounts/{history}/statement.{kind}", {"from": start, "to": end})

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert "date" in response.content.decode() or "swap" in response.content.decode()
    assert event_count() == before


def test_an_unknown_account_is_a_404_and_a_stranger_is_sent_to_log_in(auditor, client, history):
    assert auditor.get(f"/accounts/{uuid4()}/statement.csv").status_code == 404
    response = client.get(f"/accounts/{history}/statement.pdf")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_account_page_offers_the_period_it_shows_as_downloads(auditor, history):
    page = auditor.get(f"/accounts/{history}/", {"from": "2025-01-06", "to": "2025-01-25"}).content.decode()

    assert f"/accounts/{history}/statement.csv?from=2025-01-06&amp;to=2025-01-25" in page
    assert f"/accounts/{history}/statement.pdf?from=2025-01-06&amp;to=2025-01-25" in page
