"""The invoices' stored totals (paid, written off, held, pending) against the sums of
their rows, which this adds up itself from the integer minor units."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F

from billing.models import Invoice, Payment
from billing.verification import Verification
from writeoffs.models import DisputeHold, WriteOff
from writeoffs.verification.kinds import INVOICE_TOTALS
from writeoffs.verification.streams import CHUNK, Stream


def _amounts(queryset) -> Iterable[tuple[int, int]]:
    return (
        queryset.order_by("invoice_id")
        .values_list("invoice_id", "amount_minor")
        .iterator(chunk_size=CHUNK)
    )


def check_stored_totals(result: Verification, limit: int) -> None:
    paid = Stream(_amounts(Payment.objects.filter(status=Payment.Status.ACTIVE)))
    # Net of bad-debt recoveries, as the invoice keeps it.
    written_off = Stream(
        WriteOff.objects.filter(status=WriteOff.Status.ACTIVE)
        .order_by("invoice_id")
        .values_list("invoice_id", F("amount_minor") - F("recovered_minor"))
        .iterator(chunk_size=CHUNK)
    )
    held = Stream(_amounts(DisputeHold.objects.filter(status=DisputeHold.Status.OPEN)))
    # Approvals: a pending write-off reserves its amount, except a pending conversion,
    # whose amount stays in its open hold.
    pending = Stream(
        _amounts(
            WriteOff.objects.filter(status=WriteOff.Status.PENDING, origin_dispute__isnull=True)
        )
    )
    invoices = (
        Invoice.objects.order_by("id")
        .values_list(
            "id",
            "invoice_no",
            "total_minor",
            "paid_minor",
            "written_off_minor",
            "held_minor",
            "pending_minor",
        )
        .iterator(chunk_size=CHUNK)
    )

    checked = drifting = 0
    for row in invoices:
        invoice_id, invoice_no, total, stored_paid, stored_wo, stored_held, stored_pending = row
        checked += 1
        problems = []
        for name, stored, actual in (
            ("paid", stored_paid, paid.take(invoice_id)),
            ("written off", stored_wo, written_off.take(invoice_id)),
            ("held", stored_held, held.take(invoice_id)),
            ("pending", stored_pending, pending.take(invoice_id)),
        ):
            if stored != actual:
                problems.append(f"{name} stored {stored} but rows add up to {actual}")
        if not 0 <= stored_held <= total - stored_paid - stored_wo:
            problems.append("held is outside 0..balance due")
        if not 0 <= stored_pending <= total - stored_paid - stored_wo - stored_held:
            problems.append("held + pending is more than the balance due")
        if problems:
            drifting += 1
            result.count(
                INVOICE_TOTALS,
                f"Invoice {invoice_no} (id {invoice_id}): "
                + "; ".join(problems)
                + " (minor units)",
                listed=drifting <= limit,
            )
    result.checked["invoices"] = checked
