"""Backdating into a hold's lifetime is refused (issue 26, finding 4).

A payment, write-off or recovery dated in the past takes its amount off every day's
balance from its date on. Dated while a since-released hold was open, or while a
since-rejected write-off was pending, it left those days with less balance than was
reserved then, and aging as of them showed negative cells. The amount must now fit
what was available on every day from its date to today (error 3131, beside the date,
naming the tightest day and what was available on it).
"""

import datetime

import pytest

from billing.errors import OVER_AVAILABLE_ON_A_PAST_DAY, BillingError
from billing.factories import InvoiceFactory
from billing.ledger.availability import available_by_day
from billing.receivables.payments import payment_record
from billing.rules import today
from tests.clock import clock_at
from tests.ledger import assert_ledger_consistent
from writeoffs import reports
from writeoffs.approvals.decisions import writeoff_approve, writeoff_reject
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.recovery import recovery_record
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import WriteOff

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def days_ago(n: int) -> datetime.date:
    return today() - n * DAY


def negative_cells(as_of: datetime.date) -> list[tuple]:
    report = reports.aging_report(as_of)
    return [
        (row.acct_no, key, amount)
        for row in report.accounts
        for key, amount in (*row.buckets.items(), *row.outside.items())
        if amount < 0
    ]


def month_ends_and_days(first: datetime.date) -> list[datetime.date]:
    """Every day from ``first`` to today, and the month ends before it since 60 days."""
    days = [first + n * DAY for n in range((today() - first).days + 1)]
    month = (first - 60 * DAY).replace(day=1)
    while month < first:
        next_month = (month + 32 * DAY).replace(day=1)
        days.append(next_month - DAY)
        month = next_month
    return sorted(set(days))


@pytest.fixture
def released_hold(account, supervisor_actor):
    """1,000.00 billed 30 days ago; all of it on hold from 10 days ago, released 5
    days ago."""
    with clock_at(days_ago(30)):
        invoice = InvoiceFactory(account=account, total_minor=1000_00)
    with clock_at(days_ago(10)):
        hold = dispute_hold_create(
            invoice_id=invoice.pk, amount="1000.00", comments="Disputed", actor=supervisor_actor
        )
    with clock_at(days_ago(5)):
        dispute_hold_settle(dispute_hold_id=hold.pk, action="release", actor=supervisor_actor)
    return invoice


@pytest.fixture
def rejected_request(account, clerk_actor, supervisor_actor):
    """1,000.00 billed 30 days ago; a clerk's 800.00 write-off (over their 500.00)
    pending from 10 days ago, rejected 5 days ago."""
    with clock_at(days_ago(30)):
        invoice = InvoiceFactory(account=account, total_minor=1000_00)
    with clock_at(days_ago(10)):
        request = writeoff_create(
            invoice_id=invoice.pk, amount="800.00", reason_code=0, comments="x", actor=clerk_actor
        )
    assert request.status == WriteOff.Status.PENDING
    with clock_at(days_ago(5)):
        writeoff_reject(writeoff_id=request.pk, reason="Collect it", actor=supervisor_actor)
    return invoice


def refusal(call) -> BillingError:
    with pytest.raises(BillingError) as caught:
        call()
    return caught.value


def test_a_payment_dated_while_a_since_released_hold_was_open_is_refused(
    released_hold, supervisor_actor
):
    error = refusal(
        lambda: payment_record(
            invoice_id=released_hold.pk,
            amount="600.00",
            actor=supervisor_actor,
            paid_on=days_ago(8),
        )
    )
    assert (error.code, error.field) == (OVER_AVAILABLE_ON_A_PAST_DAY, "paid_on")
    assert f"On {days_ago(8).isoformat()} only 0.00 USD" in error.message
    assert released_hold.payments.count() == 0


def test_a_payment_dated_from_the_release_on_is_recorded(released_hold, supervisor_actor):
    payment_record(
        invoice_id=released_hold.pk, amount="600.00", actor=supervisor_actor, paid_on=days_ago(5)
    )
    for day in month_ends_and_days(days_ago(12)):
        assert negative_cells(day) == [], day
    assert_ledger_consistent(released_hold.pk)


def test_a_writeoff_dated_while_a_since_released_hold_was_open_is_refused(
    released_hold, supervisor_actor
):
    error = refusal(
        lambda: writeoff_create(
            invoice_id=released_hold.pk,
            amount="100.00",
            reason_code=0,
            comments="x",
            actor=supervisor_actor,
            writeoff_date=days_ago(10),
        )
    )
    assert (error.code, error.field) == (OVER_AVAILABLE_ON_A_PAST_DAY, "writeoff_date")
    assert f"On {days_ago(10).isoformat()}" in error.message


def test_a_writeoff_dated_while_a_since_rejected_writeoff_was_pending_is_refused(
    rejected_request, supervisor_actor
):
    # 1,000.00 less the 800.00 pending then: 200.00 was available 8 days ago.
    error = refusal(
        lambda: writeoff_create(
            invoice_id=rejected_request.pk,
            amount="300.00",
            reason_code=0,
            comments="x",
            actor=supervisor_actor,
            writeoff_date=days_ago(8),
        )
    )
    assert (error.code, error.field) == (OVER_AVAILABLE_ON_A_PAST_DAY, "writeoff_date")
    assert "only 200.00 USD" in error.message

    writeoff_create(
        invoice_id=rejected_request.pk,
        amount="200.00",
        reason_code=0,
        comments="x",
        actor=supervisor_actor,
        writeoff_date=days_ago(8),
    )
    for day in month_ends_and_days(days_ago(12)):
        assert negative_cells(day) == [], day
    assert_ledger_consistent(rejected_request.pk)


def test_a_backdated_recovery_whose_paying_part_did_not_fit_is_refused(account, supervisor_actor):
    """100.00 billed; 40.00 bad debt 20 days ago; all 60.00 left on hold from 10 days
    ago to 5 days ago. A 70.00 recovery pays 60.00 and reinstates 10.00: dated 8 days
    ago, its 60.00 did not fit the nothing available then."""
    with clock_at(days_ago(30)):
        invoice = InvoiceFactory(account=account, total_minor=100_00)
    with clock_at(days_ago(20)):
        writeoff_create(
            invoice_id=invoice.pk,
            amount="40.00",
            reason_code=0,
            comments="x",
            actor=supervisor_actor,
        )
    with clock_at(days_ago(10)):
        hold = dispute_hold_create(
            invoice_id=invoice.pk, amount="60.00", comments="Disputed", actor=supervisor_actor
        )
    with clock_at(days_ago(5)):
        dispute_hold_settle(dispute_hold_id=hold.pk, action="release", actor=supervisor_actor)

    error = refusal(
        lambda: recovery_record(
            invoice_id=invoice.pk, amount="70.00", actor=supervisor_actor, paid_on=days_ago(8)
        )
    )
    assert (error.code, error.field) == (OVER_AVAILABLE_ON_A_PAST_DAY, "paid_on")

    recovery_record(
        invoice_id=invoice.pk, amount="70.00", actor=supervisor_actor, paid_on=days_ago(4)
    )
    for day in month_ends_and_days(days_ago(12)):
        assert negative_cells(day) == [], day
    assert_ledger_consistent(invoice.pk)


def test_available_by_day_follows_the_balance_and_the_reservations(released_hold):
    assert available_by_day(released_hold, days_ago(12)) == [
        (days_ago(12), 1000_00),
        (days_ago(10), 0),
        (days_ago(5), 1000_00),
    ]


def test_today_and_undisturbed_past_days_are_not_refused(account, supervisor_actor):
    with clock_at(days_ago(30)):
        invoice = InvoiceFactory(account=account, total_minor=1000_00)
    payment_record(
        invoice_id=invoice.pk, amount="400.00", actor=supervisor_actor, paid_on=days_ago(20)
    )
    writeoff_create(
        invoice_id=invoice.pk,
        amount="600.00",
        reason_code=0,
        comments="x",
        actor=supervisor_actor,
        writeoff_date=days_ago(19),
    )
    assert_ledger_consistent(invoice.pk)


def test_approving_a_backdated_request_that_no_longer_fits_its_past_days_is_refused(
    account, clerk_actor, supervisor_actor, controller_actor
):
    """A request dated before the day it was made reserves its amount from that day
    only. Approved, it posts on its date: the days between must still have room."""
    with clock_at(days_ago(30)):
        invoice = InvoiceFactory(account=account, total_minor=1000_00)
    first = writeoff_create(
        invoice_id=invoice.pk,
        amount="300.00",
        reason_code=0,
        comments="x",
        actor=clerk_actor,
        writeoff_date=days_ago(20),
    )
    # With the first, 600.00 of the clerk's on the invoice: over their 500.00.
    request = writeoff_create(
        invoice_id=invoice.pk,
        amount="300.00",
        reason_code=0,
        comments="x",
        actor=clerk_actor,
        writeoff_date=days_ago(10),
    )
    assert request.status == WriteOff.Status.PENDING
    # The first comes back today; the days before keep it written off. A payment of
    # 600.00 five days ago fits them (700.00), and today (1,000.00 less 300.00 pending).
    writeoff_reverse(writeoff_id=first.pk, reason="Wrong invoice", actor=supervisor_actor)
    payment_record(
        invoice_id=invoice.pk, amount="600.00", actor=supervisor_actor, paid_on=days_ago(5)
    )

    error = refusal(lambda: writeoff_approve(writeoff_id=request.pk, actor=controller_actor))

    assert error.code == OVER_AVAILABLE_ON_A_PAST_DAY
    assert f"On {days_ago(5).isoformat()} only 100.00 USD" in error.message
    request.refresh_from_db()
    assert request.status == WriteOff.Status.PENDING
    for day in month_ends_and_days(days_ago(12)):
        assert negative_cells(day) == [], day
    assert_ledger_consistent(invoice.pk)
