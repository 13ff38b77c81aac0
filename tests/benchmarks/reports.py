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


def run_all(statements: list[tuple[str, list]]):
    def run() -> None:
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()

    return run
