"""Reads of the books: the trial balance, the journal's lines, the close snapshot.

Every figure is a SUM over integer minor-unit columns in SQL, exact on SQLite and
PostgreSQL, over the lines' (entry date, code, currency, amounts) index.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F, Q, QuerySet, Sum

from billing.models import AccountingCode, Invoice, JournalEntry, JournalLine


@dataclass(frozen=True)
class TrialBalanceRow:
    code: str
    name: str
    kind: str
    currency: str
    opening_minor: int
    debit_minor: int
    credit_minor: int

    @property
    def closing_minor(self) -> int:
        return self.opening_minor + self.debit_minor - self.credit_minor


@dataclass
class CurrencyTotals:
    currency: str
    opening_minor: int = 0
    debit_minor: int = 0
    credit_minor: int = 0

    @property
    def closing_minor(self) -> int:
        return self.opening_minor + self.debit_minor - self.credit_minor

    @property
    def balanced(self) -> bool:
        return self.debit_minor == self.credit_minor and self.opening_minor == 0


@dataclass
class TrialBalance:
    start: datetime.date | None
    end: datetime.date
    rows: list[TrialBalanceRow] = field(default_factory=list)
    totals: dict[str, CurrencyTotals] = field(default_factory=dict)


def trial_balance(
    *, start: datetime.date | None, end: datetime.date, codes: list[str] | None = None
) -> TrialBalance:
    """Per code and currency: the opening balance (lines before ``start``), the
    debits and credits from ``start`` through ``end``, and the closing balance.
    Per currency, debits equal credits (and the opening balances net to 0).
    ``codes`` narrows it to those accounting codes (the aging report's AR-control
    check); the totals are then those codes' only and need not balance."""
    lines = JournalLine.objects.filter(entry_date__lte=end)
    if codes is not None:
        lines = lines.filter(accounting_code__code__in=codes)
    in_range = Q(entry_date__gte=start) if start else Q()
    grouped = (
        lines.values_list("accounting_code_id", "currency")
        .annotate(
            debits=Sum("debit_minor", filter=in_range, default=0),
            credits=Sum("credit_minor", filter=in_range, default=0),
            opening=Sum(F("debit_minor") - F("credit_minor"), filter=~in_range, default=0)
            if start
            else Sum(0, default=0),
        )
        .order_by()
    )
    rows = list(grouped)
    code_by_pk = {
        code.pk: code for code in AccountingCode.objects.filter(pk__in={row[0] for row in rows})
    }
    result = TrialBalance(start=start, end=end)
    for code_id, currency, debits, credits, opening in rows:
        code = code_by_pk[code_id]
        result.rows.append(
            TrialBalanceRow(code.code, code.name, code.kind, currency, opening, debits, credits)
        )
        totals = result.totals.setdefault(currency, CurrencyTotals(currency))
        totals.opening_minor += opening
        totals.debit_minor += debits
        totals.credit_minor += credits
    result.rows.sort(key=lambda row: (row.currency, row.code))
    result.totals = dict(sorted(result.totals.items()))
    return result


def journal_lines(
    *,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    first_entry: int | None = None,
    last_entry: int | None = None,
) -> QuerySet[JournalLine]:
    """Lines by entry date range or entry-number range, in (entry date, line) order,
    with their entry and code. ``keyset_window`` pages it for the API; the export
    streams it."""
    lines = JournalLine.objects.all()
    if start:
        lines = lines.filter(entry_date__gte=start)
    if end:
        lines = lines.filter(entry_date__lte=end)
    if first_entry:
        lines = lines.filter(entry_id__gte=first_entry)
    if last_entry:
        lines = lines.filter(entry_id__lte=last_entry)
    return lines.select_related("entry", "accounting_code").order_by("entry_date", "id")


EXPORT_HEADER = [
    "Date",
    "Entry number",
    "Code",
    "Code name",
    "Debit",
    "Credit",
    "Currency",
    "Memo",
    "Source document",
    "Posted at",
    "Approver",
]
EXPORT_CHUNK = 2000


def journal_export_rows(lines: QuerySet[JournalLine]) -> Iterator[list[str]]:
    """One CSV row per line, read ``EXPORT_CHUNK`` lines at a time (a server-side
    cursor on PostgreSQL), so a million lines never sit in memory."""
    from billing.money import from_minor

    columns = lines.values_list(
        "entry_date",
        "entry_id",
        "accounting_code__code",
        "accounting_code__name",
        "debit_minor",
        "credit_minor",
        "currency",
        "entry__memo",
        "entry__source_type",
        "entry__source_id",
        "entry__posted_at",
        "entry__approved_by_label",
    )
    for (
        entry_date,
        entry_id,
        code,
        name,
        debit,
        credit,
        currency,
        memo,
        source_type,
        source_id,
        posted_at,
        approver,
    ) in columns.iterator(chunk_size=EXPORT_CHUNK):
        yield [
            entry_date.isoformat(),
            str(entry_id),
            code,
            name,
            str(from_minor(debit, currency)) if debit else "",
            str(from_minor(credit, currency)) if credit else "",
            currency,
            memo,
            f"{source_type}:{source_id}",
            posted_at.isoformat(),
            approver,
        ]


# --- closing a period --------------------------------------------------------------


def close_blockers(locked_through: datetime.date) -> list[str]:
    """What stops the books closing through ``locked_through``: pending write-offs
    dated on or before it, and unfinished bulk runs (a run writes on its frozen date,
    which a close must not overtake). Read by string, so billing's core never
    imports writeoffs."""
    blockers = []
    writeoff = apps.get_model("writeoffs", "WriteOff")
    pending = writeoff.objects.filter(status="pending", writeoff_date__lte=locked_through)
    for pk, date in pending.order_by("writeoff_date", "pk").values_list("pk", "writeoff_date")[
        :50
    ]:
        blockers.append(f"Write-off {pk}, dated {date}, is pending approval.")
    bulk_run = apps.get_model("writeoffs", "BulkRun")
    unfinished = bulk_run.objects.filter(status__in=["draft", "running"]).filter(
        Q(writeoff_date__isnull=True) | Q(writeoff_date__lte=locked_through)
    )
    for pk, status in unfinished.order_by("pk").values_list("pk", "status")[:50]:
        blockers.append(f"Bulk run {pk} is {status}: finish or cancel it first.")
    return blockers


def pending_writeoff_count() -> int:
    writeoff = apps.get_model("writeoffs", "WriteOff")
    return writeoff.objects.filter(status="pending").count()


def close_snapshot(locked_through: datetime.date) -> dict:
    """The figures a move of the lock date records (SPEC, "Accounting periods")."""
    out = io.StringIO()
    try:
        call_command("verify_ledger", limit=20, stdout=out)
        ledger = {"ok": True, "report": out.getvalue().strip()[-2000:]}
    except CommandError as error:
        ledger = {"ok": False, "report": (out.getvalue() + str(error)).strip()[-2000:]}
    balance = trial_balance(start=None, end=locked_through)
    # Until the aging report exists, AR control (every line) is checked against the
    # sum of balance due over sent invoices; the aging report replaces it with its
    # total at the lock date.
    ar_by_currency = dict(
        JournalLine.objects.filter(accounting_code__code=settings.AR_CONTROL_CODE)
        .values_list("currency")
        .annotate(net=Sum(F("debit_minor") - F("credit_minor"), default=0))
        .order_by("currency")
    )
    due_by_currency = dict(
        Invoice.objects.filter(status=Invoice.Status.SENT)
        .values_list("currency")
        .annotate(due=Sum(F("total_minor") - F("paid_minor") - F("written_off_minor"), default=0))
        .order_by("currency")
    )
    return {
        "locked_through": locked_through.isoformat(),
        "verify_ledger": ledger,
        "trial_balance": {
            currency: {
                "debit_minor": totals.debit_minor,
                "credit_minor": totals.credit_minor,
                "balanced": totals.debit_minor == totals.credit_minor,
            }
            for currency, totals in balance.totals.items()
        },
        "ar_control_check": {
            currency: {
                "ar_control_minor": ar_by_currency.get(currency, 0),
                "balance_due_minor": due_by_currency.get(currency, 0),
                "agrees": ar_by_currency.get(currency, 0) == due_by_currency.get(currency, 0),
            }
            for currency in sorted(set(ar_by_currency) | set(due_by_currency))
        },
        "pending_writeoffs": pending_writeoff_count(),
        "journal_entries": JournalEntry.objects.filter(entry_date__lte=locked_through).count(),
    }
