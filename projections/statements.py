"""An account's statement for a period: its lines between two days (of the configured time zone),
the balance before the first and after the last, and the money in and out between them.

The opening balance is the balance after the last line before the period and the closing balance
the one after its last line, so they equal the account's balance as of the period's two edges (the
as-of history folds the same events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from projections.models import AccountSummary, StatementLine

PER_PAGE = 25


@dataclass(frozen=True)
class Period:
    start: date | None  # the first day in it (None: from the account's first line)
    end: date | None  # the last day in it (None: up to now)

    @property
    def whole(self) -> bool:
        return self.start is None and self.end is None

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[from, until): the moments the period begins and ends, in the configured zone."""
        zone = timezone.get_default_timezone()

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time.min, tzinfo=zone)

        return (
            midnight(self.start) if self.start else None,
            midnight(self.end + timedelta(days=1)) if self.end else None,
        )


@dataclass(frozen=True)
class PeriodStatement:
    period: Period
    currency: str
    opening: int  # minor units: the balance when the period begins
    closing: int  # and when it ends
    money_in: int
    money_out: int  # negative or zero
    lines: Page  # newest first


# Days a period may name: a statement covers real business days, and beyond these the moments at
# its edges would not exist (31 December 9999 has no next midnight).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2199, 12, 31)
PERIOD_MESSAGE = "Enter each day as a date, for example 2026-12-01."


def period_from(start: str, end: str) -> tuple[Period, str]:
    """The period two texts name (the statement form's "from" and "to"), and what is wrong with
    them in words ("" when nothing is): a period that cannot be read is the whole statement."""
    days: list[date | None] = []
    for text in (start.strip(), end.strip()):
        if not text:
            days.append(None)
            continue
        try:
            day = date.fromisoformat(text) if text.isascii() else None
        except ValueError:
            day = None
        if day is None or not FIRST_DAY <= day <= LAST_DAY:
            return Period(None, None), PERIOD_MESSAGE
        days.append(day)
    first, last = days
    if first and last and first > last:
        return Period(None, None), "The period ends before it begins: swap the two days."
    return Period(first, last), ""


@dataclass(frozen=True)
class Totals:
    opening: int
    closing: int
    money_in: int
    money_out: int


def lines_in(account_id: UUID, period: Period) -> QuerySet[StatementLine]:
    """The account's statement lines recorded within the period."""
    begins, ends = period.bounds()
    within = StatementLine.objects.filter(account_id=account_id)
    if begins is not None:
        within = within.filter(recorded_at__gte=begins)
    if ends is not None:
        within = within.filter(recorded_at__lt=ends)
    return within


def totals_for_period(account_id: UUID, period: Period) -> Totals:
    begins, ends = period.bounds()
    lines = StatementLine.objects.filter(account_id=account_id)
    sums = lines_in(account_id, period).aggregate(
        money_in=Sum("amount", filter=Q(amount__gt=0)), money_out=Sum("amount", filter=Q(amount__lt=0))
    )
    return Totals(
        opening=0 if begins is None else _balance_before(lines, begins),  # from the first line: nothing before
        closing=_balance_before(lines, ends),
        money_in=sums["money_in"] or 0,
        money_out=sums["money_out"] or 0,
    )


def statement_for_period(*, account_id: UUID, currency: str, period: Period, page: int | str = 1) -> PeriodStatement:
    totals = totals_for_period(account_id, period)
    return PeriodStatement(
        period=period,
        currency=currency,
        opening=totals.opening,
        closing=totals.closing,
        money_in=totals.money_in,
        money_out=totals.money_out,
        lines=_shown(Paginator(lines_in(account_id, period).order_by("-version"), PER_PAGE).get_page(page), account_id),
    )


def _shown(page: Page, account_id: UUID) -> Page:
    """The page's lines with what the statement table shows beside each (as statement_page's one
    query gives them): the counterparty's name and number, and the line that reversed it."""
    lines = list(page.object_list)
    parties = {
        row[0]: row[1:]
        for row in AccountSummary.objects.filter(account_id__in={x.counterparty_id for x in lines}).values_list(
            "account_id", "owner", "number"
        )
    }
    reversed_by = dict(
        StatementLine.objects.filter(
            account_id=account_id, reverses_version__in=[x.version for x in lines]
        ).values_list("reverses_version", "version")
    )
    for line in lines:
        line.counterparty_owner, line.counterparty_number = parties.get(line.counterparty_id, (None, None))
        line.reversed_by_version = reversed_by.get(line.version)
        line.lines_total = page.paginator.count
    page.object_list = lines
    return page


def _balance_before(lines: QuerySet[StatementLine], moment: datetime | None) -> int:
    """The balance after the last line recorded before `moment` (None: the last line of all)."""
    before = lines if moment is None else lines.filter(recorded_at__lt=moment)
    last = before.order_by("-version").values_list("balance_after", flat=True).first()
    return last or 0
