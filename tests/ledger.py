"""Recomputing an invoice's running totals from its rows, for tests that race or fail.

Sums are taken in Python over integer minor units, so that the oracle shares no
SQL with what it checks (an integer SUM would be exact on both databases too:
only a SUM over a decimal column, which SQLite stores as REAL, is not).
"""

from __future__ import annotations

import io

from django.core.management import call_command

from billing.models import Invoice, Payment
from writeoffs.models import DisputeHold, WriteOff


def recomputed_totals(invoice_id: int) -> dict[str, int]:
    paid = Payment.objects.filter(invoice_id=invoice_id, status=Payment.Status.ACTIVE)
    written_off = WriteOff.objects.filter(invoice_id=invoice_id, status=WriteOff.Status.ACTIVE)
    held = DisputeHold.objects.filter(invoice_id=invoice_id, status=DisputeHold.Status.OPEN)
    return {
        "paid_minor": sum(paid.values_list("amount_minor", flat=True)),
        "written_off_minor": sum(written_off.values_list("amount_minor", flat=True)),
        "held_minor": sum(held.values_list("amount_minor", flat=True)),
    }


def stored_totals(invoice_id: int) -> dict[str, int]:
    return dict(
        Invoice.objects.filter(pk=invoice_id)
        .values("paid_minor", "written_off_minor", "held_minor")
        .get()
    )


def assert_ledger_consistent(invoice_id: int) -> None:
    """Stored totals equal the rows, 0 <= held <= balance due, and verify_ledger agrees."""
    invoice = Invoice.objects.get(pk=invoice_id)
    assert stored_totals(invoice_id) == recomputed_totals(invoice_id)
    assert invoice.balance_due_minor >= invoice.held_minor >= 0
    # Raises CommandError on any drift, naming the invoice.
    call_command("verify_ledger", stdout=io.StringIO(), stderr=io.StringIO())
