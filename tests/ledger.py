"""Recomputing an invoice's running totals from its rows, for tests that race or fail.

Sums are taken in Python over integer minor units, so that the oracle shares no
SQL with what it checks (an integer SUM would be exact on both databases too:
only a SUM over a decimal column, which SQLite stores as REAL, is not).
"""

from __future__ import annotations

import datetime
import io

from django.core.management import call_command

from billing.models import Invoice, Payment
from billing.rules import today
from writeoffs.models import DisputeHold, WriteOff


def recomputed_totals(invoice_id: int) -> dict[str, int]:
    paid = Payment.objects.filter(invoice_id=invoice_id, status=Payment.Status.ACTIVE)
    written_off = WriteOff.objects.filter(invoice_id=invoice_id, status=WriteOff.Status.ACTIVE)
    held = DisputeHold.objects.filter(invoice_id=invoice_id, status=DisputeHold.Status.OPEN)
    # A pending conversion's amount stays in its hold; only other pending write-offs reserve.
    pending = WriteOff.objects.filter(
        invoice_id=invoice_id, status=WriteOff.Status.PENDING, origin_dispute__isnull=True
    )
    return {
        "paid_minor": sum(paid.values_list("amount_minor", flat=True)),
        "written_off_minor": sum(
            amount - recovered
            for amount, recovered in written_off.values_list("amount_minor", "recovered_minor")
        ),
        "held_minor": sum(held.values_list("amount_minor", flat=True)),
        "pending_minor": sum(pending.values_list("amount_minor", flat=True)),
    }


def stored_totals(invoice_id: int) -> dict[str, int]:
    return dict(
        Invoice.objects.filter(pk=invoice_id)
        .values("paid_minor", "written_off_minor", "held_minor", "pending_minor")
        .get()
    )


def assert_ledger_consistent(invoice_id: int) -> None:
    """Stored totals equal the rows, 0 <= held <= balance due, and verify_ledger agrees."""
    invoice = Invoice.objects.get(pk=invoice_id)
    assert stored_totals(invoice_id) == recomputed_totals(invoice_id)
    assert invoice.balance_due_minor >= invoice.held_minor + invoice.pending_minor
    assert invoice.held_minor >= 0 and invoice.pending_minor >= 0
    # Raises CommandError on any drift, naming the invoice.
    call_command("verify_ledger", stdout=io.StringIO(), stderr=io.StringIO())


def made_days_earlier(row, days: int):
    """``row`` (a dispute hold or a write-off) as if made ``days`` days earlier: its
    creation time, and a hold's expiry date, move back. The daily jobs take no future
    run date, so a test ages its rows instead of running ahead of today."""
    shift = datetime.timedelta(days=days)
    changes: dict[str, object] = {"created_at": row.created_at - shift}
    if isinstance(row, DisputeHold):
        changes["expires_on"] = row.expires_on - shift
    type(row).objects.filter(pk=row.pk).update(**changes)
    row.refresh_from_db()
    return row


def expired_days_ago(hold: DisputeHold, days: int) -> DisputeHold:
    """``hold`` made earlier so that its last day was ``days`` days ago: expiry settles
    it on any run date from ``days - 1`` days ago to today."""
    return made_days_earlier(hold, (hold.expires_on - today()).days + days)
