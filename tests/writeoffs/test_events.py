"""The events the write-off services write to the feed (SPEC Part 3): one per change,
in the change's transaction, with the write-off's or dispute hold's own number, the
account's and invoice's numbers and external ids, and the amounts as plain decimals."""

import pytest
from django.utils import timezone

from billing.errors import BillingError
from billing.factories import AccountFactory, InvoiceFactory
from billing.models import Event, EventType
from billing.receivables.payments import payment_record
from tests.ledger import expired_days_ago, made_days_earlier
from writeoffs.approvals.decisions import (
    writeoff_approve,
    writeoff_reject,
    writeoff_withdraw,
    writeoffs_lapse,
)
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.expiry import dispute_holds_expire
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.recovery import recovery_record
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import WriteOff

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced():
    """2,000.00 on an account and invoice that came from the billing system."""
    account = AccountFactory(acct_no=8001, external_id="cus_8001")
    return InvoiceFactory(
        account=account, invoice_no=80010, total_minor=2_000_00, external_id="in_80010"
    )


def events(type_):
    return [e.payload for e in Event.objects.filter(type=type_).order_by("id")]


def only(type_):
    found = events(type_)
    assert len(found) == 1, found
    return found[0]


def write_off(invoice, actor, amount):
    return writeoff_create(
        invoice_id=invoice.pk, amount=amount, reason_code=0, comments="Bad debt", actor=actor
    )


def assert_about_synced_invoice(event):
    assert event["account"] == {"acct_no": 8001, "external_id": "cus_8001"}
    assert event["invoice"] == {"invoice_no": 80010, "external_id": "in_80010"}
    assert event["currency"] == "USD"


def test_a_writeoff_writes_writeoff_created_with_its_number_and_amount(synced, clerk_actor):
    writeoff = write_off(synced, clerk_actor, "12.50")
    event = only(EventType.WRITEOFF_CREATED)
    assert event["type"] == "writeoff.created"
    assert_about_synced_invoice(event)
    assert event["object"] == {"kind": "writeoff", "number": writeoff.pk}
    assert event["amounts"] == {"amount": "12.50"}
    assert event["details"]["status"] == WriteOff.Status.ACTIVE
    assert event["details"]["reason_code"] == 0


def test_an_approved_writeoff_writes_created_pending_then_approved(
    synced, clerk_actor, supervisor_actor
):
    writeoff = write_off(synced, clerk_actor, "600.00")
    assert only(EventType.WRITEOFF_CREATED)["details"]["status"] == WriteOff.Status.PENDING
    writeoff_approve(writeoff_id=writeoff.pk, actor=supervisor_actor)
    event = only(EventType.WRITEOFF_APPROVED)
    assert_about_synced_invoice(event)
    assert event["object"] == {"kind": "writeoff", "number": writeoff.pk}
    assert event["amounts"] == {"amount": "600.00"}
    assert event["details"]["status"] == WriteOff.Status.ACTIVE


def test_a_rejected_writeoff_writes_writeoff_rejected_with_the_reason(
    synced, clerk_actor, supervisor_actor
):
    writeoff = write_off(synced, clerk_actor, "600.00")
    writeoff_reject(writeoff_id=writeoff.pk, reason="Still collectable", actor=supervisor_actor)
    event = only(EventType.WRITEOFF_REJECTED)
    assert event["object"]["number"] == writeoff.pk
    assert event["details"]["reason"] == "Still collectable"
    assert event["details"]["status"] == WriteOff.Status.REJECTED


def test_a_withdrawn_writeoff_writes_writeoff_rejected_marked_withdrawn(synced, clerk_actor):
    writeoff = write_off(synced, clerk_actor, "600.00")
    writeoff_withdraw(writeoff_id=writeoff.pk, actor=clerk_actor)
    event = only(EventType.WRITEOFF_REJECTED)
    assert event["object"]["number"] == writeoff.pk
    assert event["details"]["withdrawn"] is True


def test_a_lapsed_writeoff_writes_writeoff_rejected_with_status_lapsed(synced, clerk_actor):
    pending = made_days_earlier(write_off(synced, clerk_actor, "600.00"), 30)
    writeoffs_lapse()
    event = only(EventType.WRITEOFF_REJECTED)
    assert event["object"]["number"] == pending.pk
    assert event["details"]["status"] == WriteOff.Status.LAPSED
    assert event["details"]["withdrawn"] is False


def test_a_reversed_writeoff_writes_writeoff_reversed(synced, supervisor_actor):
    writeoff = write_off(synced, supervisor_actor, "30.00")
    writeoff_reverse(writeoff_id=writeoff.pk, reason="Posted in error", actor=supervisor_actor)
    event = only(EventType.WRITEOFF_REVERSED)
    assert_about_synced_invoice(event)
    assert event["object"] == {"kind": "writeoff", "number": writeoff.pk}
    assert event["amounts"] == {"amount": "30.00"}


def test_a_dispute_hold_writes_dispute_opened_with_its_dispute_no(synced, clerk_actor):
    hold = dispute_hold_create(
        invoice_id=synced.pk, amount="75.25", comments="Disputed", actor=clerk_actor
    )
    event = only(EventType.DISPUTE_OPENED)
    assert_about_synced_invoice(event)
    assert event["object"] == {"kind": "dispute", "number": hold.pk}
    assert event["amounts"] == {"amount": "75.25"}
    assert event["details"]["expires_on"] == hold.expires_on.isoformat()


def test_a_released_dispute_writes_dispute_settled_with_the_action(synced, supervisor_actor):
    hold = dispute_hold_create(
        invoice_id=synced.pk, amount="75.00", comments="Disputed", actor=supervisor_actor
    )
    dispute_hold_settle(dispute_hold_id=hold.pk, action="release", actor=supervisor_actor)
    event = only(EventType.DISPUTE_SETTLED)
    assert event["object"] == {"kind": "dispute", "number": hold.pk}
    assert event["details"]["action"] == "release"
    assert event["details"]["writeoff_id"] is None


def test_a_converted_dispute_writes_the_writeoff_then_dispute_settled(synced, supervisor_actor):
    hold = dispute_hold_create(
        invoice_id=synced.pk, amount="75.00", comments="Disputed", actor=supervisor_actor
    )
    dispute_hold_settle(dispute_hold_id=hold.pk, action="convert", actor=supervisor_actor)
    writeoff = WriteOff.objects.get(origin_dispute=hold)
    created = only(EventType.WRITEOFF_CREATED)
    settled = only(EventType.DISPUTE_SETTLED)
    assert created["id"] < settled["id"]
    assert created["details"]["origin_dispute_no"] == hold.pk
    assert settled["details"]["writeoff_id"] == writeoff.pk
    assert settled["amounts"] == {"amount": "75.00"}


def test_an_expired_dispute_writes_dispute_expired(synced, clerk_actor, settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release"
    hold = dispute_hold_create(
        invoice_id=synced.pk, amount="10.00", comments="Disputed", actor=clerk_actor
    )
    expired_days_ago(hold, 5)
    dispute_holds_expire()
    event = only(EventType.DISPUTE_EXPIRED)
    assert event["object"] == {"kind": "dispute", "number": hold.pk}
    assert event["details"]["action"] == "release"
    assert not events(EventType.DISPUTE_SETTLED)


def test_a_recovery_writes_recovery_recorded_with_what_it_reinstated(synced, clerk_actor):
    payment_record(invoice_id=synced.pk, amount="1900.00", actor=clerk_actor)
    writeoff = write_off(synced, clerk_actor, "100.00")
    payment = recovery_record(invoice_id=synced.pk, amount="40.00", actor=clerk_actor)
    event = only(EventType.RECOVERY_RECORDED)
    assert_about_synced_invoice(event)
    assert event["object"] == {"kind": "payment", "number": payment.pk}
    assert event["amounts"] == {"amount": "40.00", "reinstated": "40.00"}
    assert event["details"]["writeoffs"] == [{"writeoff_id": writeoff.pk, "amount": "40.00"}]
    assert event["details"]["paid_on"] == timezone.localdate().isoformat()


def test_a_refused_writeoff_writes_no_event(synced, clerk_actor):
    with pytest.raises(BillingError):
        write_off(synced, clerk_actor, "2000.01")
    assert Event.objects.count() == 0


def test_a_failure_after_the_event_in_the_service_rolls_the_event_back(
    synced, clerk_actor, monkeypatch
):
    """A step that raises after the write-off and its event were written: nothing of
    the change stays, its event included."""
    from writeoffs.lifecycle import create

    def fails(*args, **kwargs):
        raise BillingError(1001, "Failed after the event")

    real = create.writeoff_event

    def event_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        assert Event.objects.count() == 1
        fails()

    monkeypatch.setattr(create, "writeoff_event", event_then_fail)
    with pytest.raises(BillingError):
        write_off(synced, clerk_actor, "10.00")
    assert Event.objects.count() == 0
    assert WriteOff.objects.count() == 0
