"""Posting to the journal: the one place a journal entry or line is written.

Every service that makes a money event calls one of these inside its own
transaction, so the entry commits or rolls back with the event.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from django.db import models
from django.db.models import Sum

from billing.actors import Actor
from billing.errors import INVALID_STATE, BillingError
from billing.ledger.codes import control_codes, posting_code
from billing.ledger.periods import require_open
from billing.models import (
    Invoice,
    JournalEntry,
    JournalEvent,
    JournalLine,
    Payment,
)
from billing.rules import today

if TYPE_CHECKING:
    from django.db.models.options import Options


class Line(NamedTuple):
    accounting_code_id: int
    debit_minor: int = 0
    credit_minor: int = 0


def debit(accounting_code_id: int, amount_minor: int) -> Line:
    return Line(accounting_code_id, debit_minor=amount_minor)


def credit(accounting_code_id: int, amount_minor: int) -> Line:
    return Line(accounting_code_id, credit_minor=amount_minor)


class PostedWriteOff(Protocol):
    """What posting reads of a write-off: a model instance of the app that keeps
    write-offs, which billing's core does not import. It is the entry's source, named
    by its own ``_meta.label_lower``."""

    @property
    def _meta(self) -> Options[Any]: ...
    @property
    def pk(self) -> int: ...
    @property
    def invoice(self) -> Invoice: ...
    @property
    def accounting_code_id(self) -> int | None: ...
    @property
    def amount_minor(self) -> int: ...


class SourceRef(NamedTuple):
    """A source row named by string, for rows of an app billing does not import."""

    label: str
    pk: int

    def __str__(self) -> str:
        return f"{self.label} {self.pk}"


def source_key(source: models.Model | SourceRef) -> tuple[str, int]:
    if isinstance(source, SourceRef):
        return source.label, source.pk
    return source._meta.label_lower, source.pk


def post_entry(
    *,
    event: str,
    source: models.Model | SourceRef,
    entry_date: datetime.date,
    invoice: Invoice,
    lines: Sequence[Line],
    actor: Actor,
    memo: str = "",
    date_field: str | None = None,
    sequence: int = 0,
    approved_by_label: str = "",
) -> JournalEntry:
    """Write one balanced entry and its lines. Call inside the caller's transaction.

    Refuses an entry whose debits and credits differ, a line that is not exactly
    one positive debit or credit, and a date on or before the lock date (3130,
    with ``date_field`` as the field, so the form shows it beside the date).
    """
    if event not in JournalEvent.values:
        raise ValueError(f"unknown journal event {event!r}")
    if not lines or any(
        (line.debit_minor > 0) == (line.credit_minor > 0)
        or min(line.debit_minor, line.credit_minor) < 0
        for line in lines
    ):
        raise ValueError(f"each line is one positive debit or credit: {lines!r}")
    debits = sum(line.debit_minor for line in lines)
    credits = sum(line.credit_minor for line in lines)
    if debits != credits:
        raise ValueError(f"unbalanced journal entry: debits {debits} != credits {credits}")
    require_open(entry_date, field=date_field)
    source_type, source_id = source_key(source)
    entry = JournalEntry.objects.create(
        entry_date=entry_date,
        currency=invoice.currency,
        event=event,
        invoice_id=invoice.pk,
        account_id=invoice.account_id,
        source_type=source_type,
        source_id=source_id,
        sequence=sequence,
        memo=memo[:300],
        created_by=actor.user,
        created_by_label=actor.label,
        approved_by_label=approved_by_label,
    )
    JournalLine.objects.bulk_create(
        JournalLine(
            entry=entry,
            accounting_code_id=line.accounting_code_id,
            debit_minor=line.debit_minor,
            credit_minor=line.credit_minor,
            entry_date=entry_date,
            currency=invoice.currency,
            invoice_id=invoice.pk,
        )
        for line in lines
    )
    return entry


def post_invoice_sent(invoice: Invoice, *, actor: Actor) -> JournalEntry:
    """AR control / the invoice's revenue code, on the bill date."""
    codes = control_codes()
    return post_entry(
        event=JournalEvent.INVOICE_SENT,
        source=invoice,
        entry_date=invoice.bill_date,
        invoice=invoice,
        lines=[
            debit(codes.ar_control_id, invoice.total_minor),
            credit(
                posting_code(invoice.revenue_code_id, f"invoice {invoice.invoice_no}"),
                invoice.total_minor,
            ),
        ],
        actor=actor,
        memo=f"Invoice {invoice.invoice_no} sent",
        date_field="bill_date",
    )


def post_payment(payment: Payment, *, invoice: Invoice, actor: Actor) -> JournalEntry:
    """Cash / clearing / AR control, on the paid-on date."""
    codes = control_codes()
    return post_entry(
        event=JournalEvent.PAYMENT,
        source=payment,
        entry_date=payment.paid_on,
        invoice=invoice,
        lines=[
            debit(codes.cash_id, payment.amount_minor),
            credit(codes.ar_control_id, payment.amount_minor),
        ],
        actor=actor,
        memo=f"Payment {payment.pk} on invoice {invoice.invoice_no}",
        date_field="paid_on",
    )


def post_recovery(
    payment: Payment,
    *,
    invoice: Invoice,
    reinstated: Sequence[tuple[int, int]],
    actor: Actor,
) -> JournalEntry:
    """A payment that reinstates written-off money, as one entry on the paid-on date:
    AR control / the code each write-off debited for the part reinstated, then cash /
    AR control for the whole payment (the SPEC's four lines; one more credit per
    further code). ``reinstated`` is ``(accounting_code_id, amount_minor)`` pairs.
    Voiding the payment reverses the whole entry (``post_reversal``)."""
    codes = control_codes()
    by_code: dict[int, int] = {}
    for code_id, amount in reinstated:
        by_code[code_id] = by_code.get(code_id, 0) + amount
    return post_entry(
        event=JournalEvent.RECOVERY,
        source=payment,
        entry_date=payment.paid_on,
        invoice=invoice,
        lines=[
            debit(codes.ar_control_id, sum(by_code.values())),
            *(credit(code_id, amount) for code_id, amount in sorted(by_code.items())),
            debit(codes.cash_id, payment.amount_minor),
            credit(codes.ar_control_id, payment.amount_minor),
        ],
        actor=actor,
        memo=f"Recovery payment {payment.pk} on invoice {invoice.invoice_no}",
        date_field="paid_on",
    )


def post_writeoff(
    writeoff: PostedWriteOff,
    *,
    entry_date: datetime.date,
    actor: Actor,
    invoice: Invoice | None = None,
    approved_by_label: str = "",
) -> JournalEntry:
    """The write-off's code (revenue or expense) / AR control, on ``entry_date``.

    A write-off that came from a dispute posts as a dispute conversion. Callable on
    its own, e.g. when a pending write-off is approved (``entry_date`` is then its
    write-off date, or the approval date when that period has closed since).
    """
    codes = control_codes()
    invoice = invoice or writeoff.invoice
    converted = getattr(writeoff, "origin_dispute_id", None) is not None
    return post_entry(
        event=JournalEvent.DISPUTE_CONVERSION if converted else JournalEvent.WRITEOFF,
        source=SourceRef(writeoff._meta.label_lower, writeoff.pk),
        entry_date=entry_date,
        invoice=invoice,
        lines=[
            debit(
                posting_code(writeoff.accounting_code_id, f"write-off {writeoff.pk}"),
                writeoff.amount_minor,
            ),
            credit(codes.ar_control_id, writeoff.amount_minor),
        ],
        actor=actor,
        memo=(
            f"{'Dispute conversion' if converted else 'Write-off'} {writeoff.pk} "
            f"on invoice {invoice.invoice_no}"
        ),
        date_field="writeoff_date",
        approved_by_label=approved_by_label,
    )


def net_by_code(source: models.Model | SourceRef) -> dict[int, int]:
    """What ``source`` has posted so far, per code: debits minus credits."""
    source_type, source_id = source_key(source)
    rows = (
        JournalLine.objects.filter(entry__source_type=source_type, entry__source_id=source_id)
        .values_list("accounting_code_id")
        .annotate(net=Sum("debit_minor") - Sum("credit_minor"))
        .order_by("accounting_code_id")
    )
    return {code_id: net for code_id, net in rows if net}


def _lines_for(net: Iterable[tuple[int, int]]) -> list[Line]:
    return [debit(code, amount) if amount > 0 else credit(code, -amount) for code, amount in net]


def post_reversal(
    source: models.Model | SourceRef,
    *,
    event: str,
    invoice: Invoice,
    actor: Actor,
    memo: str = "",
    entry_date: datetime.date | None = None,
) -> JournalEntry:
    """The reverse of everything ``source`` has posted (its entry, and any
    reclassification or recovery since), dated today: never into a closed period.
    (``entry_date`` is for ``backfill_journal``, which posts history on its own dates.)"""
    net = net_by_code(source)
    if not net:
        raise BillingError(INVALID_STATE, f"{source} has no postings to reverse.")
    return post_entry(
        event=event,
        source=source,
        entry_date=entry_date or today(),
        invoice=invoice,
        lines=_lines_for((code, -amount) for code, amount in net.items()),
        actor=actor,
        memo=memo or f"Reversal of {source}",
    )


def post_reclassification(
    source: models.Model | SourceRef,
    *,
    invoice: Invoice,
    old_code_id: int,
    new_code_id: int,
    actor: Actor,
    memo: str = "",
) -> JournalEntry | None:
    """Move what ``source`` has posted on ``old_code_id`` to ``new_code_id``, dated
    today. Nothing to move (a reversed write-off, a code it never used) posts nothing."""
    if old_code_id == new_code_id:
        return None
    amount = net_by_code(source).get(old_code_id, 0)
    if amount == 0:
        return None
    source_type, source_id = source_key(source)
    sequence = (
        1
        + JournalEntry.objects.filter(
            event=JournalEvent.RECLASSIFICATION, source_type=source_type, source_id=source_id
        ).count()
    )
    return post_entry(
        event=JournalEvent.RECLASSIFICATION,
        source=source,
        entry_date=today(),
        invoice=invoice,
        lines=_lines_for([(old_code_id, -amount), (new_code_id, amount)]),
        actor=actor,
        memo=memo or f"Reclassification of {source}",
        sequence=sequence,
    )


def post_invoice_revenue_code_change(
    invoice: Invoice, *, old_code_id: int, new_code_id: int, actor: Actor
) -> list[JournalEntry]:
    """A corrected revenue code reclassifies the invoice's sent posting and every
    revenue-impacting write-off of it (whatever is still posted on the old code),
    each as its own entry dated today. Call under the invoice lock, in the
    transaction that changes the codes."""
    sources = (
        JournalEntry.objects.filter(invoice=invoice, lines__accounting_code_id=old_code_id)
        .values_list("source_type", "source_id")
        .distinct()
        .order_by("source_type", "source_id")
    )
    entries = []
    for source_type, source_id in list(sources):
        is_invoice = source_type == Invoice._meta.label_lower
        source = invoice if is_invoice else SourceRef(source_type, source_id)
        entry = post_reclassification(
            source,
            invoice=invoice,
            old_code_id=old_code_id,
            new_code_id=new_code_id,
            actor=actor,
            memo=f"Invoice {invoice.invoice_no} revenue code corrected",
        )
        if entry is not None:
            entries.append(entry)
    return entries
