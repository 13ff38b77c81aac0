"""CSV exports of the Write-offs and Disputes tables, as filtered on screen.

The views pass the same queryset the table shows (same filters, same order), so
an export never disagrees with the page. Rows are written as they are read from
the database, so a large account streams instead of building the file in memory.
The rows hold plain values (amounts as ``Decimal``); ``billing.csv_export`` writes
them, and guards every text cell against being run as a spreadsheet formula.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from django.db.models import QuerySet

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
    "Credit note",
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

# Enough rows per database round trip to keep memory flat on a big account.
_CHUNK_SIZE = 2000


def _iso(value: datetime.date | datetime.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def writeoff_rows(writeoffs: QuerySet[WriteOff]) -> Iterator[list[object]]:
    rows = writeoffs.select_related("invoice", "accounting_code", "credit_note").iterator(
        chunk_size=_CHUNK_SIZE
    )
    for writeoff in rows:
        code = writeoff.accounting_code
        yield [
            writeoff.number,
            writeoff.invoice.invoice_no,
            _iso(writeoff.writeoff_date),
            writeoff.amount,
            writeoff.invoice.currency,
            writeoff.reason_code,
            writeoff.get_reason_code_display(),
            writeoff.revenue_impacting,
            code.code if code else None,
            writeoff.comments,
            writeoff.created_by_label,
            _iso(writeoff.created_at),
            writeoff.source,
            writeoff.origin_dispute_id,
            writeoff.status,
            writeoff.reversed_by_label,
            _iso(writeoff.reversed_at),
            writeoff.reversal_reason,
            writeoff.recovered,
            writeoff.requested_by_label,
            writeoff.approved_by_label,
            writeoff.credit_note_no,
        ]


def dispute_rows(disputes: QuerySet[DisputeHold]) -> Iterator[list[object]]:
    for hold in disputes.select_related("invoice").iterator(chunk_size=_CHUNK_SIZE):
        yield [
            hold.number,
            hold.invoice.invoice_no,
            _iso(hold.created_at),
            hold.amount,
            hold.invoice.currency,
            _iso(hold.expires_on),
            hold.status,
            hold.comments,
            hold.created_by_label,
            hold.source,
            hold.settled_by_label,
            _iso(hold.settled_at),
            hold.settlement_comments,
        ]
