"""Issuing and cancelling credit notes: called by the lifecycle steps inside the
write-off's own transaction, under the invoice's row lock.

Numbers are gap-free per year: the year's counter row is locked (``select_for_update``)
and held until the write-off commits, so two writers take consecutive numbers one
after the other, and a write-off that rolls back gives its number back. The call
comes late in the step (after the postings), as the events feed's does, so writers
queue on the counter for as short a time as possible.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from billing.ledger.tax import LinePart, split_per_line
from billing.models import Invoice, InvoiceLine
from writeoffs.models import CreditNote, CreditNoteCounter, CreditNoteLine, WriteOff


def next_number(year: int) -> tuple[int, str]:
    """The year's next sequence and number; the counter row stays locked until commit."""
    counter = CreditNoteCounter.objects.select_for_update().filter(year=year).first()
    if counter is None:
        # The year's first note: make its row (a concurrent first writer's insert is
        # ignored), then lock it like any other writer.
        CreditNoteCounter.objects.bulk_create(
            [CreditNoteCounter(year=year, last_number=0)], ignore_conflicts=True
        )
        counter = CreditNoteCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number, CreditNote.number_for(year, counter.last_number)


def credit_note_issue(
    writeoff: WriteOff, *, invoice: Invoice, issued_on: datetime.date
) -> CreditNote:
    """The credit note of a revenue-impacting write-off that has just become active,
    dated the day it posts: its amount per invoice line, net and tax."""
    lines = list(
        InvoiceLine.objects.filter(invoice_id=invoice.pk)
        .order_by("id")
        .values_list("description", "tax_rate_id", "amount_minor", "tax_minor")
    )
    parts = [LinePart(net, tax, None, 0) for _, _, net, tax in lines]
    # An untaxed invoice's lines all take net shares. (An invoice sent before lines
    # were checked may have none: the note is then one amount, all net.)
    amounts = split_per_line(writeoff.amount_minor, parts) if parts else []
    sequence, number = next_number(issued_on.year)
    net = sum(line_net for line_net, _ in amounts) if amounts else writeoff.amount_minor
    tax = sum(line_tax for _, line_tax in amounts)
    note = CreditNote.objects.create(
        number=number,
        year=issued_on.year,
        sequence=sequence,
        writeoff=writeoff,
        account_id=invoice.account_id,
        invoice=invoice,
        issued_on=issued_on,
        reason=writeoff.get_reason_code_display(),
        comments=writeoff.comments,
        net_minor=net,
        tax_minor=tax,
        gross_minor=writeoff.amount_minor,
    )
    CreditNoteLine.objects.bulk_create(
        CreditNoteLine(
            credit_note=note,
            description=description,
            tax_rate_id=rate_id,
            net_minor=line_net,
            tax_minor=line_tax,
        )
        for (description, rate_id, _, _), (line_net, line_tax) in zip(lines, amounts, strict=True)
        if line_net or line_tax
    )
    return note


def credit_note_cancel(writeoff: WriteOff) -> None:
    """Reversing the write-off cancels its credit note, if it has one; the number is
    never given out again."""
    CreditNote.objects.filter(writeoff=writeoff, status=CreditNote.Status.ISSUED).update(
        status=CreditNote.Status.CANCELLED, cancelled_at=timezone.now()
    )
