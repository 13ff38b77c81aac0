"""A small ledger whose report figures are worked out by hand below, shared by the
report tests (selectors, views, browser).

T is today. Amounts in minor units.

Account 5001 (USD):
- I1 10001: bill T-100, due T-70, 100.00; paid 30.00 on T-60.
- I2 10002: bill T-20, due T+10, 50.00; a hold of 20.00 created today, open.
- I3 10003: bill T-200, due T-170, 80.00; a write-off of 30.00 (Bad Debt, revenue-
  impacting, by the clerk) dated T-5; a hold of the rest, 50.00, created T-40,
  released and re-aged by the expiry run of T-3 (expiry re-ages only a hold of the
  whole balance due).
Account 6001 (EUR):
- I4 10004: bill T-50, due T-35, 200.00; paid 50.00 on T-5; a write-off of 25.00
  (Billing Error, expense, by the clerk) dated T-30, reversed today by the supervisor.
Account 7001 (USD):
- I5 10005: bill T-400, due T-370, 40.00; paid in full on T-360.
- I6 10006: bill T-5, due T+25, 60.00.

Aging at T:
- I1 7000, 70 days past: 61-90.
- I2 5000, held 2000: Current 3000.
- I3 8000 - 3000 = 5000, aging date T-3 (the re-age): 1-30.
- I4 20000 - 5000 = 15000 (the reversal, dated T, restores the write-off), 35 days: 31-60.
- I5 0. I6 6000: Current.
USD: Current 9000, 1-30 5000, 61-90 7000, held 2000, total 23000.
EUR: 31-60 15000.

Aging at D = T-10:
- I1 7000, 60 days past: 31-60.
- I2 5000 (its hold was made after D): Current 5000.
- I3 8000 (the write-off is dated after D), held 5000 (created T-40, settled T-3),
  aging date its due date, 160 days: over 90 3000.
- I4 20000 - 2500 = 17500 (payment after D), 25 days: 1-30.
- I5 0; I6 not yet billed.
USD: Current 5000, 31-60 7000, over 90 3000, held 5000, total 20000.
EUR: 1-30 17500.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from billing.actors import Actor
from billing.factories import AccountFactory, AccountingCodeFactory, InvoiceFactory
from billing.models import AccountingCode, Invoice
from billing.receivables.payments import payment_record
from billing.rules import today
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.expiry import dispute_holds_expire
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import DisputeHold, ReasonCode

DAY = datetime.timedelta(days=1)


@dataclass
class ReportLedger:
    today: datetime.date
    invoices: dict[str, Invoice]


def build_report_ledger(clerk, supervisor, settings) -> ReportLedger:
    t = today()
    clerk_actor, supervisor_actor = Actor.for_user(clerk), Actor.for_user(supervisor)
    expense = AccountingCodeFactory(
        code="6100", name="Bad debt expense", kind=AccountingCode.Kind.EXPENSE
    )
    usd = AccountFactory(acct_no=5001, name="Acme Corp", currency="USD")
    eur = AccountFactory(acct_no=6001, name="Euro GmbH", currency="EUR")
    other = AccountFactory(acct_no=7001, name="Zeta Ltd", currency="USD")

    def invoice(no, account, bill_ago, due_ago, total):
        return InvoiceFactory(
            invoice_no=no,
            account=account,
            bill_date=t - bill_ago * DAY,
            due_date=t - due_ago * DAY,
            aging_date=t - due_ago * DAY,
            total_minor=total,
        )

    i1 = invoice(10001, usd, 100, 70, 10000)
    i2 = invoice(10002, usd, 20, -10, 5000)
    i3 = invoice(10003, usd, 200, 170, 8000)
    i4 = invoice(10004, eur, 50, 35, 20000)
    i5 = invoice(10005, other, 400, 370, 4000)
    i6 = invoice(10006, other, 5, -25, 6000)

    payment_record(invoice_id=i1.pk, amount="30.00", paid_on=t - 60 * DAY, actor=clerk_actor)
    payment_record(invoice_id=i4.pk, amount="50.00", paid_on=t - 5 * DAY, actor=clerk_actor)
    payment_record(invoice_id=i5.pk, amount="40.00", paid_on=t - 360 * DAY, actor=clerk_actor)

    dispute_hold_create(invoice_id=i2.pk, amount="20.00", comments="Disputed", actor=clerk_actor)
    writeoff_create(
        invoice_id=i3.pk,
        amount="30.00",
        reason_code=ReasonCode.BAD_DEBT,
        comments="Uncollectable",
        writeoff_date=t - 5 * DAY,
        actor=clerk_actor,
    )
    old_hold = dispute_hold_create(
        invoice_id=i3.pk, amount="50.00", comments="Old dispute", actor=clerk_actor
    )
    # Holds are made "now"; this one is made to have been opened 40 days ago and to
    # have expired before the run of T-3.
    DisputeHold.objects.filter(pk=old_hold.pk).update(
        created_at=timezone.now() - 40 * DAY, expires_on=t - 10 * DAY
    )
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release_reage"
    dispute_holds_expire(run_date=t - 3 * DAY)
    mistaken = writeoff_create(
        invoice_id=i4.pk,
        amount="25.00",
        reason_code=ReasonCode.BILLING_ERROR,
        comments="Billing error",
        writeoff_date=t - 30 * DAY,
        revenue_impacting=False,
        accounting_code_id=expense.pk,
        actor=clerk_actor,
    )
    writeoff_reverse(writeoff_id=mistaken.pk, reason="Not an error", actor=supervisor_actor)
    return ReportLedger(
        today=t,
        invoices={"I1": i1, "I2": i2, "I3": i3, "I4": i4, "I5": i5, "I6": i6},
    )
