"""CSV exports of the Write-offs and Disputes tables, as filtered on screen.

The views pass the same queryset the table shows (same filters, same order), so
an export never disagrees with the page. Rows are written as they are read from
the database, so a large account streams instead of building the file in memory.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable, Iterator, Sequence

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from writeoffs.models import DisputeHold, WriteOff

WRITEOFF_HEADER = [
    "Number",
    "Invoice No.",
    "Write-off date",
    "Amount",
    "Currency",
    "Reason code",
    "Reason",
    "Revenue impacting",
    "Accounting code",
    "Comments",
    "Created by",
    "Created at",
    "Source",
    "Origin dispute",
    "Status",
    "Reversed by",
    "Reversed at",
    "Reversal reason",
    "Recovered",
    "Requested by",
    "Approved by",
]

DISPUTE_HEADER = [
    "Number",
    "Invoice No.",
    "Created at",
    "Amount",
    "Currency",
    "Expires on",
    "Status",
    "Comments",
    "Created by",
    "Source",
    "Settled by",
    "Settled at",
    "Settlement comments",
]

# A spreadsheet runs a cell that starts with one of these as a formula
# ("CSV injection"); free text written by users or API callers must not.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Enough rows per database round trip to keep memory flat on a big account.
_CHUNK_SIZE = 2000


def safe_text(value: str) -> str:
    """Free text as a spreadsheet shows it literally."""
    if value and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def _iso(value: datetime.date | datetime.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def writeoff_rows(writeoffs: QuerySet[WriteOff]) -> Iterator[list[str]]:
    rows = writeoffs.select_related("invoice", "accounting_code").iterator(chunk_size=_CHUNK_SIZE)
    for writeoff in rows:
        code = writeoff.accounting_code
        yield [
            str(writeoff.number),
            str(writeoff.invoice.invoice_no),
            _iso(writeoff.writeoff_date),
            str(writeoff.amount),
            writeoff.invoice.currency,
            str(writeoff.reason_code),
            writeoff.get_reason_code_display(),
            "yes" if writeoff.revenue_impacting else "no",
            code.code if code else "",
            safe_text(writeoff.comments),
            safe_text(writeoff.created_by_label),
            _iso(writeoff.created_at),
            writeoff.source,
            str(writeoff.origin_dispute_id or ""),
            writeoff.status,
            safe_text(writeoff.reversed_by_label),
            _iso(writeoff.reversed_at),
            safe_text(writeoff.reversal_reason),
            str(writeoff.recovered),
            safe_text(writeoff.requested_by_label),
            safe_text(writeoff.approved_by_label),
        ]


def dispute_rows(disputes: QuerySet[DisputeHold]) -> Iterator[list[str]]:
    for hold in disputes.select_related("invoice").iterator(chunk_size=_CHUNK_SIZE):
        yield [
            str(hold.number),
            str(hold.invoice.invoice_no),
            _iso(hold.created_at),
            str(hold.amount),
            hold.invoice.currency,
            _iso(hold.expires_on),
            hold.status,
            safe_text(hold.comments),
            safe_text(hold.created_by_label),
            hold.source,
            safe_text(hold.settled_by_label),
            _iso(hold.settled_at),
            safe_text(hold.settlement_comments),
        ]


class _Echo:
    """A file-like object whose write returns the line, for csv.writer to stream through."""

    def write(self, value: str) -> str:
        return value


def csv_response(
    filename: str, header: list[str], rows: Iterable[Sequence[object]]
) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
