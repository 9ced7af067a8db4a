"""The long tables of the screens, the statement and the accounts list: each table's header and
its rows in one place (a column is added here, once), one `<tr>` per row built in one pass.

A Django template pays for every variable lookup, filter and `{% url %}` on every row: on a page of
25 lines that was most of the account page's rendering time. These are the same rows built with
f-strings, every value escaped with the standard library's html.escape (what Django's escape
wraps), every link reversed once per page.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from ledger.domain.money import format_money
from projections.models import AccountSummary, StatementLine
from projections.templatetags.money import kind_label, moment, signed_money

# Reversed once per page with this in place of the account number; each row's link is a replace().
_ACCOUNT = "00000000-0000-0000-0000-000000000000"


def _account_url() -> str:
    return reverse("account", args=[_ACCOUNT])


def _table(headers: tuple[str, ...], rows: list[str]) -> SafeString:
    """`headers` are the <th> cells' inner parts; a leading "num:" right-aligns a column of figures."""
    head = "".join(f'<th class="num">{h[4:]}</th>' if h.startswith("num:") else f"<th>{h}</th>" for h in headers)
    body = "\n".join(rows)
    return mark_safe(f'<table class="table">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>')  # noqa: S308 - every value in it is escaped


STATEMENT_HEADERS = ("Date", "Description", "By", "num:Amount", "num:Balance")


def statement_table(lines: Iterable[StatementLine]) -> SafeString:
    url = _account_url()
    rows = []
    for line in lines:
        description = escape(kind_label(line.kind))
        if line.counterparty_id:
            name = escape(line.counterparty_owner or "another account")
            description += f' <a href="{url.replace(_ACCOUNT, str(line.counterparty_id))}">{name}</a>'
        if line.memo:
            description += f' <span class="muted">· {escape(line.memo)}</span>'
        sign = "negative" if line.amount < 0 else "positive"
        rows.append(
            f'<tr><td class="nowrap">{moment(line.recorded_at)}</td><td>{description}</td>'
            f'<td class="muted">{escape(line.actor)}</td>'
            f'<td class="num {sign}">{escape(signed_money(line.amount, line.currency))}</td>'
            f'<td class="num">{escape(format_money(line.balance_after, line.currency))}</td></tr>'
        )
    return _table(STATEMENT_HEADERS, rows)


ACCOUNT_HEADERS = ("Owner", "Account number", "Status", "num:Balance", "Last activity")


def accounts_table(accounts: Iterable[AccountSummary]) -> SafeString:
    url = _account_url()
    rows = []
    for a in accounts:
        number = str(a.account_id)
        negative = " negative" if a.balance < 0 else ""
        status = escape(a.status)
        rows.append(
            f'<tr><td><a href="{url.replace(_ACCOUNT, number)}">{escape(a.owner)}</a></td>'
            f'<td class="mono small">{number}</td>'
            f'<td><span class="badge status-{status}">{status}</span></td>'
            f'<td class="num{negative}" data-testid="row-balance">{escape(format_money(a.balance, a.currency))}</td>'
            f'<td class="nowrap muted">{moment(a.last_activity_at)}</td></tr>'
        )
    return _table(ACCOUNT_HEADERS, rows)
