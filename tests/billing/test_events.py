"""The events feed's writes from billing's own services (SPEC Part 3): a payment
recorded or voided and an invoice voided each write one event, in the same
transaction as the change, with the numbers and external ids a billing system
matches on."""

import io

import pytest
from django.db import transaction

from billing.errors import BillingError
from billing.factories import AccountFactory, InvoiceFactory
from billing.models import Event, EventCounter, EventType, Payment
from billing.receivables.invoices import invoice_void
from billing.receivables.payments import payment_record, payment_remove

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced_invoice():
    """120.00 on an account and invoice that came from the billing system."""
    account = AccountFactory(acct_no=7001, external_id="cus_7001")
    return InvoiceFactory(
        account=account, invoice_no=70010, total_minor=120_00, external_id="in_70010"
    )


def only_event(type_):
    events = list(Event.objects.filter(type=type_))
    assert len(events) == 1, events
    return events[0].payload


def test_a_recorded_payment_writes_payment_recorded_with_numbers_ids_and_amount(
    synced_invoice, clerk_actor
):
    payment = payment_record(
        invoice_id=synced_invoice.pk, amount="45.50", actor=clerk_actor, reference="chq 12"
    )
    event = only_event(EventType.PAYMENT_RECORDED)
    assert event["type"] == "payment.recorded"
    assert event["account"] == {"acct_no": 7001, "external_id": "cus_7001"}
    assert event["invoice"] == {"invoice_no": 70010, "external_id": "in_70010"}
    assert event["object"] == {"kind": "payment", "number": payment.pk}
    assert event["currency"] == "USD"
    assert event["amounts"] == {"amount": "45.50"}
    assert event["details"]["reference"] == "chq 12"
    assert event["id"] == Event.objects.get().pk
    assert event["occurred_at"].endswith("Z")


def test_a_voided_payment_writes_payment_voided(synced_invoice, supervisor_actor):
    payment = payment_record(invoice_id=synced_invoice.pk, amount="20.00", actor=supervisor_actor)
    payment_remove(payment_id=payment.pk, reason="Bounced", actor=supervisor_actor)
    event = only_event(EventType.PAYMENT_VOIDED)
    assert event["object"] == {"kind": "payment", "number": payment.pk}
    assert event["amounts"] == {"amount": "20.00", "written_off_again": "0.00"}
    assert event["details"]["reason"] == "Bounced"
    assert event["invoice"]["external_id"] == "in_70010"


def test_a_voided_invoice_writes_invoice_voided_with_its_total(synced_invoice, supervisor_actor):
    invoice_void(invoice_id=synced_invoice.pk, reason="Issued in error", actor=supervisor_actor)
    event = only_event(EventType.INVOICE_VOIDED)
    assert event["object"] == {"kind": "invoice", "number": 70010}
    assert event["amounts"] == {"total": "120.00"}
    assert event["account"]["acct_no"] == 7001


def test_rows_without_external_ids_send_null_ids(invoice, clerk_actor):
    payment_record(invoice_id=invoice.pk, amount="1.00", actor=clerk_actor)
    event = only_event(EventType.PAYMENT_RECORDED)
    assert event["account"] == {"acct_no": invoice.account.acct_no, "external_id": None}
    assert event["invoice"] == {"invoice_no": invoice.invoice_no, "external_id": None}


def test_a_refused_payment_writes_no_event_and_takes_no_id(synced_invoice, clerk_actor):
    payment_record(invoice_id=synced_invoice.pk, amount="1.00", actor=clerk_actor)
    with pytest.raises(BillingError):
        payment_record(invoice_id=synced_invoice.pk, amount="500.00", actor=clerk_actor)
    assert Event.objects.count() == 1
    assert EventCounter.objects.get().last_id == 1


def test_a_change_rolled_back_after_its_event_leaves_no_event_and_no_gap(
    synced_invoice, clerk_actor
):
    """The event is written inside the service's transaction: when that transaction
    rolls back (here, an error raised after the service returned, in an outer block),
    the event and its id go with it, and the next event takes the same id."""
    with pytest.raises(RuntimeError), transaction.atomic():
        payment_record(invoice_id=synced_invoice.pk, amount="5.00", actor=clerk_actor)
        assert Event.objects.count() == 1
        raise RuntimeError("after the event was written")
    assert Event.objects.count() == 0
    assert Payment.objects.count() == 0
    payment_record(invoice_id=synced_invoice.pk, amount="5.00", actor=clerk_actor)
    assert list(Event.objects.values_list("id", flat=True)) == [1]


def test_ids_are_consecutive_in_the_order_events_are_written(synced_invoice, clerk_actor):
    for _ in range(3):
        payment_record(invoice_id=synced_invoice.pk, amount="1.00", actor=clerk_actor)
    assert list(Event.objects.values_list("id", flat=True)) == [1, 2, 3]


def test_a_lost_counter_row_restarts_after_the_last_event(synced_invoice, clerk_actor):
    payment_record(invoice_id=synced_invoice.pk, amount="1.00", actor=clerk_actor)
    EventCounter.objects.all().delete()
    payment_record(invoice_id=synced_invoice.pk, amount="1.00", actor=clerk_actor)
    assert list(Event.objects.values_list("id", flat=True)) == [1, 2]


def test_a_seed_reset_deletes_the_events_but_ids_go_on_rising(
    synced_invoice, clerk_actor, settings
):
    from django.core.management import call_command

    settings.DEBUG = True
    payment_record(invoice_id=synced_invoice.pk, amount="1.00", actor=clerk_actor)
    payment_record(invoice_id=synced_invoice.pk, amount="1.00", actor=clerk_actor)
    call_command("seed_billing", "--reset", "--noinput", "--accounts", "0", stdout=io.StringIO())
    assert Event.objects.count() == 0
    invoice = InvoiceFactory(total_minor=10_00)
    payment_record(invoice_id=invoice.pk, amount="1.00", actor=clerk_actor)
    assert list(Event.objects.values_list("id", flat=True)) == [3]
