"""What a close records and what blocks it: the close blockers and the close snapshot
stored with each move of the lock date.
"""

from __future__ import annotations

import datetime
import io

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F, Q, Sum

from billing.ledger.books import trial_balance
from billing.models import Invoice, JournalEntry, JournalLine


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
    unfinished = bulk_run.objects.filter(status="running").filter(
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
