"""Accounts, invoices and their ledger rows (lines, payments, write-offs, dispute
holds), drawn from one seeded random stream and handed to ``RowWriter``s.

Every row starts from the factory-boy factories the tests use. Accounts are built
one by one by ``AccountFactory``. Invoices, lines, payments, write-offs and dispute
holds are far too many for that: building one row through factory-boy costs
60-110 µs (measured), minutes on its own for a million invoices. So each of those
factories builds one prototype row, which gives every column its default, and each
seeded row is that prototype's values with the varying columns (amounts, dates,
statuses, keys) set from the random stream. Every invoice's running totals are
computed from the very rows built with it, so ``verify_ledger`` agrees with the result.
"""

from __future__ import annotations

import datetime
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from billing.factories import (
    AccountFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    PaymentFactory,
)
from billing.ledger.tax import add_months
from billing.models import Account, AccountingCode, Invoice, InvoiceLine, Payment, TaxRate
from writeoffs.factories import DisputeHoldFactory, WriteOffFactory
from writeoffs.models import WRITEOFF_REASON_CODES, DisputeHold, Source, WriteOff
from writeoffs.seeding import SEED_LABEL
from writeoffs.seeding.rows import RowWriter, moment

# Write-offs per invoice of the busy account (--busy-account-writeoffs).
BUSY_WRITEOFFS_PER_INVOICE = 100
# Every TAXED_EVERY-th invoice number charges tax on its lines at the starting rate
# (STD20); chosen by number, not drawn, so the random stream is the same as before.
TAXED_EVERY = 4
# Chances that an invoice with something left to collect gets a write-off, then a hold.
WRITEOFF_SHARE = 0.26
HOLD_SHARE = 0.11

ACCOUNTING_CODES = [
    ("4000", "Subscription revenue", AccountingCode.Kind.REVENUE),
    ("4100", "Professional services revenue", AccountingCode.Kind.REVENUE),
    ("6100", "Bad debt expense", AccountingCode.Kind.EXPENSE),
    ("6200", "Customer goodwill expense", AccountingCode.Kind.EXPENSE),
]
LINE_DESCRIPTIONS = [
    "Subscription",
    "Additional seats",
    "Usage overage",
    "Premium support",
    "Onboarding services",
    "Data storage",
]
WRITEOFF_COMMENTS = [
    "Customer bankrupt; balance uncollectible.",
    "Goodwill credit agreed with the customer.",
    "Billing error on the original invoice.",
    "Returned goods.",
    "Promotional discount applied after billing.",
    "Small balance written off.",
]
DISPUTE_COMMENTS = [
    "Customer disputes the usage charge.",
    "Customer says the service was not delivered.",
    "Duplicate charge reported by the customer.",
]
PAYMENT_METHODS = list(Payment.Method.values)


def _between(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    if end <= start:
        return start
    return start + datetime.timedelta(days=rng.randint(0, (end - start).days))


def _split(rng: random.Random, amount: int, parts: int) -> list[int]:
    """``amount`` split into ``parts`` positive integers (fewer if it is too small)."""
    parts = max(1, min(parts, amount))
    cuts = sorted(rng.sample(range(1, amount), parts - 1)) if parts > 1 else []
    edges = [0, *cuts, amount]
    return [b - a for a, b in itertools.pairwise(edges)]


@dataclass
class InvoiceDraft:
    """An invoice being built, with its running totals."""

    id: int
    invoice_no: int
    account: Account
    status: str
    bill_date: datetime.date
    revenue_code_id: int
    total: int = 0
    tax: int = 0
    paid: int = 0
    written_off: int = 0
    held: int = 0

    @property
    def available(self) -> int:
        return self.total - self.paid - self.written_off - self.held


@dataclass
class Tally:
    invoices_by_status: dict[str, int] = field(default_factory=dict)
    expired_open_holds: int = 0


class LedgerBuilder:
    """Builds accounts and invoices with their ledger rows into one ``RowWriter`` per
    table, relative to ``as_of``. The factories' prototypes are built here, so the
    caller reseeds factory-boy's random stream first."""

    def __init__(
        self,
        *,
        rng: random.Random,
        as_of: datetime.date,
        codes: dict[str, AccountingCode],
        next_invoice_no: int,
        tax_rate: TaxRate | None = None,
    ) -> None:
        self.rng = rng
        self.tax_rate = tax_rate
        self.as_of = as_of
        self.next_invoice_no = next_invoice_no
        self.revenue_code_ids = [c.pk for c in codes.values() if c.kind == "revenue"]
        self.expense_code_ids = [c.pk for c in codes.values() if c.kind == "expense"]
        prototype_account = AccountFactory.build(name="", email="")
        prototype_invoice = InvoiceFactory.build(
            account=prototype_account, revenue_code=codes["4000"], total_minor=0
        )
        self.invoices = RowWriter(Invoice, prototype_invoice)
        self.lines = RowWriter(InvoiceLine, InvoiceLineFactory.build(invoice=prototype_invoice))
        self.payments = RowWriter(Payment, PaymentFactory.build(invoice=prototype_invoice))
        self.writeoffs = RowWriter(WriteOff, WriteOffFactory.build(invoice=prototype_invoice))
        # Every seeded row names one actor, SEED_LABEL (the factories' own is "seed").
        self.holds = RowWriter(
            DisputeHold,
            DisputeHoldFactory.build(invoice=prototype_invoice, created_by_label=SEED_LABEL),
        )
        self.tally = Tally()

    def flush(self) -> None:
        """Insert everything built since the last flush."""
        # Parents first, although the foreign keys are only checked at commit.
        for writer in (self.invoices, self.lines, self.payments, self.holds, self.writeoffs):
            writer.flush()

    def account(self, acct_no: int) -> Account:
        rng = self.rng
        return AccountFactory.build(
            acct_no=acct_no,
            client_acct_id=f"CL-{acct_no}",
            userid=f"u{acct_no}",
            currency="EUR" if rng.random() < 0.1 else "USD",
        )

    def _new_invoice(self, account: Account, status: str, bill_date: datetime.date) -> InvoiceDraft:
        rng = self.rng
        draft = InvoiceDraft(
            id=self.invoices.reserve(),
            invoice_no=self.next_invoice_no,
            account=account,
            status=status,
            bill_date=bill_date,
            revenue_code_id=rng.choice(self.revenue_code_ids),
        )
        self.next_invoice_no += 1
        return draft

    def _taxed(self, draft: InvoiceDraft) -> bool:
        return self.tax_rate is not None and draft.invoice_no % TAXED_EVERY == 0

    def _add_line(
        self, draft: InvoiceDraft, description: str, amount: int, *, taxable: bool = True
    ) -> None:
        rate = self.tax_rate if taxable and self._taxed(draft) else None
        tax = rate.tax_on_minor(amount) if rate is not None else 0
        self.lines.add(
            invoice_id=draft.id,
            description=description,
            service_start=draft.bill_date,
            service_end=draft.bill_date + datetime.timedelta(days=30),
            amount_minor=amount,
            tax_rate_id=rate.pk if rate is not None else None,
            tax_minor=tax,
        )
        draft.total += amount + tax
        draft.tax += tax

    def _write_invoice(self, draft: InvoiceDraft) -> None:
        due_date = draft.bill_date + datetime.timedelta(days=30)
        void: dict[str, Any] = {}
        if draft.status == Invoice.Status.VOID:
            # Sent, then voided (invoice_void) a week later: the journal has both. No
            # draw from the random stream, so the rest of the demo data stays as it was.
            voided_on = min(draft.bill_date + datetime.timedelta(days=7), self.as_of)
            void = {"voided_at": moment(voided_on), "void_reason": "Issued in error."}
        self.invoices.add(
            **void,
            pk=draft.id,
            invoice_no=draft.invoice_no,
            account_id=draft.account.pk,
            currency=draft.account.currency,
            bill_date=draft.bill_date,
            due_date=due_date,
            aging_date=due_date,
            status=draft.status,
            revenue_code_id=draft.revenue_code_id,
            total_minor=draft.total,
            tax_minor=draft.tax,
            paid_minor=draft.paid,
            written_off_minor=draft.written_off,
            held_minor=draft.held,
        )
        by_status = self.tally.invoices_by_status
        by_status[draft.status] = by_status.get(draft.status, 0) + 1

    def invoice(self, account: Account) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.08:
            status, age = Invoice.Status.DRAFT.value, rng.randint(0, 15)
        elif roll < 0.13:
            status, age = Invoice.Status.VOID.value, rng.randint(0, 720)
        else:
            status, age = Invoice.Status.SENT.value, rng.randint(0, 720)
        draft = self._new_invoice(account, status, self.as_of - datetime.timedelta(days=age))
        for description in rng.sample(LINE_DESCRIPTIONS, rng.choice((1, 1, 2, 2, 3))):
            cents = rng.randint(20, 2500) * 100 + rng.choice((0, 0, 50, 99))
            self._add_line(draft, description, cents)
        if status == Invoice.Status.SENT:
            self._build_ledger(draft)
        self._write_invoice(draft)

    def _build_ledger(self, draft: InvoiceDraft) -> None:
        """Payments, write-offs and holds for a sent invoice, kept within its balance."""
        rng = self.rng
        # About 40% paid in full, 25% in part.
        roll = rng.random()
        if roll < 0.65:
            target = draft.available if roll < 0.4 else draft.available * rng.randint(20, 80) // 100
            for amount in _split(rng, target, rng.randint(1, 2)) if target else []:
                self._payment(draft, amount)
            if rng.random() < 0.03:
                # A payment recorded by mistake and removed: it does not count.
                self._payment(draft, rng.randint(100, 5000), removed=True)

        # A write-off of part or all of what is left; some were later reversed. With
        # the holds converted below, about one invoice in five has a write-off (the
        # benchmark's 1M invoices carry about 200,000 write-offs and 50,000 holds).
        if draft.available > 0 and rng.random() < WRITEOFF_SHARE:
            amount = draft.available if rng.random() < 0.5 else max(1, draft.available // 2)
            self._writeoff(draft, amount, reversed_=rng.random() < 0.15)

        # Dispute holds: open (some already past expiry), released, or converted.
        if draft.available > 0 and rng.random() < HOLD_SHARE:
            self._hold(draft)

    def _hold(self, draft: InvoiceDraft) -> None:
        rng = self.rng
        amount = draft.available if rng.random() < 0.4 else max(1, draft.available // 3)
        # Fresh demo data: most holds expire in the future, some this week, a few
        # have expired (issue 15). Dated back from the expiry, never before the bill.
        days = rng.choice((14, 30, 30, 60, 90))
        freshness = rng.random()
        if freshness < 0.1:
            expires_on = self.as_of - datetime.timedelta(days=rng.randint(1, 10))
        elif freshness < 0.25:
            expires_on = self.as_of + datetime.timedelta(days=rng.randint(0, 6))
        else:
            expires_on = self.as_of + datetime.timedelta(days=rng.randint(7, days))
        created = min(max(expires_on - datetime.timedelta(days=days), draft.bill_date), self.as_of)
        expires_on = created + datetime.timedelta(days=days)
        # Column values, as RowWriter.add takes them.
        hold: dict[str, Any] = {
            "invoice_id": draft.id,
            "account_id": draft.account.pk,
            "amount_minor": amount,
            "comments": rng.choice(DISPUTE_COMMENTS),
            "created_at": moment(created),
            "expire_hold_days": days,
            "expires_on": expires_on,
        }
        settle = rng.random()
        if settle < 0.7:
            draft.held += amount
            if expires_on < self.as_of:
                self.tally.expired_open_holds += 1
            self.holds.add(**hold)
            return
        settled_on = _between(rng, created, self.as_of)
        hold.update(
            settled_by_label=SEED_LABEL, settled_at=moment(settled_on), settled_on=settled_on
        )
        if settle < 0.85:
            self.holds.add(
                **hold,
                status=DisputeHold.Status.RELEASED.value,
                settlement_comments="Customer accepted the charge.",
            )
        else:
            hold_id = self.holds.add(
                **hold,
                status=DisputeHold.Status.WRITTEN_OFF.value,
                settlement_comments="Dispute upheld.",
            )
            self._writeoff(draft, amount, origin_id=hold_id, on=settled_on)

    def busy_invoice(self, account: Account, writeoffs: int) -> None:
        rng = self.rng
        bill_date = self.as_of - datetime.timedelta(days=rng.randint(60, 720))
        draft = self._new_invoice(account, Invoice.Status.SENT.value, bill_date)
        self._add_line(draft, "Usage charges", BUSY_WRITEOFFS_PER_INVOICE * 1000, taxable=False)
        for _ in range(writeoffs):
            self._writeoff(draft, rng.randint(100, 900), reversed_=rng.random() < 0.05)
        self._write_invoice(draft)

    def _payment(self, draft: InvoiceDraft, amount: int, removed: bool = False) -> None:
        rng = self.rng
        paid_on = _between(rng, draft.bill_date, self.as_of)
        values: dict[str, Any] = {
            "invoice_id": draft.id,
            "account_id": draft.account.pk,
            "amount_minor": amount,
            "paid_on": paid_on,
            "method": rng.choice(PAYMENT_METHODS),
            "reference": f"REF-{draft.invoice_no}-{rng.randint(1000, 9999)}",
            "recorded_by_label": SEED_LABEL,
            "created_at": moment(paid_on),
        }
        if removed:
            values.update(
                status=Payment.Status.REMOVED.value,
                removed_by_label=SEED_LABEL,
                removed_at=moment(paid_on),
                removal_reason="Recorded against the wrong invoice.",
            )
        else:
            draft.paid += amount
        self.payments.add(**values)

    def _writeoff(
        self,
        draft: InvoiceDraft,
        amount: int,
        *,
        reversed_: bool = False,
        origin_id: int | None = None,
        on: datetime.date | None = None,
    ) -> None:
        rng = self.rng
        revenue_impacting = origin_id is not None or rng.random() < 0.7
        writeoff_date = on or _between(rng, draft.bill_date, self.as_of)
        values: dict[str, Any] = {
            "invoice_id": draft.id,
            "account_id": draft.account.pk,
            "amount_minor": amount,
            "comments": (
                "Converted from a dispute hold." if origin_id else rng.choice(WRITEOFF_COMMENTS)
            ),
            "created_by_label": SEED_LABEL,
            "requested_by_label": SEED_LABEL,
            "created_at": moment(writeoff_date),
            "source": Source.UI.value,
            "reason_code": rng.choice(WRITEOFF_REASON_CODES),
            "writeoff_date": writeoff_date,
            "revenue_impacting": revenue_impacting,
            "accounting_code_id": (
                draft.revenue_code_id if revenue_impacting else rng.choice(self.expense_code_ids)
            ),
            "origin_dispute_id": origin_id,
        }
        if not revenue_impacting and self.tax_rate is not None and self._taxed(draft):
            # A bad debt's tax waits for relief until the due date is far enough back.
            due_on = add_months(
                draft.bill_date + datetime.timedelta(days=30), self.tax_rate.relief_after_months
            )
            values.update(tax_relief_due_on=due_on, tax_relief_pending=writeoff_date < due_on)
        reversed_on = _between(rng, writeoff_date, self.as_of) if reversed_ else None
        if reversed_on is not None:
            values.update(
                status=WriteOff.Status.REVERSED.value,
                reversed_by_label=SEED_LABEL,
                reversed_at=moment(reversed_on),
                reversal_reason="Written off in error.",
            )
        else:
            draft.written_off += amount
        self.writeoffs.add(**values)

    # --- demo users ----------------------------------------------------------
