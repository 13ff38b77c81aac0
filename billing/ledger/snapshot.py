"""What a close records and what blocks it: the close blockers and the close snapshot
stored with each move of the lock date.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db.models import F, Sum

from billing import extensions
from billing.ledger.books import trial_balance
from billing.models import Invoice, JournalEntry, JournalLine
from billing.verification import SNAPSHOT_FAILURES, verify_ledger


def close_blockers(locked_through: datetime.date) -> list[str]:
    """What stops the books closing through ``locked_through``, each a sentence: what
    the registered close blockers name (e.g. a pending write-off dated on or before
    it, or an unfinished bulk run, which writes on a date a close must not overtake)."""
    blockers: list[str] = []
    for blocking in extensions.hooks.close_blockers:
        blockers.extend(blocking(locked_through))
    return blockers


def close_checklist(
    previous: datetime.date | None, through: datetime.date
) -> list[tuple[str, bool]]:
    """What a close from ``previous`` through ``through`` should have done first, each
    (what, done), from the registered checklist hooks (e.g. each month end's allowance
    provision). Shown before a close; it refuses nothing."""
    items: list[tuple[str, bool]] = []
    for listing in extensions.hooks.close_checklist:
        items.extend(listing(previous, through))
    return items


def close_snapshot(locked_through: datetime.date) -> dict[str, Any]:
    """The figures a move of the lock date records (SPEC, "Accounting periods"): the
    ledger check's result (``Verification.as_snapshot``), the trial balance through
    the lock date, AR control against the balance due, the journal's size, and the
    figures the registered close-figure hooks add (e.g. the pending write-offs)."""
    ledger = verify_ledger(limit=SNAPSHOT_FAILURES).as_snapshot()
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
    snapshot: dict[str, Any] = {
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
        "journal_entries": JournalEntry.objects.filter(entry_date__lte=locked_through).count(),
    }
    for figures in extensions.hooks.close_figures:
        snapshot.update(figures(locked_through))
    return snapshot
