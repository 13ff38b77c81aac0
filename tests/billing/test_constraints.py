"""The database CHECK constraints: the last guard when a service's lock is bypassed.

Each test writes past the services with ``QuerySet.update`` or a raw insert and
expects the database itself to refuse. They run on SQLite and on PostgreSQL.
"""

from unittest import mock

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from billing.errors import BillingError
from billing.models import Invoice, InvoiceLine, Payment
from billing.receivables.payments import payment_record
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.models import DisputeHold, WriteOff

pytestmark = pytest.mark.django_db


def refused_by_database(**changes):
    """Apply ``changes`` to the fixture invoice straight in the database."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(invoice_no=10023).update(**changes)


def test_update_that_pushes_held_above_the_balance_due_is_refused(invoice):
    refused_by_database(held_minor=12001)
    invoice.refresh_from_db()
    assert invoice.held_minor == 0


def test_held_up_to_the_balance_due_is_allowed(invoice):
    Invoice.objects.filter(pk=invoice.pk).update(paid_minor=2000, held_minor=10000)
    invoice.refresh_from_db()
    assert invoice.available_minor == 0


def test_payment_total_that_leaves_less_than_the_held_amount_is_refused(invoice):
    Invoice.objects.filter(pk=invoice.pk).update(held_minor=3000)
    refused_by_database(paid_minor=F("total_minor") - 2999)
    refused_by_database(written_off_minor=9001)


def test_balance_due_below_zero_is_refused(invoice):
    refused_by_database(paid_minor=10000, written_off_minor=2001)


@pytest.mark.parametrize("field", ["total_minor", "paid_minor", "written_off_minor", "held_minor"])
def test_negative_invoice_totals_are_refused(invoice, field):
    refused_by_database(**{field: -1})


def entry_fields(invoice):
    return {"invoice": invoice, "account": invoice.account, "comments": "x"}


@pytest.mark.parametrize("amount_minor", [0, -100])
def test_writeoff_of_zero_or_less_is_refused(invoice, amount_minor):
    with pytest.raises(IntegrityError), transaction.atomic():
        WriteOff.objects.create(
            **entry_fields(invoice),
            amount_minor=amount_minor,
            reason_code=0,
            writeoff_date=invoice.bill_date,
        )


@pytest.mark.parametrize("amount_minor", [0, -100])
def test_dispute_hold_of_zero_or_less_is_refused(invoice, amount_minor):
    with pytest.raises(IntegrityError), transaction.atomic():
        DisputeHold.objects.create(
            **entry_fields(invoice),
            amount_minor=amount_minor,
            expire_hold_days=30,
            expires_on=invoice.due_date,
        )


@pytest.mark.parametrize("amount_minor", [0, -100])
def test_payment_of_zero_or_less_is_refused(invoice, amount_minor):
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            invoice=invoice,
            account=invoice.account,
            amount_minor=amount_minor,
            paid_on=invoice.bill_date,
        )


def test_invoice_line_of_zero_is_refused(invoice):
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.create(invoice=invoice, description="Free", amount_minor=0)


def test_writeoff_update_to_zero_is_refused(invoice):
    writeoff = WriteOff.objects.create(
        **entry_fields(invoice), amount_minor=100, reason_code=0, writeoff_date=invoice.bill_date
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        WriteOff.objects.filter(pk=writeoff.pk).update(amount_minor=0)


def test_dispute_hold_with_a_reason_other_than_9001_is_refused(invoice):
    with pytest.raises(IntegrityError), transaction.atomic():
        DisputeHold.objects.create(
            **entry_fields(invoice),
            amount_minor=100,
            reason_code=0,
            expire_hold_days=30,
            expires_on=invoice.due_date,
        )


def test_writeoff_with_reason_9001_is_refused(invoice):
    with pytest.raises(IntegrityError), transaction.atomic():
        WriteOff.objects.create(
            **entry_fields(invoice),
            amount_minor=100,
            reason_code=9001,
            writeoff_date=invoice.bill_date,
        )


def test_idempotency_key_is_unique_per_scope(invoice):
    fields = {
        **entry_fields(invoice),
        "amount_minor": 100,
        "reason_code": 0,
        "writeoff_date": invoice.bill_date,
        "idempotency_key": "tok-1",
    }
    WriteOff.objects.create(**fields, idempotency_scope="user:1")
    WriteOff.objects.create(**fields, idempotency_scope="user:2")
    with pytest.raises(IntegrityError), transaction.atomic():
        WriteOff.objects.create(**fields, idempotency_scope="user:1")


def test_entries_without_an_idempotency_key_are_not_unique(invoice):
    for _ in range(2):
        WriteOff.objects.create(
            **entry_fields(invoice),
            amount_minor=100,
            reason_code=0,
            writeoff_date=invoice.bill_date,
        )
    assert WriteOff.objects.count() == 2


# --- through the services: a balance read without the lock ----------------------


@pytest.mark.parametrize(
    ("first", "then", "module"),
    [
        ("dispute", "writeoff", "writeoffs.lifecycle.create"),
        ("dispute", "payment", "billing.receivables.payments"),
        ("payment", "dispute", "writeoffs.lifecycle.holds"),
        ("writeoff", "dispute", "writeoffs.lifecycle.holds"),
    ],
)
def test_service_working_from_a_stale_balance_is_stopped_by_the_constraint(
    invoice, clerk_actor, first, then, module
):
    """If a service ever checked a balance read before the lock, the CHECK
    constraint refuses the commit and the caller gets a clean 3119.

    (The constraint can only see a stale value in another column than the one
    being written: the row lock is what prevents a lost update of one column.)
    """
    calls = {
        "writeoff": lambda amount: writeoff_create(
            invoice_id=invoice.pk, amount=amount, reason_code=0, comments="x", actor=clerk_actor
        ),
        "dispute": lambda amount: dispute_hold_create(
            invoice_id=invoice.pk, amount=amount, comments="x", actor=clerk_actor
        ),
        "payment": lambda amount: payment_record(
            invoice_id=invoice.pk, amount=amount, actor=clerk_actor
        ),
    }
    stale = Invoice.objects.get(pk=invoice.pk)
    calls[first]("100.00")
    before = Invoice.objects.filter(pk=invoice.pk).values().get()
    with mock.patch(f"{module}.lock_invoice", return_value=stale), pytest.raises(BillingError) as e:
        calls[then]("50.00")
    assert e.value.code == 3119
    assert "balance changed" in e.value.message
    assert Invoice.objects.filter(pk=invoice.pk).values().get() == before
    assert WriteOff.objects.count() + Payment.objects.count() + DisputeHold.objects.count() == 1
