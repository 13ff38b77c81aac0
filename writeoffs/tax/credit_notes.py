"""Issuing and cancelling credit notes: called by the lifecycle steps inside the
write-off's own transaction, under the invoice's row lock.

Numbers are gap-free per year: the year's counter row is locked (by the UPDATE that
takes the next number) and held until the write-off commits, so two writers take
consecutive numbers one after the other, and a write-off that rolls back gives its
number back. The call
comes late in the step (after the postings), as the events feed's does, so writers
queue on the counter for as short a time as possible.
"""

from __future__ import annotations

import datetime

from django.db import connection
from django.utils import timezone

from billing.ledger.tax import LinePart, split_per_line
from billing.models import Invoice, InvoiceLine
from writeoffs.models import CreditNote, CreditNoteCounter, CreditNoteLine, WriteOff


def next_number(year: int) -> tuple[int, str]:
    """The year's next sequence and number. The UPDATE takes the counter row's lock
    (as ``select_for_update`` would) and holds it until commit: one statement, as the
    events feed's counter takes its next id, since bulk runs pay it per item."""
    sequence = _take_next(year)
    if sequence is None:
        # The year's first note: make its row (a concurrent first writer's insert is
        # ignored, and it waits for that row's lock instead), then take from it.
        CreditNoteCounter.objects.bulk_create(
            [CreditNoteCounter(year=year, last_number=0)], ignore_conflicts=True
        )
        sequence = _take_next(year)
        assert sequence is not None
    return sequence, CreditNote.number_for(year, sequence)


def _take_next(year: int) -> int | None:
    table = connection.ops.quote_name(CreditNoteCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_number = last_number + 1 WHERE year = %s "  # noqa: S608
            "RETURNING last_number",
            [year],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


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
