"""The posting rules: the SPEC's journal table, once, as data.

Per journal event: the lines of its entry in order (debit or credit, which code,
which amount), the date it posts on, its memo, and the states of the row that
carry it. Everything that writes or checks the journal reads this table:

- ``billing.ledger.posting`` interprets a rule for one row: what every service posts;
- ``billing.ledger.bulk`` translates a rule into INSERT … SELECT statements over many
  rows: how ``seed_billing`` posts its batches;
- ``verify_ledger`` states from it what each row must have posted.

So a rule changed here changes all of them; tests/billing/test_posting_rules.py
proves that the seed posts, entry by entry, what the services post, and
tests/billing/test_journal.py pins each rule to the SPEC's table. A rule names the
fields of the row it posts (an invoice's ``total_minor``, a write-off's
``accounting_code_id``), never its model: billing does not know the models of the
apps built on it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from django.utils import timezone

from billing.models import Invoice, JournalEvent, Payment


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"

    @property
    def opposite(self) -> Side:
        return Side.CREDIT if self is Side.DEBIT else Side.DEBIT


class Control(NamedTuple):
    """A control code, by its name in ``billing.ledger.codes.ControlCodes``."""

    name: str


class Field(NamedTuple):
    """The code a field of the row (or of each part) names."""

    name: str


AR_CONTROL = Control("ar_control_id")
CASH = Control("cash_id")
ALLOWANCE = Control("allowance_id")
BAD_DEBT_EXPENSE = Control("bad_debt_expense_id")


class Per(StrEnum):
    """What a line's amount is read from."""

    # The row: one line.
    ROW = "row"
    # The row's parts (the write-offs a recovery reinstates): one line for their sum.
    ALL_PARTS = "all parts"
    # One line per code the parts name, for the sum of that code's parts, by code id.
    EACH_PART = "each part"
    # The row's amount less its tax parts: the net of a taxed invoice or write-off
    # (all of it when untaxed). No line when it is 0.
    NET = "net"
    # One line per tax code the row's tax parts name (``billing.ledger.tax``: the
    # split), for that code's sum; none on an untaxed row.
    EACH_TAX = "each tax"


class LineRule(NamedTuple):
    side: Side
    code: Control | Field
    amount: str
    per: Per = Per.ROW

    @property
    def reversed(self) -> LineRule:
        return self._replace(side=self.side.opposite)


def dr(code: Control | Field, amount: str, per: Per = Per.ROW) -> LineRule:
    return LineRule(Side.DEBIT, code, amount, per)


def cr(code: Control | Field, amount: str, per: Per = Per.ROW) -> LineRule:
    return LineRule(Side.CREDIT, code, amount, per)


class When(NamedTuple):
    """A condition on the row: ``field`` is set (not null), or is not."""

    field: str
    is_set: bool

    def holds(self, row: Any) -> bool:
        return (getattr(row, self.field) is not None) == self.is_set


class DayOf(NamedTuple):
    """The day (in TIME_ZONE) of a moment of the row: when it was reversed or removed.
    A service posts at that moment, so for it this is today."""

    field: str

    def of(self, row: Any) -> datetime.date:
        return timezone.localdate(getattr(row, self.field))


@dataclass(frozen=True)
class Posts:
    """An entry stated from the row's fields.

    ``date`` is the row's field of the entry date (a service may post on a later one:
    an approval of a write-off whose period has closed since posts on its day);
    ``memo`` a ``str.format`` template over ``row`` and ``invoice``; ``states`` the
    row's ``status`` values that carry the entry (a pending write-off has posted
    nothing; a reversed one still carries its entry, and its reversal). ``when``
    picks between events of the same row, ``parts`` names what ``Per`` lines read
    (a rule with parts posts a row that has them, one without a row that has none),
    ``approver`` the row's field copied to the entry's ``approved_by_label``.
    """

    date: str
    lines: tuple[LineRule, ...]
    memo: str
    states: tuple[str, ...]
    when: When | None = None
    parts: str | None = None
    approver: str | None = None

    def applies(self, row: Any, *, has_parts: bool = False) -> bool:
        """Whether this rule posts ``row`` (in whichever state): its ``when`` and parts."""
        return (self.when is None or self.when.holds(row)) and has_parts == (self.parts is not None)


@dataclass(frozen=True)
class Reverses:
    """The reverse of everything the row has posted (its entry under one of ``undoes``,
    and any reclassification or recovery since), on ``date``: never into the closed
    period its entry may sit in."""

    undoes: tuple[JournalEvent, ...]
    date: DayOf
    memo: str
    states: tuple[str, ...]


@dataclass(frozen=True)
class Reclassifies:
    """What the row has posted on a code it no longer names, moved to the one it now
    names, dated today; ``memo`` is the default when the correction gives no reason."""

    memo: str


type Rule = Posts | Reverses | Reclassifies

# Status values, as the rows' models name them (checked by tests/billing/test_posting_rules.py).
# A write-off's "active" and "reversed" are its app's names, which billing does not import.
SENT = Invoice.Status.SENT
ACTIVE = Payment.Status.ACTIVE
REMOVED = Payment.Status.REMOVED
VOID = Invoice.Status.VOID
REVERSED = "reversed"
POSTED = "posted"

# The write-off's code for the net, each tax code for the tax (the split of its amount
# over the invoice's lines) / AR control for the whole amount.
WRITEOFF_LINES = (
    dr(Field("accounting_code_id"), "amount_minor", Per.NET),
    dr(Field("accounting_code_id"), "amount_minor", Per.EACH_TAX),
    cr(AR_CONTROL, "amount_minor"),
)

RULES: dict[JournalEvent, Rule] = {
    # AR control (gross) / the invoice's revenue code (net) / each tax payable code
    # (its lines' tax), on the bill date.
    JournalEvent.INVOICE_SENT: Posts(
        date="bill_date",
        lines=(
            dr(AR_CONTROL, "total_minor"),
            cr(Field("revenue_code_id"), "total_minor", Per.NET),
            cr(Field("accounting_code_id"), "amount_minor", Per.EACH_TAX),
        ),
        memo="Invoice {invoice.invoice_no} sent",
        # Only a sent invoice is voided (invoice_void): a void one carries its sent
        # entry, and the reversal below.
        states=(SENT, VOID),
    ),
    # The reverse of the sent entry (and of any reclassification since), dated the day
    # it was voided: never into the closed period the sent entry may sit in.
    JournalEvent.INVOICE_VOID: Reverses(
        undoes=(JournalEvent.INVOICE_SENT,),
        date=DayOf("voided_at"),
        memo="Invoice {invoice.invoice_no} voided",
        states=(VOID,),
    ),
    # Cash / clearing / AR control, on the paid-on date.
    JournalEvent.PAYMENT: Posts(
        date="paid_on",
        lines=(dr(CASH, "amount_minor"), cr(AR_CONTROL, "amount_minor")),
        memo="Payment {row.pk} on invoice {invoice.invoice_no}",
        states=(ACTIVE, REMOVED),
    ),
    # A payment that reinstates written-off money, as one entry on the paid-on date:
    # AR control / the code each write-off debited, for the part reinstated (split like
    # the write-off: its net on the write-off's code, its tax on the tax code the
    # write-off's tax sits on), then cash / AR control for the whole payment (one more
    # credit per further code).
    JournalEvent.RECOVERY: Posts(
        date="paid_on",
        lines=(
            dr(AR_CONTROL, "amount_minor", Per.ALL_PARTS),
            cr(Field("accounting_code_id"), "amount_minor", Per.EACH_PART),
            dr(CASH, "amount_minor"),
            cr(AR_CONTROL, "amount_minor"),
        ),
        memo="Recovery payment {row.pk} on invoice {invoice.invoice_no}",
        states=(ACTIVE, REMOVED),
        parts="reinstated",
    ),
    # The write-off's code (the invoice's revenue code when revenue-impacting, else
    # the chosen expense code) / AR control, on the write-off date.
    JournalEvent.WRITEOFF: Posts(
        date="writeoff_date",
        lines=WRITEOFF_LINES,
        memo="Write-off {row.pk} on invoice {invoice.invoice_no}",
        states=(ACTIVE, REVERSED),
        when=When("origin_dispute_id", is_set=False),
        approver="approved_by_label",
    ),
    # Like the write-off it makes, whose date is the settlement date.
    JournalEvent.DISPUTE_CONVERSION: Posts(
        date="writeoff_date",
        lines=WRITEOFF_LINES,
        memo="Dispute conversion {row.pk} on invoice {invoice.invoice_no}",
        states=(ACTIVE, REVERSED),
        when=When("origin_dispute_id", is_set=True),
        approver="approved_by_label",
    ),
    JournalEvent.WRITEOFF_REVERSAL: Reverses(
        undoes=(JournalEvent.WRITEOFF, JournalEvent.DISPUTE_CONVERSION),
        date=DayOf("reversed_at"),
        memo="Write-off {row.pk} on invoice {invoice.invoice_no} reversed",
        states=(REVERSED,),
    ),
    # The whole entry, recovery lines included.
    JournalEvent.PAYMENT_VOID: Reverses(
        undoes=(JournalEvent.PAYMENT, JournalEvent.RECOVERY),
        date=DayOf("removed_at"),
        memo="Payment {row.pk} on invoice {invoice.invoice_no} voided",
        states=(REMOVED,),
    ),
    JournalEvent.RECLASSIFICATION: Reclassifies(memo="Reclassification of {row}"),
    # A month end's provision run: bad-debt expense / the allowance for the difference
    # between the allowance required and the one booked, on the month end. The
    # difference is signed: a smaller allowance posts the same lines on the other
    # sides (``billing.ledger.posting.post_provision``). No invoice's entry.
    JournalEvent.PROVISION: Posts(
        date="month_end",
        lines=(dr(BAD_DEBT_EXPENSE, "posted_minor"), cr(ALLOWANCE, "posted_minor")),
        memo="Allowance provision {row.currency} at {row.month_end}",
        states=(POSTED,),
    ),
}


def posts(event: JournalEvent) -> Posts:
    rule = RULES[event]
    if not isinstance(rule, Posts):
        raise TypeError(f"{event} is not stated from a row's fields")
    return rule


def reverses(event: JournalEvent) -> Reverses:
    rule = RULES[event]
    if not isinstance(rule, Reverses):
        raise TypeError(f"{event} does not reverse an entry")
    return rule


def reversal_of(event: JournalEvent) -> JournalEvent | None:
    """The event that undoes ``event``'s entry, if any."""
    return next(
        (e for e, rule in RULES.items() if isinstance(rule, Reverses) and event in rule.undoes),
        None,
    )


def event_for(
    events: tuple[JournalEvent, ...], row: Any, *, has_parts: bool = False
) -> JournalEvent | None:
    """Which of ``events`` (a row's alternatives, e.g. write-off or dispute conversion)
    posts ``row``, whatever its state."""
    return next((e for e in events if posts(e).applies(row, has_parts=has_parts)), None)
