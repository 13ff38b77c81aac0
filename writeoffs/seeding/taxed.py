"""What the bulk posting leaves to the seed for its taxed invoices, and the credit
notes of its revenue-impacting write-offs.

``billing.ledger.bulk`` posts untaxed rows only: a taxed invoice's entry, and its
write-offs', split by its lines. Those few rows (one invoice in ``TAXED_EVERY``) are
posted here one by one through ``billing.ledger.posting``, from the same rules the
services post by. Credit notes are written in bulk, numbered on from each year's
counter as ``writeoffs.tax.credit_notes`` numbers them.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Max
from django.utils import timezone

from billing.actors import Actor
from billing.ledger.posting import SourceRef, post_invoice_sent, post_reversal, post_writeoff
from billing.ledger.tax import LinePart, split_per_line
from billing.models import Invoice, InvoiceLine, JournalEntry, JournalEvent
from writeoffs.models import CreditNote, CreditNoteCounter, CreditNoteLine, WriteOff
from writeoffs.seeding import SEED_LABEL
from writeoffs.seeding.rows import MomentOf

POSTED = (WriteOff.Status.ACTIVE, WriteOff.Status.REVERSED)


def post_taxed_rows(*, invoice_from: int, writeoff_from: int) -> int:
    """The journal entries of this batch's taxed invoices and their write-offs, signed
    and timed as the bulk path signs and times the others (the seed's label, 15:00 UTC
    on the entry date)."""
    actor = Actor.for_system()
    first = (JournalEntry.objects.aggregate(last=Max("pk"))["last"] or 0) + 1
    written = _post_taxed(actor, invoice_from, writeoff_from)
    JournalEntry.objects.filter(pk__gte=first).update(
        created_by_label=SEED_LABEL, posted_at=MomentOf("entry_date")
    )
    return written


def _post_taxed(actor: Actor, invoice_from: int, writeoff_from: int) -> int:
    written = 0
    invoices = Invoice.objects.filter(
        pk__gte=invoice_from, tax_minor__gt=0, status__in=[Invoice.Status.SENT, Invoice.Status.VOID]
    ).order_by("pk")
    for invoice in invoices:
        post_invoice_sent(invoice, actor=actor)
        written += 1
        if invoice.voided_at is not None:
            post_reversal(
                invoice,
                event=JournalEvent.INVOICE_VOID,
                invoice=invoice,
                actor=actor,
                entry_date=timezone.localdate(invoice.voided_at),
            )
            written += 1
    writeoffs = (
        WriteOff.objects.filter(pk__gte=writeoff_from, invoice__tax_minor__gt=0, status__in=POSTED)
        .select_related("invoice")
        .order_by("pk")
    )
    for writeoff in writeoffs:
        post_writeoff(writeoff, actor=actor, invoice=writeoff.invoice)
        written += 1
        if writeoff.reversed_at is not None:
            post_reversal(
                SourceRef(writeoff._meta.label_lower, writeoff.pk),
                event=JournalEvent.WRITEOFF_REVERSAL,
                invoice=writeoff.invoice,
                actor=actor,
                entry_date=timezone.localdate(writeoff.reversed_at),
            )
            written += 1
    return written


def issue_credit_notes(*, writeoff_from: int) -> int:
    """A credit note for each revenue-impacting write-off of the batch that took effect
    (cancelled when it was reversed), in write-off date order."""
    writeoffs = list(
        WriteOff.objects.filter(pk__gte=writeoff_from, revenue_impacting=True, status__in=POSTED)
        .order_by("writeoff_date", "pk")
        .values_list(
            "pk",
            "invoice_id",
            "account_id",
            "writeoff_date",
            "reason_code",
            "comments",
            "amount_minor",
            "reversed_at",
        )
    )
    if not writeoffs:
        return 0
    lines: dict[int, list[tuple[str, int | None, int, int]]] = defaultdict(list)
    for invoice_id, *line in (
        InvoiceLine.objects.filter(invoice_id__in={w[1] for w in writeoffs})
        .order_by("invoice_id", "id")
        .values_list("invoice_id", "description", "tax_rate_id", "amount_minor", "tax_minor")
    ):
        lines[invoice_id].append(tuple(line))  # type: ignore[arg-type]
    years = {w[3].year for w in writeoffs}
    CreditNoteCounter.objects.bulk_create(
        [CreditNoteCounter(year=year) for year in years], ignore_conflicts=True
    )
    counters = {
        c.year: c for c in CreditNoteCounter.objects.select_for_update().filter(year__in=years)
    }
    reasons = dict(WriteOff._meta.get_field("reason_code").flatchoices)
    notes: list[CreditNote] = []
    note_lines: list[list[CreditNoteLine]] = []
    for pk, invoice_id, account_id, day, reason, comments, amount, reversed_at in writeoffs:
        counter = counters[day.year]
        counter.last_number += 1
        invoice_lines = lines.get(invoice_id, [])
        parts = [LinePart(net, tax, None, 0) for _, _, net, tax in invoice_lines]
        amounts = split_per_line(amount, parts) if parts else []
        tax = sum(t for _, t in amounts)
        notes.append(
            CreditNote(
                number=CreditNote.number_for(day.year, counter.last_number),
                year=day.year,
                sequence=counter.last_number,
                writeoff_id=pk,
                account_id=account_id,
                invoice_id=invoice_id,
                issued_on=day,
                reason=str(reasons[reason]),
                comments=comments,
                net_minor=amount - tax,
                tax_minor=tax,
                gross_minor=amount,
                status=CreditNote.Status.CANCELLED if reversed_at else CreditNote.Status.ISSUED,
                cancelled_at=reversed_at,
            )
        )
        note_lines.append(
            [
                CreditNoteLine(
                    description=description, tax_rate_id=rate_id, net_minor=net, tax_minor=t
                )
                for (description, rate_id, _, _), (net, t) in zip(
                    invoice_lines, amounts, strict=True
                )
                if net or t
            ]
        )
    CreditNoteCounter.objects.bulk_update(counters.values(), ["last_number"])
    created = CreditNote.objects.bulk_create(notes)
    for note, its_lines in zip(created, note_lines, strict=True):
        for note_line in its_lines:
            note_line.credit_note = note
    CreditNoteLine.objects.bulk_create([line for group in note_lines for line in group])
    return len(created)
