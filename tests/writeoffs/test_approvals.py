"""Approval limits on write-offs: pending, approve, reject, withdraw, lapse, conversions."""

import datetime
import io
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.actors import Actor
from billing.api.keys import api_key_create
from billing.errors import (
    APPROVER_IS_REQUESTER,
    APPROVER_LACKS_PERMISSION,
    APPROVER_LIMIT_TOO_LOW,
    APPROVER_NOT_A_PERSON,
    INVALID_COMMENTS,
    INVALID_STATE,
    NOT_THE_REQUESTER,
    OVER_AVAILABLE,
    WRITEOFF_NOT_PENDING,
    BillingError,
)
from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.models import Invoice
from billing.receivables.payments import payment_record
from billing.roles import CLERK, CONTROLLER, SUPERVISOR
from tests.ledger import assert_ledger_consistent, expired_days_ago, made_days_earlier
from writeoffs.approvals import decisions
from writeoffs.approvals.decisions import (
    writeoff_approve,
    writeoff_reject,
    writeoff_withdraw,
    writeoffs_lapse,
)
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.expiry import dispute_holds_expire
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import ApprovalLimit, DisputeHold, WriteOff

pytestmark = pytest.mark.django_db


@contextmanager
def refused(code):
    with pytest.raises(BillingError) as info:
        yield info
    assert info.value.code == code, info.value


def person(*groups, **fields):
    return Actor.for_user(UserFactory(groups=list(groups), **fields))


@pytest.fixture
def big(account):
    """A sent USD invoice of 20,000.00."""
    return InvoiceFactory(account=account, invoice_no=30001, total_minor=2_000_000)


@pytest.fixture
def controller_actor():
    return person(CONTROLLER)


def write_off(invoice, actor, amount, **kwargs):
    kwargs.setdefault("reason_code", 0)
    kwargs.setdefault("comments", "Uncollectable")
    return writeoff_create(invoice_id=invoice.pk, amount=amount, actor=actor, **kwargs)


def fresh(invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


# --- what goes pending -----------------------------------------------------------


@pytest.mark.parametrize("currency", ["USD", "EUR"])
def test_clerk_at_the_limit_is_active_and_one_minor_unit_over_is_pending(currency, clerk_actor):
    invoice = InvoiceFactory(account=AccountFactory(currency=currency), total_minor=200_000)
    at = write_off(invoice, clerk_actor, "500.00")
    assert at.status == WriteOff.Status.ACTIVE
    assert (at.limit_applied_minor, at.checked_minor) == (500_00, 500_00)
    other = InvoiceFactory(account=invoice.account, total_minor=200_000)
    over = write_off(other, clerk_actor, "500.01")
    assert over.status == WriteOff.Status.PENDING
    assert (over.limit_applied_minor, over.checked_minor) == (500_00, 500_01)
    assert over.requested_by == clerk_actor.user


@pytest.mark.parametrize(
    ("group", "at_limit", "over"),
    [(CLERK, "500.00", "500.01"), (SUPERVISOR, "5000.00", "5000.01")],
    ids=["clerk", "supervisor"],
)
def test_each_role_is_held_to_its_own_limit(big, group, at_limit, over):
    assert write_off(big, person(group), at_limit).status == WriteOff.Status.ACTIVE
    assert write_off(big, person(group), over).status == WriteOff.Status.PENDING


def test_a_pending_writeoff_reserves_its_amount_and_posts_nothing(big, clerk_actor):
    pending = write_off(big, clerk_actor, "600.00")
    invoice = fresh(big)
    assert (invoice.written_off_minor, invoice.pending_minor) == (0, 600_00)
    assert invoice.balance_due_minor == 2_000_000
    assert invoice.available_minor == 2_000_000 - 600_00
    assert pending.status_label == "Pending approval"
    assert_ledger_consistent(big.pk)


def test_a_payment_cannot_take_the_reserved_amount(invoice, clerk_actor):
    # A clerk's 500.00 limit is over the 120.00 invoice, so lower it to make it pend.
    ApprovalLimit.objects.filter(role="clerk", currency="USD").update(limit_minor=50_00)
    write_off(invoice, clerk_actor, "100.00")
    with refused(OVER_AVAILABLE) as info:
        payment_record(invoice_id=invoice.pk, amount="20.01", actor=clerk_actor)
    # "more than the 20.00 available on invoice 10023 (balance due 120.00, of which
    # 100.00 pending write-off approval)"
    assert "the 20.00 available" in info.value.message
    assert "of which 100.00 pending write-off approval" in info.value.message
    payment_record(invoice_id=invoice.pk, amount="20.00", actor=clerk_actor)
    assert fresh(invoice).available_minor == 0


def test_a_currency_without_a_limit_row_sends_every_writeoff_to_approval(supervisor_actor):
    invoice = InvoiceFactory(account=AccountFactory(currency="GBP"), total_minor=1000)
    assert write_off(invoice, supervisor_actor, "0.01").status == WriteOff.Status.PENDING


def test_the_controller_is_unlimited_but_may_not_create(big, controller_actor):
    with refused(1003):
        write_off(big, controller_actor, "1.00")


@pytest.mark.parametrize(("role", "limit"), [("clerk", "500.00"), ("supervisor", "5000.00")])
def test_an_api_key_is_held_to_its_roles_limit(big, role, limit):
    key, _ = api_key_create(f"erp-{role}", role=role)
    actor = Actor.for_api_key(key)
    assert write_off(big, actor, limit, source="api").status == WriteOff.Status.ACTIVE
    other = InvoiceFactory(account=big.account, total_minor=2_000_000)
    over = write_off(other, actor, limit.replace(".00", ".01"), source="api")
    assert over.status == WriteOff.Status.PENDING
    assert over.requested_by_api_key == key
    assert over.requested_by is None


# --- splitting -------------------------------------------------------------------


def test_splitting_within_30_days_adds_up_against_the_limit(big, clerk_actor):
    assert write_off(big, clerk_actor, "300.00").status == WriteOff.Status.ACTIVE
    assert write_off(big, clerk_actor, "200.00").status == WriteOff.Status.ACTIVE
    third = write_off(big, clerk_actor, "0.01")
    assert third.status == WriteOff.Status.PENDING
    assert third.checked_minor == 500_01


def test_pending_writeoffs_count_towards_the_split_too(big, clerk_actor):
    write_off(big, clerk_actor, "600.00")
    assert write_off(big, clerk_actor, "1.00").status == WriteOff.Status.PENDING


def test_splitting_counts_only_the_requesters_own_writeoffs_on_that_invoice(big, clerk_actor):
    write_off(big, clerk_actor, "500.00")
    assert write_off(big, person(CLERK), "500.00").status == WriteOff.Status.ACTIVE
    other = InvoiceFactory(account=big.account, total_minor=2_000_000)
    assert write_off(other, clerk_actor, "500.00").status == WriteOff.Status.ACTIVE


def test_writeoffs_older_than_30_days_and_reversed_ones_no_longer_count(
    big, clerk_actor, supervisor_actor
):
    old = write_off(big, clerk_actor, "400.00")
    WriteOff.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=31)
    )
    reversed_ = write_off(big, clerk_actor, "100.00")
    writeoff_reverse(writeoff_id=reversed_.pk, reason="Mistake", actor=supervisor_actor)
    assert write_off(big, clerk_actor, "500.00").status == WriteOff.Status.ACTIVE


def test_a_write_off_29_days_old_still_counts(big, clerk_actor):
    old = write_off(big, clerk_actor, "400.00")
    WriteOff.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=29)
    )
    assert write_off(big, clerk_actor, "100.01").status == WriteOff.Status.PENDING


# --- approve / reject / withdraw -------------------------------------------------


def test_supervisor_approves_a_clerks_pending_writeoff(big, clerk_actor, supervisor_actor):
    pending = write_off(big, clerk_actor, "600.00")
    approved = writeoff_approve(writeoff_id=pending.pk, actor=supervisor_actor)
    assert approved.status == WriteOff.Status.ACTIVE
    assert approved.approved_by == supervisor_actor.user
    assert approved.approved_at is not None
    invoice = fresh(big)
    assert (invoice.written_off_minor, invoice.pending_minor) == (600_00, 0)
    assert_ledger_consistent(big.pk)


def test_nobody_approves_their_own_writeoff(big, supervisor_actor):
    pending = write_off(big, supervisor_actor, "5000.01")
    with refused(APPROVER_IS_REQUESTER):
        writeoff_approve(writeoff_id=pending.pk, actor=supervisor_actor)
    with refused(APPROVER_IS_REQUESTER):
        writeoff_reject(writeoff_id=pending.pk, reason="No", actor=supervisor_actor)
    assert WriteOff.objects.get(pk=pending.pk).status == WriteOff.Status.PENDING


def test_approvers_limit_must_cover_the_amount(big, clerk_actor, controller_actor):
    pending = write_off(big, person(SUPERVISOR), "5000.01")
    with refused(APPROVER_LIMIT_TOO_LOW) as info:
        writeoff_approve(writeoff_id=pending.pk, actor=person(SUPERVISOR))
    assert "5,000.00" in info.value.message
    assert writeoff_approve(writeoff_id=pending.pk, actor=controller_actor).status == "active"


def test_supervisor_approves_exactly_up_to_their_limit(big):
    clerk = person(CLERK)
    write_off(big, clerk, "5000.00")  # pending: over the clerk's 500.00
    pending = WriteOff.objects.get(status="pending")
    assert writeoff_approve(writeoff_id=pending.pk, actor=person(SUPERVISOR)).is_pending is False


def test_clerk_cannot_approve(big, clerk_actor):
    pending = write_off(big, person(CLERK), "600.00")
    with refused(APPROVER_LACKS_PERMISSION):
        writeoff_approve(writeoff_id=pending.pk, actor=clerk_actor)


def test_an_api_key_or_the_system_cannot_approve_or_reject(big, clerk_actor):
    pending = write_off(big, clerk_actor, "600.00")
    key, _ = api_key_create("erp", role="supervisor")
    for actor in (Actor.for_api_key(key), Actor.for_system(), Actor()):
        with refused(APPROVER_NOT_A_PERSON):
            writeoff_approve(writeoff_id=pending.pk, actor=actor)
        with refused(APPROVER_NOT_A_PERSON):
            writeoff_reject(writeoff_id=pending.pk, reason="No", actor=actor)


def test_an_inactive_supervisor_cannot_approve(big, clerk_actor):
    pending = write_off(big, clerk_actor, "600.00")
    with refused(APPROVER_LACKS_PERMISSION):
        writeoff_approve(writeoff_id=pending.pk, actor=person(SUPERVISOR, is_active=False))


def test_approving_twice_is_refused(big, clerk_actor, supervisor_actor):
    pending = write_off(big, clerk_actor, "600.00")
    writeoff_approve(writeoff_id=pending.pk, actor=supervisor_actor)
    with refused(WRITEOFF_NOT_PENDING):
        writeoff_approve(writeoff_id=pending.pk, actor=person(SUPERVISOR))
    assert fresh(big).written_off_minor == 600_00


def test_an_active_writeoff_is_not_pending(big, clerk_actor, supervisor_actor):
    active = write_off(big, clerk_actor, "10.00")
    with refused(WRITEOFF_NOT_PENDING):
        writeoff_approve(writeoff_id=active.pk, actor=supervisor_actor)


def test_reject_needs_a_reason_and_frees_the_reservation(big, clerk_actor, supervisor_actor):
    pending = write_off(big, clerk_actor, "600.00")
    with refused(INVALID_COMMENTS):
        writeoff_reject(writeoff_id=pending.pk, reason="  ", actor=supervisor_actor)
    rejected = writeoff_reject(writeoff_id=pending.pk, reason="No proof", actor=supervisor_actor)
    assert rejected.status == WriteOff.Status.REJECTED
    assert (rejected.rejected_by, rejected.rejection_reason) == (supervisor_actor.user, "No proof")
    assert not rejected.withdrawn
    invoice = fresh(big)
    assert (invoice.pending_minor, invoice.written_off_minor) == (0, 0)
    assert_ledger_consistent(big.pk)


def test_a_rejected_writeoff_no_longer_counts_against_the_limit(big, clerk_actor, supervisor_actor):
    pending = write_off(big, clerk_actor, "600.00")
    writeoff_reject(writeoff_id=pending.pk, reason="No", actor=supervisor_actor)
    assert write_off(big, clerk_actor, "500.00").status == WriteOff.Status.ACTIVE


def test_the_requester_withdraws_their_pending_writeoff(big, clerk_actor):
    pending = write_off(big, clerk_actor, "600.00")
    withdrawn = writeoff_withdraw(writeoff_id=pending.pk, actor=clerk_actor)
    assert withdrawn.status == WriteOff.Status.REJECTED
    assert withdrawn.withdrawn
    assert withdrawn.status_label == "Withdrawn"
    assert fresh(big).pending_minor == 0


def test_only_the_requester_may_withdraw(big, clerk_actor, supervisor_actor):
    pending = write_off(big, clerk_actor, "600.00")
    for actor in (supervisor_actor, person(CLERK), Actor.for_system()):
        with refused(NOT_THE_REQUESTER):
            writeoff_withdraw(writeoff_id=pending.pk, actor=actor)
    writeoff_approve(writeoff_id=pending.pk, actor=supervisor_actor)
    with refused(WRITEOFF_NOT_PENDING):
        writeoff_withdraw(writeoff_id=pending.pk, actor=clerk_actor)


def test_an_api_key_withdraws_its_own_pending_writeoff(big):
    key, _ = api_key_create("erp", role="clerk")
    pending = write_off(big, Actor.for_api_key(key), "600.00", source="api")
    assert writeoff_withdraw(writeoff_id=pending.pk, actor=Actor.for_api_key(key)).withdrawn


def test_a_pending_writeoff_cannot_be_reversed(big, clerk_actor, supervisor_actor):
    pending = write_off(big, clerk_actor, "600.00")
    with refused(INVALID_STATE) as info:
        writeoff_reverse(writeoff_id=pending.pk, reason="x", actor=supervisor_actor)
    assert "pending approval" in info.value.message


def test_each_status_keeps_its_own_who_and_when_in_the_database(big, clerk_actor):
    pending = write_off(big, clerk_actor, "600.00")
    for fields in (
        {"status": "rejected"},
        {"status": "lapsed"},
        {"status": "reversed"},
        {"approved_at": timezone.now()},
        {"status": "active", "rejected_at": timezone.now()},
        {"withdrawn": True},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            WriteOff.objects.filter(pk=pending.pk).update(**fields)


def test_pending_plus_held_can_never_exceed_the_balance_in_the_database(big):
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=big.pk).update(held_minor=1_000_000, pending_minor=1_000_001)


def test_approval_after_the_period_closed_posts_on_the_approval_date(
    big, clerk_actor, supervisor_actor, monkeypatch
):
    written = timezone.localdate() - datetime.timedelta(days=5)
    pending = write_off(big, clerk_actor, "600.00", writeoff_date=written)
    monkeypatch.setattr(decisions, "period_is_open", lambda date: date > written)
    approved = writeoff_approve(writeoff_id=pending.pk, actor=supervisor_actor)
    assert approved.writeoff_date == timezone.localdate()
    dates = [h.writeoff_date for h in approved.history.order_by("history_id")]
    assert dates == [written, timezone.localdate()]


def test_approval_after_a_real_close_reads_the_lock_date_once_and_posts_today(
    big, clerk_actor, supervisor_actor
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.models import AccountingPeriodLock, JournalEntry

    written = timezone.localdate() - datetime.timedelta(days=5)
    pending = write_off(big, clerk_actor, "600.00", writeoff_date=written)
    AccountingPeriodLock.objects.create(locked_through=written, reason="Closed")
    lock_table = AccountingPeriodLock._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        approved = writeoff_approve(writeoff_id=pending.pk, actor=supervisor_actor)
    # The date check and the posting share one read of the lock date.
    assert len([q for q in queries if f'FROM "{lock_table}"' in q["sql"]]) == 1
    assert approved.writeoff_date == timezone.localdate()
    entry = JournalEntry.objects.get(source_id=approved.pk, event="writeoff")
    assert entry.entry_date == timezone.localdate()
    assert_ledger_consistent(big.pk)


def test_approval_in_an_open_period_keeps_the_writeoff_date(big, clerk_actor, supervisor_actor):
    written = timezone.localdate() - datetime.timedelta(days=5)
    pending = write_off(big, clerk_actor, "600.00", writeoff_date=written)
    assert writeoff_approve(writeoff_id=pending.pk, actor=supervisor_actor).writeoff_date == written


# --- lapse -----------------------------------------------------------------------


def test_pending_writeoffs_lapse_after_the_approval_days(big, clerk_actor, settings):
    settings.WRITEOFF_APPROVAL_DAYS = 14
    # No run date is in the future: the write-off is made to have been asked 15 days ago.
    pending = made_days_earlier(write_off(big, clerk_actor, "600.00"), 15)
    created = timezone.localdate(pending.created_at)
    assert writeoffs_lapse(run_date=created + datetime.timedelta(days=14)).lapsed == []
    result = writeoffs_lapse(run_date=created + datetime.timedelta(days=15))
    assert [w.pk for w in result.lapsed] == [pending.pk]
    assert "lapsed" in result.lines()[0] and "1 pending write-off(s) lapsed" in result.summary()
    lapsed = WriteOff.objects.get(pk=pending.pk)
    assert lapsed.status == WriteOff.Status.LAPSED and lapsed.lapsed_at is not None
    assert fresh(big).pending_minor == 0
    # Idempotent: a second run changes nothing.
    assert writeoffs_lapse(run_date=created + datetime.timedelta(days=15)).lapsed == []
    assert_ledger_consistent(big.pk)


def test_the_lapse_period_is_a_setting(big, clerk_actor, settings):
    settings.WRITEOFF_APPROVAL_DAYS = 2
    pending = made_days_earlier(write_off(big, clerk_actor, "600.00"), 3)
    created = timezone.localdate(pending.created_at)
    assert len(writeoffs_lapse(run_date=created + datetime.timedelta(days=3)).lapsed) == 1


def test_a_lapsed_writeoff_cannot_be_approved(big, clerk_actor, supervisor_actor):
    pending = made_days_earlier(write_off(big, clerk_actor, "600.00"), 30)
    writeoffs_lapse()
    with refused(WRITEOFF_NOT_PENDING):
        writeoff_approve(writeoff_id=pending.pk, actor=supervisor_actor)


# --- conversions -----------------------------------------------------------------


def _hold(invoice, actor, amount):
    return dispute_hold_create(invoice_id=invoice.pk, amount=amount, comments="x", actor=actor)


def test_a_persons_conversion_over_their_limit_leaves_the_hold_open_and_pending(big, clerk_actor):
    supervisor = person(SUPERVISOR)
    hold = _hold(big, clerk_actor, "6000.00")
    settled = dispute_hold_settle(dispute_hold_id=hold.pk, action="convert", actor=supervisor)
    assert settled.status == DisputeHold.Status.OPEN
    assert settled.conversion_pending and settled.status_label == "Conversion pending"
    writeoff = WriteOff.objects.get(origin_dispute=hold)
    assert writeoff.status == WriteOff.Status.PENDING
    assert writeoff.requested_by == supervisor.user
    invoice = fresh(big)
    assert (invoice.held_minor, invoice.pending_minor, invoice.written_off_minor) == (
        600_000,
        0,
        0,
    )
    assert_ledger_consistent(big.pk)


def test_a_pending_conversion_blocks_any_other_settlement(big, clerk_actor, supervisor_actor):
    hold = _hold(big, clerk_actor, "6000.00")
    dispute_hold_settle(dispute_hold_id=hold.pk, action="convert", actor=supervisor_actor)
    for action in ("convert", "release", "release_reage"):
        with refused(INVALID_STATE) as info:
            dispute_hold_settle(dispute_hold_id=hold.pk, action=action, actor=supervisor_actor)
        assert "conversion pending approval" in info.value.message


def test_approving_a_conversion_settles_the_hold(big, clerk_actor, supervisor_actor):
    hold = _hold(big, clerk_actor, "6000.00")
    dispute_hold_settle(dispute_hold_id=hold.pk, action="convert", actor=supervisor_actor)
    writeoff = WriteOff.objects.get(origin_dispute=hold)
    controller = person(CONTROLLER)
    writeoff_approve(writeoff_id=writeoff.pk, actor=controller)
    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.WRITTEN_OFF and not hold.conversion_pending
    assert hold.settled_by == controller.user
    invoice = fresh(big)
    assert (invoice.held_minor, invoice.written_off_minor) == (0, 600_000)
    assert_ledger_consistent(big.pk)


@pytest.mark.parametrize("how", ["reject", "lapse"])
def test_rejecting_or_lapsing_a_conversion_leaves_the_hold_open(
    big, clerk_actor, supervisor_actor, how
):
    hold = _hold(big, clerk_actor, "6000.00")
    dispute_hold_settle(dispute_hold_id=hold.pk, action="convert", actor=supervisor_actor)
    writeoff = WriteOff.objects.get(origin_dispute=hold)
    if how == "reject":
        writeoff_reject(writeoff_id=writeoff.pk, reason="No", actor=person(CONTROLLER))
    else:
        made_days_earlier(writeoff, 30)
        writeoffs_lapse()
    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.OPEN and not hold.conversion_pending
    assert fresh(big).held_minor == 600_000
    # The hold can be settled again, and converted again.
    dispute_hold_settle(dispute_hold_id=hold.pk, action="release", actor=supervisor_actor)
    assert fresh(big).held_minor == 0
    assert_ledger_consistent(big.pk)


def test_a_key_conversion_over_the_keys_limit_goes_pending(big, clerk_actor):
    key, _ = api_key_create("erp", role="supervisor")
    hold = _hold(big, clerk_actor, "5000.01")
    settled = dispute_hold_settle(
        dispute_hold_id=hold.pk, action="convert", actor=Actor.for_api_key(key), source="api"
    )
    assert settled.conversion_pending
    assert WriteOff.objects.get(origin_dispute=hold).requested_by_api_key == key


def test_a_conversion_within_the_limit_is_active_at_once(big, clerk_actor, supervisor_actor):
    hold = _hold(big, clerk_actor, "5000.00")
    settled = dispute_hold_settle(dispute_hold_id=hold.pk, action="convert", actor=supervisor_actor)
    assert settled.status == DisputeHold.Status.WRITTEN_OFF
    assert WriteOff.objects.get(origin_dispute=hold).status == WriteOff.Status.ACTIVE


def test_an_expiry_conversion_uses_the_hold_creators_limit(big, clerk_actor, settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "convert"
    within = expired_days_ago(_hold(big, clerk_actor, "500.00"), 5)
    over = _hold(InvoiceFactory(account=big.account, total_minor=2_000_000), clerk_actor, "500.01")
    over = expired_days_ago(over, 5)
    run_date = within.expires_on + datetime.timedelta(days=1)
    result = dispute_holds_expire(run_date=run_date)
    assert result.settled == [within.pk]
    assert result.conversion_pending == [over.pk]
    pending = WriteOff.objects.get(origin_dispute=over)
    assert pending.status == WriteOff.Status.PENDING
    assert pending.requested_by == clerk_actor.user  # the creator is the requester
    assert pending.created_by_label == "system"
    assert "pending approval" in result.summary()
    # Expiry skips a hold whose conversion is pending.
    again = dispute_holds_expire(run_date=run_date + datetime.timedelta(days=1))
    assert again.settled == [] and again.conversion_pending == []


def test_an_expiry_conversion_counts_the_creators_recent_writeoffs(big, clerk_actor, settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "convert"
    write_off(big, clerk_actor, "400.00")
    hold = expired_days_ago(_hold(big, clerk_actor, "100.01"), 1)
    result = dispute_holds_expire(run_date=hold.expires_on + datetime.timedelta(days=1))
    assert result.conversion_pending == [hold.pk]


def test_the_expire_command_prints_a_pending_conversion(big, clerk_actor, settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "convert"
    hold = expired_days_ago(_hold(big, clerk_actor, "600.00"), 1)
    out = io.StringIO()
    run_date = (hold.expires_on + datetime.timedelta(days=1)).isoformat()
    call_command("expire_dispute_holds", "--date", run_date, stdout=out)
    assert f"Dispute hold {hold.pk}" in out.getvalue()
    assert "conversion pending approval" in out.getvalue()


# --- verify_ledger ---------------------------------------------------------------


def test_verify_ledger_reports_drift_in_pending(big, clerk_actor):
    write_off(big, clerk_actor, "600.00")
    call_command("verify_ledger", stdout=io.StringIO())
    Invoice.objects.filter(pk=big.pk).update(pending_minor=500_00)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_ledger", stdout=out)
    assert "pending stored 50000 but rows add up to 60000" in out.getvalue()
