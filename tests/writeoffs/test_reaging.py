"""Re-aging (SPEC Part 3, "Re-aging") and the daily jobs' run date, at the services.

- A release and re-age moves the invoice's one aging date, for all of its balance
  due; only a supervisor does it (the settle permission).
- Expiry with ``release_reage`` re-ages only when the hold covered the invoice's whole
  balance due; otherwise it releases without re-aging and says why.
- An aging date never moves backwards, never into the future, and never inside a
  closed period (on or before the lock date).
- The daily jobs take no future run date.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils.formats import date_format

from billing.errors import (
    INVALID_INPUT,
    INVALID_STATE,
    PERIOD_CLOSED,
    PERMISSION_DENIED,
    BillingError,
)
from billing.factories import InvoiceFactory
from billing.models import AccountingPeriodLock, Invoice
from billing.receivables.timeline import shown_date as shown
from billing.rules import today
from tests.ledger import assert_ledger_consistent, expired_days_ago
from writeoffs import reports
from writeoffs.approvals.decisions import writeoffs_lapse
from writeoffs.lifecycle.expiry import dispute_holds_expire
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.models import DisputeHold, WriteOff
from writeoffs.timeline import invoice_timeline

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def old_invoice(account):
    """5,000.00 billed 160 days ago, due 130 days ago: all of it "Over 90"."""
    return InvoiceFactory(
        account=account,
        invoice_no=20001,
        bill_date=today() - 160 * DAY,
        due_date=today() - 130 * DAY,
        aging_date=today() - 130 * DAY,
        total_minor=500_000,
    )


def hold_of(invoice, actor, amount: str = "", **kwargs) -> DisputeHold:
    """A hold of ``amount`` (empty: all that is available)."""
    return dispute_hold_create(
        invoice_id=invoice.pk, amount=amount, comments="Disputed", actor=actor, **kwargs
    )


def refused(code: int):
    return pytest.raises(BillingError, check=lambda error: error.code == code)


def usd_buckets(as_of: datetime.date) -> dict[str, int]:
    return {k: v for k, v in reports.aging_report(as_of).totals["USD"].buckets.items() if v}


# --- a person's release and re-age ----------------------------------------------------


def test_a_clerk_may_not_release_and_reage_even_their_own_hold(old_invoice, clerk_actor):
    hold = hold_of(old_invoice, clerk_actor, "0.01")
    with refused(PERMISSION_DENIED):
        dispute_hold_settle(dispute_hold_id=hold.pk, action="release_reage", actor=clerk_actor)
    assert DisputeHold.objects.get(pk=hold.pk).is_open
    assert Invoice.objects.get(pk=old_invoice.pk).aging_date == old_invoice.aging_date


def test_a_supervisors_reage_moves_all_of_the_balance_and_history_says_how_much(
    old_invoice, clerk_actor, supervisor_actor
):
    """A 0.01 hold re-aged by a supervisor moves all 5,000.00 from "Over 90" to
    "Current": the rule allows it (the pop-out says so first), and history records it."""
    assert usd_buckets(today()) == {"over_90": 500_000}
    hold = hold_of(old_invoice, clerk_actor, "0.01")

    settled = dispute_hold_settle(
        dispute_hold_id=hold.pk, action="release_reage", actor=supervisor_actor
    )

    assert settled.status == DisputeHold.Status.RELEASED_REAGED
    assert Invoice.objects.get(pk=old_invoice.pk).aging_date == today()
    assert usd_buckets(today()) == {"current": 500_000}
    described = [(e.actor, e.subject, e.description) for e in invoice_timeline(old_invoice)]
    assert (
        "supervisor",
        "Invoice 20001",
        f"Aging date moved from {shown(today() - 130 * DAY)} to {shown(today())} (re-aged), "
        "for all of its balance of 5,000.00 USD.",
    ) in described
    assert (
        "supervisor",
        f"Dispute hold {hold.pk}",
        "Dispute hold of 0.01 USD released and re-aged.",
    ) in described
    assert_ledger_consistent(old_invoice.pk)


def test_a_reage_that_would_move_the_aging_date_backwards_is_refused(
    account, clerk_actor, supervisor_actor
):
    not_due = InvoiceFactory(
        account=account,
        bill_date=today() - 10 * DAY,
        due_date=today() + 20 * DAY,
        aging_date=today() + 20 * DAY,
    )
    hold = hold_of(not_due, clerk_actor, "5.00")

    with refused(INVALID_STATE) as info:
        dispute_hold_settle(dispute_hold_id=hold.pk, action="release_reage", actor=supervisor_actor)

    assert "never moves backwards" in info.value.message
    assert "Release the hold instead" in info.value.message
    assert DisputeHold.objects.get(pk=hold.pk).is_open
    assert Invoice.objects.get(pk=not_due.pk).aging_date == today() + 20 * DAY
    # A plain release is the way out.
    dispute_hold_settle(dispute_hold_id=hold.pk, action="release", actor=supervisor_actor)
    assert_ledger_consistent(not_due.pk)


def test_a_reage_inside_a_closed_period_is_refused(invoice, clerk_actor, supervisor_actor):
    """The lock date is always before today when it is moved; should a day's books be
    closed through today, a re-age today would change a closed period's aging."""
    hold = hold_of(invoice, clerk_actor, "10.00")
    AccountingPeriodLock.objects.create(locked_through=today(), reason="Closed")

    with refused(PERIOD_CLOSED) as info:
        dispute_hold_settle(dispute_hold_id=hold.pk, action="release_reage", actor=supervisor_actor)

    assert "never moves inside a closed period" in info.value.message
    assert DisputeHold.objects.get(pk=hold.pk).is_open
    assert Invoice.objects.get(pk=invoice.pk).aging_date == invoice.aging_date


def test_a_second_reage_on_the_same_day_keeps_the_aging_date(
    invoice, clerk_actor, supervisor_actor
):
    first, second = hold_of(invoice, clerk_actor, "10.00"), hold_of(invoice, clerk_actor, "5.00")
    for hold in (first, second):
        settled = dispute_hold_settle(
            dispute_hold_id=hold.pk, action="release_reage", actor=supervisor_actor
        )
        assert settled.status == DisputeHold.Status.RELEASED_REAGED
    assert Invoice.objects.get(pk=invoice.pk).aging_date == today()


# --- expiry ---------------------------------------------------------------------------


def test_expiry_does_not_let_a_clerks_tiny_hold_reage_the_whole_invoice(
    old_invoice, clerk_actor, settings
):
    """Finding 5: with release_reage as the expiry action, a clerk's own 0.01 hold of
    two days re-aged 5,000.00 from "Over 90" to "Current" with no supervisor."""
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release_reage"
    hold = expired_days_ago(hold_of(old_invoice, clerk_actor, "0.01", expire_hold_days=2), 1)

    result = dispute_holds_expire()

    assert result.settled == [hold.pk]
    assert result.not_reaged == {
        hold.pk: "the hold of 0.01 USD covered only part of the invoice's balance due of "
        "5,000.00 USD"
    }
    assert "1 of them released without re-aging." in result.summary()
    stored = DisputeHold.objects.get(pk=hold.pk)
    assert stored.status == DisputeHold.Status.RELEASED
    assert stored.settlement_comments == (
        f"Dispute hold expired on {today()}. Released without re-aging: the hold of 0.01 USD "
        "covered only part of the invoice's balance due of 5,000.00 USD."
    )
    assert Invoice.objects.get(pk=old_invoice.pk).aging_date == today() - 130 * DAY
    assert usd_buckets(today()) == {"over_90": 500_000}
    described = [e.description for e in invoice_timeline(old_invoice)]
    assert f"Dispute hold of 0.01 USD released: {stored.settlement_comments}" in described
    assert_ledger_consistent(old_invoice.pk)


def test_expiry_reages_a_hold_of_the_whole_balance_due(old_invoice, clerk_actor, settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release_reage"
    hold = expired_days_ago(hold_of(old_invoice, clerk_actor), 3)
    run_date = today() - DAY

    result = dispute_holds_expire(run_date=run_date)

    assert (result.settled, result.not_reaged) == ([hold.pk], {})
    assert DisputeHold.objects.get(pk=hold.pk).status == DisputeHold.Status.RELEASED_REAGED
    assert Invoice.objects.get(pk=old_invoice.pk).aging_date == run_date
    assert usd_buckets(today()) == {"d1_30": 500_000}


def test_expiry_counts_the_balance_due_not_what_is_available(
    old_invoice, clerk_actor, supervisor_actor, settings
):
    """A hold of all that is available, beside another open hold, is not a hold of
    the whole balance due."""
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release_reage"
    hold_of(old_invoice, clerk_actor, "1000.00")
    rest = expired_days_ago(hold_of(old_invoice, clerk_actor), 1)
    assert rest.amount_minor == 400_000

    result = dispute_holds_expire()

    assert list(result.not_reaged) == [rest.pk]
    assert Invoice.objects.get(pk=old_invoice.pk).aging_date == today() - 130 * DAY


def test_a_catch_up_expiry_never_moves_an_aging_date_backwards(
    invoice, clerk_actor, supervisor_actor, settings
):
    """Finding 10: the invoice was re-aged today; last week's catch-up run must not
    move its aging date back to last week."""
    first = hold_of(invoice, clerk_actor, "10.00")
    dispute_hold_settle(dispute_hold_id=first.pk, action="release_reage", actor=supervisor_actor)
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release_reage"
    late = expired_days_ago(hold_of(invoice, clerk_actor), 8)
    run_date = today() - 7 * DAY

    result = dispute_holds_expire(run_date=run_date)

    aging, run = date_format(today()), date_format(run_date)
    assert result.not_reaged == {
        late.pk: f"the invoice's aging date, {aging}, is after {run}, and an aging date "
        "never moves backwards"
    }
    assert DisputeHold.objects.get(pk=late.pk).status == DisputeHold.Status.RELEASED
    assert Invoice.objects.get(pk=invoice.pk).aging_date == today()
    # The aging report agrees: the latest re-age is today's.
    cell = reports.aging_invoices(today(), currency="USD", column="current")
    assert [(i.pk, i.aging_on) for i in cell] == [(invoice.pk, today())]


def test_a_catch_up_expiry_never_reages_inside_a_closed_period(invoice, clerk_actor, settings):
    """Finding 10: a re-age dated on or before the lock date changes a closed month's
    aging after its close."""
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release_reage"
    hold = expired_days_ago(hold_of(invoice, clerk_actor), 8)
    run_date = today() - 7 * DAY
    AccountingPeriodLock.objects.create(locked_through=run_date, reason="Closed")

    result = dispute_holds_expire(run_date=run_date)

    closed = date_format(run_date)
    assert result.not_reaged == {
        hold.pk: f"the books are closed through {closed}, and an aging date never moves "
        "inside a closed period"
    }
    assert DisputeHold.objects.get(pk=hold.pk).status == DisputeHold.Status.RELEASED
    assert Invoice.objects.get(pk=invoice.pk).aging_date == invoice.aging_date
    # The closed day still ages the invoice from its due date, not from a re-age.
    cell = reports.aging_invoices(run_date, currency="USD", column="d1_30")
    assert [(i.pk, i.aging_on) for i in cell] == [(invoice.pk, invoice.due_date)]
    # A run after the lock date re-ages as before.
    later = expired_days_ago(hold_of(invoice, clerk_actor), 8)
    assert dispute_holds_expire(run_date=run_date + DAY).not_reaged == {}
    assert DisputeHold.objects.get(pk=later.pk).status == DisputeHold.Status.RELEASED_REAGED
    assert Invoice.objects.get(pk=invoice.pk).aging_date == run_date + DAY


# --- no future run date ---------------------------------------------------------------


@pytest.mark.parametrize("action", ["none", "convert", "release", "release_reage"])
def test_expiry_refuses_a_future_run_date_and_changes_nothing(
    invoice, clerk_actor, settings, action
):
    """Finding 8: a conversion would post dated tomorrow; a re-age would move the
    aging date to tomorrow."""
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = action
    hold = expired_days_ago(hold_of(invoice, clerk_actor, "30.00"), 0)
    tomorrow = today() + DAY

    with refused(INVALID_INPUT) as info:
        dispute_holds_expire(run_date=tomorrow)

    assert f"The run date {tomorrow} is in the future" in info.value.message
    assert DisputeHold.objects.get(pk=hold.pk).is_open
    assert not WriteOff.objects.exists()
    assert Invoice.objects.get(pk=invoice.pk).aging_date == invoice.aging_date


def test_lapse_refuses_a_future_run_date(invoice, clerk_actor):
    with refused(INVALID_INPUT) as info:
        writeoffs_lapse(run_date=today() + DAY)
    assert "is in the future" in info.value.message


def test_today_and_past_run_dates_are_taken(settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release"
    assert dispute_holds_expire().run_date == today()
    assert dispute_holds_expire(run_date=today() - DAY).run_date == today() - DAY
    assert writeoffs_lapse(run_date=today()).lapsed == []
