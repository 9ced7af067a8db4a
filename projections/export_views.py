"""Statement downloads from the account page: CSV (streamed, a row at a time) and PDF, for the
period the page shows (`?from=&to=`, the statement form's fields; none: the whole statement)."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from projections import queries, statement_exports, statements


def _export(request: HttpRequest, account_id: UUID) -> statement_exports.StatementExport | HttpResponse:
    account = queries.account_summary_get(account_id=account_id)
    if account is None:
        raise Http404("There is no account with this number.")
    period, error = statements.period_from(request.GET.get("from", ""), request.GET.get("to", ""))
    if error:
        return HttpResponseBadRequest(error, content_type="text/plain; charset=utf-8")
    return statement_exports.statement_export(account, period)


def _attachment(response: HttpResponse | StreamingHttpResponse, filename: str) -> HttpResponse | StreamingHttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"  # a customer's statement stays out of shared caches
    return response


@require_GET
def statement_csv(request: HttpRequest, account_id: UUID) -> HttpResponse | StreamingHttpResponse:
    export = _export(request, account_id)
    if isinstance(export, HttpResponse):
        return export
    response = StreamingHttpResponse(statement_exports.csv_rows(export), content_type="text/csv; charset=utf-8")
    return _attachment(response, export.filename("csv"))


@require_GET
def statement_pdf(request: HttpRequest, account_id: UUID) -> HttpResponse | StreamingHttpResponse:
    export = _export(request, account_id)
    if isinstance(export, HttpResponse):
        return export
    return _attachment(
        HttpResponse(statement_exports.pdf_bytes(export), content_type="application/pdf"), export.filename("pdf")
    )
