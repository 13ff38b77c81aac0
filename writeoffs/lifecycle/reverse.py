"""Reversing an active write-off: the balance comes back and the journal posts the
reverse of its lines on today's date.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from billing.actors import Actor
from billing.errors import (
    INVALID_STATE,
    WRITEOFF_HAS_RECOVERIES,
    BillingError,
)
from billing.history import acting_as
from billing.ledger.posting import post_reversal
from billing.models import EventType, JournalEvent
from billing.rules import (
    clean_comments,
    invoice_id_of,
    lock_invoice,
    require_perm,
)
from writeoffs.lifecycle.events import writeoff_event
from writeoffs.models import (
    WriteOff,
)
from writeoffs.tax.credit_notes import credit_note_cancel


def writeoff_reverse(*, writeoff_id: int, reason: str, actor: Actor) -> WriteOff:
    """Correct a write-off by reversing it: the row stays, the balance comes back.

    Reversing a write-off that came from a dispute does not reopen the dispute.
    """
    require_perm(actor, "writeoffs.reverse_writeoff")
    reason = clean_comments(reason, field="reason", label="A reason")
    invoice_id = invoice_id_of(WriteOff, writeoff_id)
    with transaction.atomic(), acting_as(actor):
        invoice = lock_invoice(invoice_id)
        writeoff = WriteOff.objects.select_for_update().get(pk=writeoff_id)
        if writeoff.status == WriteOff.Status.REVERSED:
            raise BillingError(INVALID_STATE, f"Write-off {writeoff.pk} was already reversed.")
        if writeoff.status != WriteOff.Status.ACTIVE:
            raise BillingError(
                INVALID_STATE,
                f"Write-off {writeoff.pk} is {writeoff.status_label.lower()}; only an active "
                "write-off can be reversed.",
            )
        if writeoff.recovered_minor:
            raise BillingError(
                WRITEOFF_HAS_RECOVERIES,
                f"Write-off {writeoff.pk} has recoveries; remove the recovery payment first.",
            )
        writeoff.status = WriteOff.Status.REVERSED
        writeoff.reversed_by = actor.user
        writeoff.reversed_by_label = actor.label
        writeoff.reversed_at = timezone.now()
        writeoff.reversal_reason = reason
        writeoff.save(
            update_fields=[
                "status",
                "reversed_by",
                "reversed_by_label",
                "reversed_at",
                "reversal_reason",
            ]
        )
        invoice.written_off_minor -= writeoff.amount_minor
        invoice.save(update_fields=["written_off_minor"])
        # Today, never into the period the write-off was posted in, which may be closed.
        post_reversal(
            writeoff,
            event=JournalEvent.WRITEOFF_REVERSAL,
            invoice=invoice,
            actor=actor,
        )
        credit_note_cancel(writeoff)
        writeoff_event(EventType.WRITEOFF_REVERSED, writeoff, invoice=invoice, actor=actor)
    return writeoff
