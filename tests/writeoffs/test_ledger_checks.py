"""verify_ledger's checks of what an audit found could drift (issue 26): each passes
on clean books and fails once the rows are corrupted behind the services' back."""

import datetime

import pytest

from billing.actors import Actor
from billing.factories import AccountFactory, AccountingCodeFactory, InvoiceFactory
from billing.models import AccountingCode, Invoice, JournalEntry, JournalLine
from billing.receivables.invoices import invoice_revenue_code_correct
from billing.receivables.payments import payment_record
from billing.rules import today
from billing.verification import verify_ledger
from writeoffs.ledger_checks import (
    FUTURE_DATE,
    NEGATIVE_AGING,
    REPORTED_RECOVERIES,
    WRITEOFF_CODE,
    month_ends,
    verify_books,
)
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.recovery import recovery_record
from writeoffs.models import DisputeHold, WriteOff, WriteOffRecovery

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
KINDS = (WRITEOFF_CODE, REPORTED_RECOVERIES, NEGATIVE_AGING, FUTURE_DATE)


@pytest.fixture
def books(account, supervisor_actor, admin_user):
    """1,000.00 billed 40 days ago; 400.00 bad debt; 600.00 paid; 300.00 recovered;
    the revenue code corrected since; and another account's invoice with a hold,
    released."""
    invoice = InvoiceFactory(account=account, total_minor=1000_00)
    writeoff_create(
        invoice_id=invoice.pk, amount="400.00", reason_code=0, comments="x", actor=supervisor_actor
    )
    payment_record(invoice_id=invoice.pk, amount="600.00", actor=supervisor_actor)
    recovery = recovery_record(invoice_id=invoice.pk, amount="300.00", actor=supervisor_actor)
    invoice_revenue_code_correct(
        invoice_id=invoice.pk,
        revenue_code_id=AccountingCodeFactory(code="4100", name="Services").pk,
        actor=Actor.for_user(admin_user),
        reason="Remapped",
    )
    other = InvoiceFactory(account=AccountFactory(), total_minor=500_00)
    hold = dispute_hold_create(
        invoice_id=other.pk, amount="200.00", comments="Disputed", actor=supervisor_actor
    )
    dispute_hold_settle(dispute_hold_id=hold.pk, action="release", actor=supervisor_actor)
    return invoice, recovery, other, hold


def failed(kind: str) -> int:
    return verify_books(10).failed.get(kind, 0)


def test_clean_books_pass_every_check(books):
    result = verify_ledger(10)
    assert result.ok, result.failures
    assert {"writeoff_codes", "recovery_currencies", "aging_dates"} <= set(result.checked)


def test_a_writeoff_moved_to_another_code_without_its_postings_fails_writeoff_code(books):
    other = AccountingCodeFactory(code="6300", name="Other", kind=AccountingCode.Kind.EXPENSE)
    WriteOff.objects.update(accounting_code=other)
    result = verify_books(10)
    # The write-off's own postings and the recovery's credit are both on 4100.
    assert result.failed[WRITEOFF_CODE] == 2
    assert [f.kind for f in result.failures] == [WRITEOFF_CODE, WRITEOFF_CODE]


def test_a_recovery_credit_left_on_the_old_code_fails_writeoff_code(books):
    invoice, recovery, *_ = books
    # As before the fix: move the payment's reclassification back onto 4000.
    JournalLine.objects.filter(
        entry__source_type="billing.payment",
        entry__source_id=recovery.pk,
        entry__event="reclassification",
    ).update(accounting_code=invoice.revenue_code)
    assert failed(WRITEOFF_CODE) == 1


def test_recovered_that_the_report_overstates_fails_reported_recoveries(books):
    WriteOffRecovery.objects.update(amount_minor=200_00)
    result = verify_books(10)
    assert result.failed[REPORTED_RECOVERIES] == 1
    (message,) = [f.message for f in result.failures if f.kind == REPORTED_RECOVERIES]
    assert "reports 30000 recovered, but the active recoveries add up to 20000" in message


def test_a_past_hold_bigger_than_the_balance_then_fails_negative_aging(books):
    hold = books[-1]
    # The hold as if it had held 900.00 of a 500.00 invoice, two months back.
    DisputeHold.objects.filter(pk=hold.pk).update(
        amount_minor=900_00, created_at=hold.created_at - 60 * DAY
    )
    assert failed(NEGATIVE_AGING) >= 1
    assert failed(FUTURE_DATE) == 0


def test_future_entry_and_aging_dates_fail_future_date(books):
    invoice, *_ = books
    assert failed(FUTURE_DATE) == 0
    JournalEntry.objects.filter(pk=JournalEntry.objects.order_by("id").last().pk).update(
        entry_date=today() + DAY
    )
    assert failed(FUTURE_DATE) == 1
    Invoice.objects.filter(pk=invoice.pk).update(aging_date=today() + 40 * DAY)
    assert failed(FUTURE_DATE) == 2


def test_an_aging_date_ahead_of_today_that_is_the_due_date_is_not_a_future_date(account):
    InvoiceFactory(account=account, bill_date=today(), due_date=today() + 30 * DAY)
    assert failed(FUTURE_DATE) == 0


def test_month_ends_run_from_the_first_month_to_today():
    assert month_ends(datetime.date(2026, 1, 15), datetime.date(2026, 3, 10)) == [
        datetime.date(2026, 1, 31),
        datetime.date(2026, 2, 28),
        datetime.date(2026, 3, 10),
    ]
    assert month_ends(datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)) == [
        datetime.date(2026, 3, 31)
    ]
