"""The long tables of the screens, the statement, the accounts list and an account's history: each table's header and
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
from ledger.history import Step
from projections.models import AccountSummary, StatementLine
from projections.templatetags.account_numbers import account_number
from projections.templatetags.money import kind_label, moment, signed_money

# Reversed once per page with this in place of the account's id; each row's link is a replace().
_ACCOUNT = "00000000-0000-0000-0000-000000000000"


def _account_url() -> str:
    return reverse("account", args=[_ACCOUNT])


def _table(headers: tuple[str, ...], rows: list[str]) -> SafeString:
    """`headers` are the <th> cells' inner parts; a leading "num:" right-aligns a column of figures."""
    head = "".join(f'<th class="num">{h[4:]}</th>' if h.startswith("num:") else f"<th>{h}</th>" for h in headers)
    body = "\n".join(rows)
    return mark_safe(f'<table class="table">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>')  # noqa: S308 - every value in it is escaped


STATEMENT_HEADERS = ("Date", "Description", "By", "num:Amount", "num:Balance")


def _reversal_links(line: StatementLine, on_page: set[int], history_url: str, reverse_url: str | None) -> str:
    """A reversal names the line it reverses, a reversed line the one that reversed it (on this page
    an anchor, else the account's history right after it); a line still reversible offers "Reverse"."""

    def to(version: int) -> str:
        return f"#line-{version}" if version in on_page else f"{history_url}?version={version}"

    reverses, reversed_by = line.reverses_version, getattr(line, "reversed_by_version", None)
    if reverses is not None:
        return f'<a class="muted" href="{to(reverses)}" data-testid="reverses">of line #{reverses}</a>'
    if reversed_by is not None:
        return f'<a class="badge" href="{to(reversed_by)}" data-testid="reversed-by">reversed by #{reversed_by}</a>'
    if reverse_url is None:
        return ""
    href = reverse_url.replace(str(_POSITION), str(line.position))
    return f'<a class="button secondary reverse-link" href="{href}" data-testid="reverse">Reverse</a>'


_POSITION = 987654321987  # reversed once per page in place of a line's position


def reverse_url_for(account_id: object) -> str:
    return reverse("reverse_movement", args=[account_id, _POSITION])


def statement_table(lines: Iterable[StatementLine], *, reverse_url: str | None = None) -> SafeString:
    """`reverse_url` (from reverse_url_for) when the reader may reverse the account's movements."""
    url = _account_url()
    lines = list(lines)
    on_page = {line.version for line in lines}
    history_url = reverse("account_as_of", args=[lines[0].account_id]) if lines else ""
    rows = []
    for line in lines:
        description = escape(kind_label(line.kind))
        if line.counterparty_id:
            name = escape(line.counterparty_owner or "another account")
            description += f' <a href="{url.replace(_ACCOUNT, str(line.counterparty_id))}">{name}</a>'
            if number := escape(account_number(getattr(line, "counterparty_number", None))):
                description += f' <span class="mono nowrap muted" data-testid="counterparty-number">{number}</span>'
        if line.memo:
            description += f' <span class="muted">· {escape(line.memo)}</span>'
        if links := _reversal_links(line, on_page, history_url, reverse_url):
            description += f' <span class="reversal-links">{links}</span>'
        sign = "negative" if line.amount < 0 else "positive"
        rows.append(
            f'<tr id="line-{line.version}"><td class="nowrap">{moment(line.recorded_at)}</td><td>{description}</td>'
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
        negative = " negative" if a.balance < 0 else ""
        status = escape(a.status)
        rows.append(
            f'<tr><td><a href="{url.replace(_ACCOUNT, str(a.account_id))}">{escape(a.owner)}</a></td>'
            f'<td class="mono nowrap" data-testid="row-number">{escape(account_number(a.number))}</td>'
            f'<td><span class="badge status-{status}">{status}</span></td>'
            f'<td class="num{negative}" data-testid="row-balance">{escape(format_money(a.balance, a.currency))}</td>'
            f'<td class="nowrap muted">{moment(a.last_activity_at)}</td></tr>'
        )
    return _table(ACCOUNT_HEADERS, rows)


HISTORY_HEADERS = ("#", "Recorded", "Event", "By", "num:Balance after", "Status after")


def history_table(steps: Iterable[Step], *, account_id: object) -> SafeString:
    """The as-of page's timeline: each event with the account's balance and status right after it,
    and the links between a movement and its reversal. Every step has a state: the page shows the
    timeline only when the fold reached its end."""
    history_url = reverse("account_as_of", args=[account_id])
    rows = []
    for step in steps:
        event, state = step.event, step.state
        currency = state.currency if state else ""
        what = escape(event.type)
        if amount := event.data.get("amount"):
            what += f" <strong>{escape(format_money(amount, currency))}</strong>"
        for said in (event.data.get("memo"), event.data.get("reason")):
            if said:
                what += f' <span class="muted">· {escape(str(said))}</span>'
        if (reverses := step.reverses) is not None:
            version = escape(str(reverses))
            what += f' <a href="{history_url}?version={version}" data-testid="history-reverses">reverses #{version}</a>'
        if step.reversed_by is not None:
            what += (
                f' <a class="badge" href="{history_url}?version={step.reversed_by}" '
                f'data-testid="history-reversed-by">reversed by #{step.reversed_by}</a>'
            )
        status = escape(state.status) if state else ""
        rows.append(
            f'<tr><td class="mono">{event.version}</td><td class="nowrap">{moment(event.recorded_at)}</td>'
            f'<td>{what}</td><td class="muted">{escape(str(event.metadata.get("actor", "")))}</td>'
            f'<td class="num">{escape(format_money(state.balance, currency)) if state else ""}</td>'
            f'<td><span class="badge status-{status}">{status}</span></td></tr>'
        )
    return _table(HISTORY_HEADERS, rows)


def version_options(steps: Iterable[Step], *, selected: int | None) -> SafeString:
    """The <option>s of the as-of page's "after event" choice, the newest first as `steps` come."""
    options = []
    for step in steps:
        event = step.event
        chosen = " selected" if event.version == selected else ""
        options.append(
            f'<option value="{event.version}"{chosen}>#{event.version} {escape(event.type)} · '
            f"{moment(event.recorded_at)}</option>"
        )
    return mark_safe("".join(options))  # noqa: S308 - every value in it is escaped
