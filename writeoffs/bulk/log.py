"""A run's log as CSV rows: readable for ever, from the run's own tables.

The rows hold plain values (the amount as ``Decimal``); ``billing.csv_export``
writes them, guarding every text cell against being run as a spreadsheet formula.
"""

from __future__ import annotations

from collections.abc import Iterator

from writeoffs.models import BulkRun

LOG_HEADER = [
    "run",
    "invoice_no",
    "account_no",
    "currency",
    "amount",
    "state",
    "skip_rule",
    "error_code",
    "message",
    "writeoff",
    "writeoff_date",
    "processed_at",
]


def bulk_run_log_rows(run: BulkRun) -> Iterator[list[object]]:
    """The run's log, one row per item (excluded invoices included), streamed."""
    items = run.items.select_related("invoice__account").order_by("id").iterator(chunk_size=2000)
    for item in items:
        state = "excluded" if item.excluded else item.state
        yield [
            run.pk,
            item.invoice.invoice_no,
            item.invoice.account.acct_no,
            item.currency,
            item.amount,
            state,
            item.skip_rule,
            item.error_code,
            item.message,
            item.writeoff_id,
            # A written item's run has started, so has its date (bulkrun_started_is_approved).
            run.writeoff_date.isoformat() if item.writeoff_id and run.writeoff_date else "",
            item.heartbeat_at.isoformat() if item.heartbeat_at else "",
        ]
