"""Posting to the journal: the one place a journal entry or line is written.

Every service that makes a money event calls one of these inside its own
transaction, so the entry commits or rolls back with the event. What each event
posts is its rule in ``billing.ledger.rules``, interpreted here for one row.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from django.db import models
from django.db.models import Sum

from billing.actors import Actor
from billing.errors import INVALID_STATE, BillingError
from billing.ledger import journal_tallies
from billing.ledger import tax as tax_split
from billing.ledger.aggregates import add_ar_lines
from billing.ledger.codes import ControlCodes, control_codes, posting_code
from billing.ledger.periods import require_open
from billing.ledger.rules import (
    RULES,
    Control,
    Field,
    Per,
    Posts,
    Side,
    event_for,
    posts,
    reverses,
)
from billing.ledger.tax import TaxPart
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
    def invoice_id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def accounting_code_id(self) -> int | None: ...
    @property
    def amount_minor(self) -> int: ...
    @property
    def writeoff_date(self) -> datetime.date: ...
    @property
    def origin_dispute_id(self) -> int | None: ...
    @property
    def approved_by_label(self) -> str: ...
    @property
    def tax_relief_pending(self) -> bool: ...


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
    invoice: Invoice | None,
    lines: Sequence[Line],
    actor: Actor,
    currency: str = "",
    memo: str = "",
    date_field: str | None = None,
    sequence: int = 0,
    approved_by_label: str = "",
) -> JournalEntry:
    """Write one balanced entry and its lines. Call inside the caller's transaction.

    Refuses an entry whose debits and credits differ, a line that is not exactly
    one positive debit or credit, and a date on or before the lock date (3130,
    with ``date_field`` as the field, so the form shows it beside the date).
    An entry of the books as a whole (an allowance provision) has no ``invoice``
    and names its ``currency``.
    """
    if invoice is not None:
        currency = invoice.currency
    if not currency:
        raise ValueError("an entry without an invoice names its currency")
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
        currency=currency,
        event=event,
        invoice_id=invoice.pk if invoice else None,
        account_id=invoice.account_id if invoice else None,
        source_type=source_type,
        source_id=source_id,
        sequence=sequence,
        memo=memo[:300],
        created_by=actor.user,
        created_by_label=actor.label,
        approved_by_label=approved_by_label,
    )
    written = JournalLine.objects.bulk_create(
        JournalLine(
            entry=entry,
            accounting_code_id=line.accounting_code_id,
            debit_minor=line.debit_minor,
            credit_minor=line.credit_minor,
            entry_date=entry_date,
            currency=currency,
            invoice_id=invoice.pk if invoice else None,
        )
        for line in lines
    )
    if invoice is not None:
        # The invoice's AR-control balance, in this transaction (the aggregate today's
        # aging reads): here, where every line is written, so no service can forget.
        add_ar_lines(invoice, lines)
    # The journal's tallies (the month tally, the write-off analysis), likewise.
    journal_tallies.add_entry(entry, [line.pk for line in written])
    return entry


class Part(NamedTuple):
    """A part of a row that a rule's ``Per`` lines read: the written-off money a
    recovery reinstates, on the code its write-off debited."""

    accounting_code_id: int
    amount_minor: int


def _code(code: Control | Field, row: Any, codes: ControlCodes, what: str) -> int:
    if isinstance(code, Control):
        return getattr(codes, code.name)
    return posting_code(getattr(row, code.name), what)


def lines_for(
    rule: Posts,
    row: Any,
    *,
    parts: Sequence[Part] = (),
    tax: Sequence[TaxPart] = (),
    what: str,
) -> list[Line]:
    """``rule``'s lines for ``row`` (its parts, its tax parts), in the rule's order;
    ``what`` names the row in the refusal of a line whose code is unset."""
    codes = control_codes()
    lines: list[Line] = []
    for line in rule.lines:
        if line.per is Per.ROW:
            legs = [(_code(line.code, row, codes, what), getattr(row, line.amount))]
        elif line.per is Per.NET:
            net = getattr(row, line.amount) - sum(part.amount_minor for part in tax)
            legs = [(_code(line.code, row, codes, what), net)] if net else []
        elif line.per is Per.ALL_PARTS:
            total = sum(getattr(part, line.amount) for part in parts)
            legs = [(_code(line.code, None, codes, what), total)]
        else:
            by_code: dict[int, int] = {}
            for part in parts if line.per is Per.EACH_PART else tax:
                code_id = _code(line.code, part, codes, what)
                by_code[code_id] = by_code.get(code_id, 0) + getattr(part, line.amount)
            legs = sorted((code, amount) for code, amount in by_code.items() if amount)
        make = debit if line.side is Side.DEBIT else credit
        lines.extend(make(code_id, amount) for code_id, amount in legs)
    return lines


def post_row(
    event: JournalEvent,
    row: Any,
    *,
    invoice: Invoice,
    actor: Actor,
    source: models.Model | SourceRef | None = None,
    entry_date: datetime.date | None = None,
    parts: Sequence[Part] = (),
    tax: Sequence[TaxPart] = (),
) -> JournalEntry:
    """Post ``event``'s rule (``billing.ledger.rules``) for ``row``: its lines, on its
    date field unless ``entry_date`` is given, with its memo. ``source`` names a row
    of an app billing does not import (``row`` itself otherwise); ``tax`` is the tax
    parts of the row's amount (``billing.ledger.tax``), none when untaxed."""
    rule = posts(event)
    if not rule.applies(row, has_parts=bool(parts)) or row.status not in rule.states:
        raise ValueError(f"{event} does not post {row!r} (status {row.status!r})")
    memo = rule.memo.format(row=row, invoice=invoice)
    return post_entry(
        event=event,
        source=row if source is None else source,
        entry_date=entry_date or getattr(row, rule.date),
        invoice=invoice,
        lines=lines_for(rule, row, parts=parts, tax=tax, what=memo),
        actor=actor,
        memo=memo,
        date_field=rule.date,
        approved_by_label=getattr(row, rule.approver) if rule.approver else "",
    )


def post_invoice_sent(invoice: Invoice, *, actor: Actor) -> JournalEntry:
    """AR control for the total, the revenue code for the net and each payable code
    for the tax its lines charged."""
    tax = tax_split.charged(tax_split.invoice_parts(invoice.pk)).tax if invoice.tax_minor else ()
    return post_row(JournalEvent.INVOICE_SENT, invoice, invoice=invoice, actor=actor, tax=tax)


def post_payment(payment: Payment, *, invoice: Invoice, actor: Actor) -> JournalEntry:
    return post_row(JournalEvent.PAYMENT, payment, invoice=invoice, actor=actor)


def post_recovery(
    payment: Payment,
    *,
    invoice: Invoice,
    reinstated: Sequence[tuple[int, int]],
    actor: Actor,
) -> JournalEntry:
    """A payment that reinstates written-off money, as one entry; ``reinstated`` is
    ``(accounting_code_id, amount_minor)`` pairs. Voiding the payment reverses the
    whole entry (``post_reversal``)."""
    return post_row(
        JournalEvent.RECOVERY,
        payment,
        invoice=invoice,
        actor=actor,
        parts=[Part(code_id, amount) for code_id, amount in reinstated],
    )


def post_writeoff(
    writeoff: PostedWriteOff,
    *,
    actor: Actor,
    entry_date: datetime.date | None = None,
    invoice: Invoice | None = None,
) -> JournalEntry:
    """A write-off's entry, or a dispute conversion's for one that came from a dispute.

    Callable on its own, e.g. when a pending write-off is approved (``entry_date`` is
    then its write-off date, or the approval date when that period has closed since).
    """
    event = event_for((JournalEvent.WRITEOFF, JournalEvent.DISPUTE_CONVERSION), writeoff)
    if event is None:
        raise ValueError(f"no rule posts write-off {writeoff.pk}")
    invoice = invoice or writeoff.invoice
    return post_row(
        event,
        writeoff,
        source=SourceRef(writeoff._meta.label_lower, writeoff.pk),
        entry_date=entry_date,
        invoice=invoice,
        actor=actor,
        tax=writeoff_split(writeoff, writeoff.amount_minor, invoice=invoice).tax,
    )


def writeoff_split(
    writeoff: PostedWriteOff, amount_minor: int, *, invoice: Invoice | None = None
) -> tax_split.Split:
    """``amount_minor`` of ``writeoff`` (all of it, or a part a recovery reinstates)
    split over its invoice's lines, its tax on the code the write-off's tax sits on.
    An untaxed invoice's is all net, without reading its lines."""
    if not (invoice or writeoff.invoice).tax_minor:
        return tax_split.Split(amount_minor, ())
    parts = tax_split.invoice_parts(writeoff.invoice_id)
    return tax_split.split(amount_minor, parts, relief_pending=writeoff.tax_relief_pending)


def post_provision(run: Any, *, actor: Actor) -> JournalEntry:
    """A provision run's entry (``run`` is a row of the app that keeps them, which
    billing does not import): its rule's lines for the run's signed ``posted_minor``;
    a release (negative) posts each line on its other side."""
    rule = posts(JournalEvent.PROVISION)
    if run.status not in rule.states or not run.posted_minor:
        raise ValueError(f"provision run {run.pk} posts nothing")
    memo = rule.memo.format(row=run, invoice=None)
    lines = lines_for(rule, run, what=memo)
    if run.posted_minor < 0:
        lines = [
            Line(line.accounting_code_id, -line.credit_minor, -line.debit_minor) for line in lines
        ]
    return post_entry(
        event=JournalEvent.PROVISION,
        source=SourceRef(run._meta.label_lower, run.pk),
        entry_date=getattr(run, rule.date),
        invoice=None,
        currency=run.currency,
        lines=lines,
        actor=actor,
        memo=memo,
        date_field=rule.date,
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
    event: JournalEvent,
    invoice: Invoice,
    actor: Actor,
    entry_date: datetime.date | None = None,
) -> JournalEntry:
    """``event``'s rule: the reverse of everything ``source`` has posted (its entry,
    and any reclassification or recovery since), dated today, the day of the reversal:
    never into a closed period. (``entry_date`` is for ``backfill_journal``, which
    posts history on the day each reversal happened.)"""
    rule = reverses(event)
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
        memo=rule.memo.format(row=source, invoice=invoice),
    )


def post_reclassification(
    source: models.Model | SourceRef,
    *,
    invoice: Invoice,
    old_code_id: int,
    new_code_id: int,
    actor: Actor,
    memo: str = "",
    amount_minor: int | None = None,
) -> JournalEntry | None:
    """Move what ``source`` has posted on ``old_code_id`` to ``new_code_id``, dated
    today. Nothing to move (a reversed write-off, a code it never used) posts nothing.

    ``amount_minor`` moves only that share of it (a net, debits minus credits, of the
    same sign): a recovery payment's entry credits one code for every write-off it
    reinstated, and only the corrected write-off's part follows that write-off.
    """
    if old_code_id == new_code_id:
        return None
    posted = net_by_code(source).get(old_code_id, 0)
    amount = posted if amount_minor is None else amount_minor
    if amount and (posted * amount <= 0 or abs(amount) > abs(posted)):
        raise ValueError(
            f"{source} has posted {posted} on code {old_code_id}; it cannot move {amount}"
        )
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
        memo=memo or RULES[JournalEvent.RECLASSIFICATION].memo.format(row=source, invoice=invoice),
        sequence=sequence,
    )
