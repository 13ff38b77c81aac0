"""The benchmark's floors for the reports: bare SQL GROUP BYs of the same figures,
run through the raw cursor. Table and column names come from the models' metadata;
the values are parameters."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import connection

from billing.models import Account, AccountingCode, Invoice, JournalEntry, JournalLine
from writeoffs.models import DisputeHold, WriteOff
from writeoffs.reports.aging import end_of_day


def _date(value: datetime.date):
    return connection.ops.adapt_datefield_value(value)


def _ar_code_id() -> int:
    return AccountingCode.objects.get(code=settings.AR_CONTROL_CODE).pk


def _bucket_sql(aging: str) -> str:
    return (
        f"CASE WHEN {aging} >= %s THEN 0 WHEN {aging} >= %s THEN 1 "
        f"WHEN {aging} >= %s THEN 2 WHEN {aging} >= %s THEN 3 ELSE 4 END"
    )


def _bucket_params(as_of: datetime.date) -> list:
    return [_date(as_of - datetime.timedelta(days=days)) for days in (0, 30, 60, 90)]


def aging_bare(as_of: datetime.date) -> list[tuple[str, list]]:
    """The aging report's figures: AR-control balances per account, currency and
    bucket; held per account, currency and bucket; AR control per currency."""
    line, invoice, account, hold = (
        JournalLine._meta.db_table,
        Invoice._meta.db_table,
        Account._meta.db_table,
        DisputeHold._meta.db_table,
    )
    reaged = (
        f"SELECT invoice_id, MAX(settled_on) AS reaged FROM {hold} "
        f"WHERE status = 'released_reaged' AND settled_on <= %s GROUP BY invoice_id"
    )
    bucket = _bucket_sql("COALESCE(r.reaged, i.due_date)")
    balances = (
        f"SELECT a.acct_no, a.name, i.currency, {bucket} AS bucket, "
        f"SUM(l.debit_minor - l.credit_minor) FROM {line} l "
        f"JOIN {invoice} i ON i.id = l.invoice_id JOIN {account} a ON a.id = i.account_id "
        f"LEFT JOIN ({reaged}) r ON r.invoice_id = i.id "
        f"WHERE l.accounting_code_id = %s AND l.entry_date <= %s "
        f"GROUP BY a.acct_no, a.name, i.currency, bucket"
    )
    held = (
        f"SELECT a.acct_no, a.name, i.currency, {bucket} AS bucket, SUM(h.amount_minor) "
        f"FROM {hold} h JOIN {invoice} i ON i.id = h.invoice_id "
        f"JOIN {account} a ON a.id = i.account_id "
        f"LEFT JOIN ({reaged}) r ON r.invoice_id = i.id "
        f"WHERE h.created_at < %s AND (h.settled_on IS NULL OR h.settled_on > %s) "
        f"GROUP BY a.acct_no, a.name, i.currency, bucket"
    )
    control = (
        f"SELECT currency, SUM(debit_minor - credit_minor) FROM {line} "
        f"WHERE accounting_code_id = %s AND entry_date <= %s GROUP BY currency"
    )
    ar = _ar_code_id()
    day = _date(as_of)
    moment = connection.ops.adapt_datetimefield_value(end_of_day(as_of))
    buckets = _bucket_params(as_of)
    return [
        (balances, [*buckets, day, ar, day]),
        (held, [*buckets, day, moment, day]),
        (control, [ar, day]),
    ]


def analysis_bare(start: datetime.date, end: datetime.date) -> list[tuple[str, list]]:
    """The write-off analysis's figures: per month, currency, reason, revenue-impacting
    and user, written off and reversed; and recoveries per month and currency."""
    line, entry, writeoff = (
        JournalLine._meta.db_table,
        JournalEntry._meta.db_table,
        WriteOff._meta.db_table,
    )
    if connection.vendor == "sqlite":
        month = "strftime('%%Y-%%m-01', l.entry_date)"
    else:
        month = "date_trunc('month', l.entry_date)"
    grouped = (
        f"SELECT {month} AS month, l.currency, w.reason_code, w.revenue_impacting, "
        f"w.created_by_label, "
        f"SUM(CASE WHEN e.event <> 'writeoff_reversal' THEN l.credit_minor ELSE 0 END), "
        f"SUM(CASE WHEN e.event = 'writeoff_reversal' THEN l.debit_minor ELSE 0 END) "
        f"FROM {line} l JOIN {entry} e ON e.id = l.entry_id "
        f"JOIN {writeoff} w ON w.id = e.source_id "
        f"WHERE l.accounting_code_id = %s AND l.entry_date >= %s AND l.entry_date <= %s "
        f"AND e.source_type = %s "
        f"AND e.event IN ('writeoff', 'dispute_conversion', 'writeoff_reversal') "
        f"GROUP BY month, l.currency, w.reason_code, w.revenue_impacting, w.created_by_label"
    )
    recovered = (
        f"SELECT {month} AS month, l.currency, SUM(l.debit_minor) "
        f"FROM {line} l JOIN {entry} e ON e.id = l.entry_id "
        f"WHERE l.accounting_code_id = %s AND l.entry_date >= %s AND l.entry_date <= %s "
        f"AND e.event = 'recovery' GROUP BY month, l.currency"
    )
    ar = _ar_code_id()
    span = [_date(start), _date(end)]
    return [
        (grouped, [ar, *span, WriteOff._meta.label_lower]),
        (recovered, [ar, *span]),
    ]


def journal_month_raw(start: datetime.date, end: datetime.date) -> list[tuple[str, list]]:
    """J3's floor: a raw fetch of the journal export's rows (each line with its entry
    and code) for the dates ``start`` through ``end``, in the export's order."""
    line, entry, code = (
        connection.ops.quote_name(model._meta.db_table)
        for model in (JournalLine, JournalEntry, AccountingCode)
    )
    return [
        (
            f"SELECT l.entry_date, l.entry_id, c.code, c.name, l.debit_minor, l.credit_minor, "
            f"l.currency, e.memo, e.source_type, e.source_id, e.posted_at, e.approved_by_label "
            f"FROM {line} l JOIN {entry} e ON e.id = l.entry_id "
            f"JOIN {code} c ON c.id = l.accounting_code_id "
            f"WHERE l.entry_date BETWEEN %s AND %s ORDER BY l.entry_date, l.id",
            [_date(start), _date(end)],
        )
    ]


def run_all(statements: list[tuple[str, list]]):
    def run() -> None:
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()

    return run


# --- the floors of S's reports of today (the aggregates) --------------------------------

# The open-item condition of ``invoice_open_items_idx`` (billing.models.invoices.OPEN_ITEM),
# written out so that the bare query, like the report, reads that index alone.
OPEN_ITEM_SQL = (
    "((i.status = 'sent' AND i.total_minor > (i.paid_minor + i.written_off_minor)) "
    "OR NOT (i.ar_balance_minor = 0))"
)


def aging_today_bare(as_of: datetime.date) -> list[tuple[str, list]]:
    """Today's aging from the aggregates: the open items per account, currency and
    bucket of their aging date; the stored balance due per currency; AR control per
    currency from the stored months and the open months' lines."""
    invoice, account = Invoice._meta.db_table, Account._meta.db_table
    bucket = _bucket_sql("i.aging_date")
    cells = (
        f"SELECT a.acct_no, a.name, i.currency, {bucket} AS bucket, SUM(i.ar_balance_minor), "
        f"SUM(i.held_minor), SUM(i.pending_minor) FROM {invoice} i "
        f"JOIN {account} a ON a.id = i.account_id WHERE {OPEN_ITEM_SQL} "
        f"GROUP BY a.acct_no, a.name, i.currency, bucket"
    )
    stored = (
        f"SELECT i.currency, SUM(i.total_minor - i.paid_minor - i.written_off_minor) "
        f"FROM {invoice} i WHERE {OPEN_ITEM_SQL} GROUP BY i.currency"
    )
    return [
        (cells, _bucket_params(as_of)),
        (stored, []),
        *trial_balance_bare(None, as_of, code_id=_ar_code_id()),
    ]


def trial_balance_bare(
    start: datetime.date | None, end: datetime.date, *, code_id: int | None = None
) -> list[tuple[str, list]]:
    """The trial balance's sums from the stored months and the lines after them (the
    opening balance from the stored months before ``start``): what the report reads
    when ``start`` is a month's first day and the lock date closed the months before
    the open ones."""
    from billing.ledger.aggregates import stored_months_end
    from billing.models import PeriodBalance

    balance, line = PeriodBalance._meta.db_table, JournalLine._meta.db_table
    stored_end = stored_months_end() or datetime.date.min
    code = "" if code_id is None else " AND accounting_code_id = %s"
    codes = [] if code_id is None else [code_id]
    statements = [
        (
            f"SELECT accounting_code_id, currency, SUM(debit_minor), SUM(credit_minor) "
            f"FROM {balance} WHERE month < %s{code} "
            + ("AND month >= %s " if start else "")
            + "GROUP BY accounting_code_id, currency",
            [_date(stored_end), *codes, *([_date(start)] if start else [])],
        ),
        (
            f"SELECT accounting_code_id, currency, SUM(debit_minor), SUM(credit_minor) "
            f"FROM {line} WHERE entry_date >= %s AND entry_date <= %s{code} "
            f"GROUP BY accounting_code_id, currency",
            [_date(stored_end), _date(end), *codes],
        ),
    ]
    if start:
        statements.append(
            (
                f"SELECT accounting_code_id, currency, SUM(debit_minor - credit_minor) "
                f"FROM {balance} WHERE month < %s{code} GROUP BY accounting_code_id, currency",
                [_date(start), *codes],
            )
        )
    return statements
