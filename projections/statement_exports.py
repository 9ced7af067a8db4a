"""An account's statement for a period as a file to take away: CSV for a spreadsheet, PDF to print
or send. Both hold the same figures as the account page's statement for that period
(projections/statements.py): the opening balance, every line oldest first with the balance after
it, the money in and out and the closing balance, which equals the opening balance plus the lines
and the as-of balance at the period's end.

CSV cells hold plain numbers (12345.50, no grouping, the sign first) and ISO 8601 moments with their
offset, so a spreadsheet reads them as numbers and times; a text cell that a spreadsheet would take
for a formula (it starts with = + - @) is prefixed with an apostrophe. The PDF is drawn by reportlab
with the Bitstream Vera fonts it ships: Latin and Latin-1 letters print, others show as boxes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.utils import timezone

from ledger.domain.account_number import grouped
from ledger.domain.money import format_money, to_decimal
from ledger.moments import format_moment
from projections.models import AccountSummary, StatementLine
from projections.statements import Period, Totals, lines_in, totals_for_period
from projections.templatetags.money import KIND_LABELS

LINES_PER_QUERY = 2_000  # read in keyset batches: a long statement never sits in memory whole


@dataclass(frozen=True)
class Line:
    recorded_at: datetime  # in the configured zone: the CSV writes it as ISO 8601, the PDF as every screen does
    description: str
    counterparty: str  # "TL.. Name", or ""
    memo: str
    actor: str
    amount: int
    balance_after: int
    position: int


@dataclass(frozen=True)
class StatementExport:
    account: AccountSummary
    period: Period
    totals: Totals
    generated_at: str

    @property
    def currency(self) -> str:
        return self.account.currency

    @property
    def number(self) -> str:
        return grouped(self.account.number) if self.account.number else str(self.account.account_id)

    def period_words(self) -> str:
        start = self.period.start.isoformat() if self.period.start else "the first line"
        end = self.period.end.isoformat() if self.period.end else "today"
        return f"{start} to {end}"

    def filename(self, extension: str) -> str:
        number = (self.account.number or str(self.account.account_id)).replace(" ", "")
        edges = "-".join(d.isoformat() if d else "all" for d in (self.period.start, self.period.end))
        return f"statement-{number}-{edges}.{extension}"

    def lines(self) -> Iterator[Line]:
        """Every line of the period, oldest first, read a batch at a time."""
        zone = timezone.get_default_timezone()
        after = 0
        while True:
            batch = list(
                lines_in(self.account.account_id, self.period)
                .filter(version__gt=after)
                .order_by("version")[:LINES_PER_QUERY]
            )
            if not batch:
                return
            parties = _parties(batch)
            for line in batch:
                yield Line(
                    recorded_at=timezone.localtime(line.recorded_at, zone),
                    description=KIND_LABELS.get(line.kind, line.kind),
                    counterparty=parties.get(line.counterparty_id, "") if line.counterparty_id else "",
                    memo=line.memo,
                    actor=line.actor,
                    amount=line.amount,
                    balance_after=line.balance_after,
                    position=line.position,
                )
            after = batch[-1].version


def statement_export(account: AccountSummary, period: Period) -> StatementExport:
    return StatementExport(
        account=account,
        period=period,
        totals=totals_for_period(account.account_id, period),
        generated_at=format_moment(timezone.now()),
    )


def _parties(batch: list[StatementLine]) -> dict[UUID, str]:
    ids = {line.counterparty_id for line in batch if line.counterparty_id}
    rows = AccountSummary.objects.filter(account_id__in=ids).values_list("account_id", "number", "owner")
    return {
        account_id: " ".join(filter(None, (grouped(number) if number else "", owner)))
        for account_id, number, owner in rows
    }


# --- CSV -------------------------------------------------------------------------------------------

CSV_HEADERS = (
    "Recorded at",
    "Description",
    "Counterparty",
    "Memo",
    "Actor",
    "Amount",
    "Balance after",
    "Event position",
)


def _cell(text: str) -> str:
    """Text as a spreadsheet shows it, never as a formula it would run."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_rows(export: StatementExport) -> Iterator[str]:
    """The CSV file, a row at a time (for a streamed response)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def row(*cells: object) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    def amount(minor: int) -> str:
        return str(to_decimal(minor, export.currency))

    yield row("Statement of account", export.number)
    yield row("Owner", _cell(export.account.owner))
    yield row("Currency", export.currency)
    yield row("Period from", export.period.start.isoformat() if export.period.start else "")
    yield row("Period to", export.period.end.isoformat() if export.period.end else "")
    yield row("Opening balance", amount(export.totals.opening))
    yield row()
    yield row(*CSV_HEADERS)
    for line in export.lines():
        yield row(
            line.recorded_at.isoformat(),
            line.description,
            _cell(line.counterparty),
            _cell(line.memo),
            _cell(line.actor),
            amount(line.amount),
            amount(line.balance_after),
            line.position,
        )
    yield row()
    yield row("Money in", amount(export.totals.money_in))
    yield row("Money out", amount(export.totals.money_out))
    yield row("Closing balance", amount(export.totals.closing))
    yield row("Generated at", export.generated_at)


# --- PDF -------------------------------------------------------------------------------------------


def _register_fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "Vera" not in pdfmetrics.getRegisteredFontNames():  # found on reportlab's own font path
        pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
        pdfmetrics.registerFont(TTFont("VeraBd", "VeraBd.ttf"))
    return "Vera", "VeraBd"


def pdf_bytes(export: StatementExport) -> bytes:
    """The statement as a PDF: a heading with the account and the period, the balances, the lines
    in a table whose header repeats on every page, and page numbers. (reportlab is imported here:
    the web and Celery processes that never draw a PDF do not load it.)"""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import BaseDocTemplate, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    regular, bold = _register_fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=8, leading=10)
    heading = ParagraphStyle("heading", fontName=bold, fontSize=14, leading=18, spaceAfter=4)

    def money(minor: int) -> str:
        return format_money(minor, export.currency)

    def cell(text: str) -> Paragraph:  # wraps long names and memos inside their column
        return Paragraph(_escape(text), body)

    summary = Table(
        [
            ["Account", export.number, "Opening balance", money(export.totals.opening)],
            ["Owner", cell(export.account.owner), "Money in", money(export.totals.money_in)],
            ["Period", export.period_words(), "Money out", money(export.totals.money_out)],
            ["Currency", export.currency, "Closing balance", money(export.totals.closing)],
        ],
        colWidths=[25 * mm, 95 * mm, 35 * mm, 50 * mm],
        hAlign="LEFT",
    )
    summary.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), regular, 9),
                ("FONT", (0, 0), (0, -1), bold, 9),
                ("FONT", (2, 0), (2, -1), bold, 9),
                ("ALIGN", (3, 0), (3, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    rows: list[list[object]] = [["Recorded at", "Description", "Memo", "Actor", "Amount", "Balance after"]]
    for line in export.lines():
        described = f"{line.description} {line.counterparty}".strip()
        rows.append(
            [
                format_moment(line.recorded_at),
                cell(described),
                cell(line.memo),
                cell(line.actor),
                money(line.amount),
                money(line.balance_after),
            ]
        )
    if len(rows) == 1:
        rows.append(["", "No movements in this period.", "", "", "", ""])
    table = Table(rows, repeatRows=1, colWidths=[45 * mm, 75 * mm, 55 * mm, 25 * mm, 40 * mm, 40 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), regular, 8),
                ("FONT", (0, 0), (-1, 0), bold, 8),
                ("LINEBELOW", (0, 0), (-1, 0), 0.75, colors.black),
                ("ALIGN", (4, 0), (5, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f4f7")]),
            ]
        )
    )

    def footer(canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(regular, 7)
        canvas.drawString(15 * mm, 8 * mm, f"Tally · statement of {export.number} · generated {export.generated_at}")
        canvas.drawRightString(landscape(A4)[0] - 15 * mm, 8 * mm, f"Page {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Statement {export.number} {export.period_words()}",
        author="Tally",
    )
    document.build(
        [Paragraph("Statement of account", heading), summary, Spacer(1, 6 * mm), table],
        onFirstPage=footer,
        onLaterPages=footer,
    )
    return out.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
