"""The payment services: record (partial) payments and remove them."""

import datetime
from contextlib import contextmanager
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from billing.actors import Actor
from billing.errors import (
    IDEMPOTENCY_CLASH,
    ILLEGAL_CHARACTERS,
    INVALID_AMOUNT,
    INVALID_COMMENTS,
    INVALID_INPUT,
    INVALID_STATE,
    INVOICE_NOT_OPEN,
    INVOICE_VOID,
    MALFORMED_AMOUNT,
    OVER_AVAILABLE,
    PERMISSION_DENIED,
    BillingError,
)
from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.models import ApiKey, Invoice, Payment
from billing.receivables.payments import payment_record, payment_remove
from billing.roles import CLERK
from writeoffs.lifecycle.holds import dispute_hold_create

pytestmark = pytest.mark.django_db


@contextmanager
def refused(code):
    with pytest.raises(BillingError) as info:
        yield info
    assert info.value.code == code, info.value


def pay(invoice, actor, amount="10.00", **kwargs):
    return payment_record(invoice_id=invoice.pk, amount=amount, actor=actor, **kwargs)


def remove(payment, actor, reason="Recorded against the wrong invoice"):
    return payment_remove(payment_id=payment.pk, reason=reason, actor=actor)


def stored(invoice):
    return Invoice.objects.get(pk=invoice.pk)


# --- recording ----------------------------------------------------------------


def test_partial_payments_reduce_the_balance_due(invoice, clerk_actor):
    pay(invoice, clerk_actor, "20.00")
    pay(invoice, clerk_actor, "30.50")
    invoice = stored(invoice)
    assert invoice.paid == Decimal("50.50")
    assert invoice.balance_due == Decimal("69.50")
    assert Payment.objects.count() == 2


def test_payment_records_who_when_how(invoice, clerk_actor, clerk):
    payment = pay(
        invoice,
        clerk_actor,
        "20.00",
        paid_on=invoice.bill_date,
        method=Payment.Method.BANK_TRANSFER,
        reference="WIRE-77",
    )
    assert payment.amount == Decimal("20.00")
    assert payment.paid_on == invoice.bill_date
    assert payment.method == "bank_transfer"
    assert payment.reference == "WIRE-77"
    assert payment.recorded_by == clerk
    assert payment.recorded_by_label == "clerk"
    assert payment.account_id == invoice.account_id
    assert payment.status == Payment.Status.ACTIVE


def test_payment_date_defaults_to_today_in_the_configured_time_zone(invoice, clerk_actor):
    assert pay(invoice, clerk_actor).paid_on == timezone.localdate()


def test_payment_dated_in_the_future_is_refused(invoice, clerk_actor):
    with refused(INVALID_INPUT) as info:
        pay(invoice, clerk_actor, paid_on=timezone.localdate() + datetime.timedelta(days=1))
    assert info.value.field == "paid_on"


@pytest.mark.parametrize("method", ["", "bitcoin", None])
def test_unknown_payment_method_is_refused(invoice, clerk_actor, method):
    with refused(INVALID_INPUT) as info:
        pay(invoice, clerk_actor, method=method)
    assert info.value.field == "method"


def test_payment_reference_with_control_characters_is_refused(invoice, clerk_actor):
    with refused(ILLEGAL_CHARACTERS):
        pay(invoice, clerk_actor, reference="REF\x1b[31m")


def test_payment_reference_over_100_characters_is_refused(invoice, clerk_actor):
    with refused(INVALID_INPUT):
        pay(invoice, clerk_actor, reference="r" * 101)


def test_empty_payment_amount_pays_the_full_available_amount(invoice, clerk_actor):
    pay(invoice, clerk_actor, "20.00")
    assert pay(invoice, clerk_actor, "").amount == Decimal("100.00")
    assert stored(invoice).balance_due == Decimal("0.00")


def test_payment_of_exactly_the_balance_is_accepted(invoice, clerk_actor):
    pay(invoice, clerk_actor, "120.00")
    assert stored(invoice).balance_due_minor == 0


def test_payment_above_the_balance_due_is_refused_with_balance_in_message(invoice, clerk_actor):
    with refused(OVER_AVAILABLE) as info:
        pay(invoice, clerk_actor, "120.01")
    assert info.value.message == (
        "Payment amount 120.01 is more than the balance due of 120.00 on invoice 10023."
    )
    assert not Payment.objects.exists()


def test_payment_into_the_disputed_part_is_refused_until_it_is_released(invoice, clerk_actor):
    dispute_hold_create(
        invoice_id=invoice.pk, amount="30.00", comments="Disputed", actor=clerk_actor
    )
    with refused(OVER_AVAILABLE) as info:
        pay(invoice, clerk_actor, "100.00")
    assert info.value.message == (
        "Payment amount 100.00 is more than the 90.00 available on invoice 10023 "
        "(balance due 120.00, of which 30.00 on hold). "
        "Release the disputed part before recording a payment against it."
    )
    assert pay(invoice, clerk_actor, "90.00").amount == Decimal("90.00")


def test_payment_on_a_fully_paid_invoice_is_refused(invoice, clerk_actor):
    pay(invoice, clerk_actor, "")
    with refused(OVER_AVAILABLE):
        pay(invoice, clerk_actor, "")
    with refused(OVER_AVAILABLE):
        pay(invoice, clerk_actor, "0.01")


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("0", INVALID_AMOUNT),
        ("-5.00", MALFORMED_AMOUNT),
        ("10.001", MALFORMED_AMOUNT),
        ("ten", MALFORMED_AMOUNT),
        ("NaN", MALFORMED_AMOUNT),
        ("Infinity", MALFORMED_AMOUNT),
        ("1e13", MALFORMED_AMOUNT),
        ("1,50", MALFORMED_AMOUNT),
        (2.5, MALFORMED_AMOUNT),
        (Decimal("sNaN"), MALFORMED_AMOUNT),
        (True, MALFORMED_AMOUNT),
    ],
    ids=repr,
)
def test_payment_amount_that_is_not_a_positive_two_place_number_is_refused(
    invoice, clerk_actor, amount, code
):
    with refused(code):
        pay(invoice, clerk_actor, amount)
    assert not Payment.objects.exists()
    assert stored(invoice).paid_minor == 0


def test_yen_payment_takes_whole_yen(clerk_actor):
    invoice = InvoiceFactory(account=AccountFactory(currency="JPY"), total_minor=1500)
    assert pay(invoice, clerk_actor, "1499").amount_minor == 1499
    with refused(MALFORMED_AMOUNT):
        pay(invoice, clerk_actor, "0.5")


def test_dinar_payment_takes_three_places(clerk_actor):
    invoice = InvoiceFactory(account=AccountFactory(currency="KWD"), total_minor=12345)
    assert pay(invoice, clerk_actor, "12.345").amount_minor == 12345
    assert stored(invoice).balance_due == Decimal("0.000")


@pytest.mark.parametrize(
    ("status", "code"),
    [(Invoice.Status.DRAFT, INVOICE_NOT_OPEN), (Invoice.Status.VOID, INVOICE_VOID)],
)
def test_draft_and_void_invoices_take_no_payments(account, clerk_actor, status, code):
    invoice = InvoiceFactory(account=account, status=status)
    with refused(code):
        pay(invoice, clerk_actor)
    assert not Payment.objects.exists()


def test_viewer_may_not_record_a_payment(invoice, viewer):
    with refused(PERMISSION_DENIED):
        pay(invoice, Actor.for_user(viewer))


def test_clerk_api_key_may_record_a_payment(invoice):
    key = ApiKey.objects.create(name="erp", role=ApiKey.Role.CLERK, prefix="p", key_hash="h")
    payment = pay(invoice, Actor.for_api_key(key))
    assert payment.recorded_by is None
    assert payment.recorded_by_label == "API key erp"


# --- idempotency ----------------------------------------------------------------


def test_payment_replay_returns_the_first_record_and_creates_nothing(invoice, clerk_actor):
    first = pay(invoice, clerk_actor, "20.00", idempotency_key="tok-1")
    replay = pay(invoice, clerk_actor, "20.00", idempotency_key="tok-1")
    assert replay.pk == first.pk
    assert Payment.objects.count() == 1
    assert stored(invoice).paid == Decimal("20.00")


def test_payment_key_reused_with_another_amount_is_refused(invoice, clerk_actor):
    pay(invoice, clerk_actor, "20.00", idempotency_key="tok-1")
    with refused(IDEMPOTENCY_CLASH):
        pay(invoice, clerk_actor, "25.00", idempotency_key="tok-1")
    assert stored(invoice).paid == Decimal("20.00")


def test_payment_key_from_another_user_is_independent(invoice, clerk_actor):
    other = Actor.for_user(UserFactory(username="clerk2", groups=[CLERK]))
    pay(invoice, clerk_actor, "20.00", idempotency_key="tok-1")
    pay(invoice, other, "20.00", idempotency_key="tok-1")
    assert stored(invoice).paid == Decimal("40.00")


# --- removal --------------------------------------------------------------------


def test_removing_a_payment_restores_the_balance_and_keeps_the_row(
    invoice, clerk_actor, supervisor_actor, supervisor
):
    keep = pay(invoice, clerk_actor, "20.00")
    mistake = pay(invoice, clerk_actor, "50.00")
    remove(mistake, supervisor_actor, "Wrong invoice\r\nmoved to 10024")
    invoice = stored(invoice)
    assert invoice.paid == Decimal("20.00")
    assert invoice.balance_due == Decimal("100.00")
    removed = Payment.objects.get(pk=mistake.pk)
    assert removed.status == Payment.Status.REMOVED
    assert removed.removed_by == supervisor
    assert removed.removed_by_label == "supervisor"
    assert removed.removed_at is not None
    assert removed.removal_reason == "Wrong invoice\nmoved to 10024"
    assert removed.amount == Decimal("50.00")
    assert Payment.objects.get(pk=keep.pk).status == Payment.Status.ACTIVE


def test_removing_a_payment_twice_is_refused(invoice, clerk_actor, supervisor_actor):
    payment = pay(invoice, clerk_actor, "50.00")
    remove(payment, supervisor_actor)
    with refused(INVALID_STATE):
        remove(payment, supervisor_actor)
    assert stored(invoice).paid_minor == 0


def test_removed_amount_can_be_paid_again(invoice, clerk_actor, supervisor_actor):
    remove(pay(invoice, clerk_actor, ""), supervisor_actor)
    assert pay(invoice, clerk_actor, "").amount == Decimal("120.00")


@pytest.mark.parametrize(
    ("reason", "code"),
    [("", INVALID_COMMENTS), (" ", INVALID_COMMENTS), ("x\u2066", ILLEGAL_CHARACTERS)],
)
def test_removing_a_payment_needs_a_clean_reason(
    invoice, clerk_actor, supervisor_actor, reason, code
):
    payment = pay(invoice, clerk_actor, "50.00")
    with refused(code) as info:
        remove(payment, supervisor_actor, reason)
    assert info.value.field == "reason"
    assert Payment.objects.get().status == Payment.Status.ACTIVE


def test_clerk_may_not_remove_a_payment(invoice, clerk_actor):
    payment = pay(invoice, clerk_actor, "50.00")
    with refused(PERMISSION_DENIED):
        remove(payment, clerk_actor)
    assert stored(invoice).paid == Decimal("50.00")


def test_viewer_may_not_remove_a_payment(invoice, clerk_actor, viewer):
    payment = pay(invoice, clerk_actor, "50.00")
    with refused(PERMISSION_DENIED):
        remove(payment, Actor.for_user(viewer))


@pytest.mark.parametrize("payment_id", [424242, "abc", "²", None])
def test_removing_an_unknown_payment_is_refused(supervisor_actor, payment_id, db):
    with refused(INVALID_INPUT):
        payment_remove(payment_id=payment_id, reason="Mistake", actor=supervisor_actor)


# --- history --------------------------------------------------------------------


def test_payment_history_records_each_actor(invoice, clerk_actor, supervisor_actor):
    payment = pay(invoice, clerk_actor, "50.00")
    remove(payment, supervisor_actor)
    rows = Payment.history.filter(id=payment.pk).order_by("history_id")
    assert [(r.status, r.history_actor) for r in rows] == [
        ("active", "clerk"),
        ("removed", "supervisor"),
    ]
    invoice_rows = Invoice.history.filter(id=invoice.pk).order_by("history_id")
    assert [r.history_actor for r in invoice_rows][-2:] == ["clerk", "supervisor"]
    assert [r.paid_minor for r in invoice_rows][-2:] == [5000, 0]


# --- rollback -------------------------------------------------------------------


class Boom(Exception):
    pass


def snapshot(invoice):
    return (
        Invoice.objects.filter(pk=invoice.pk).values("paid_minor").get(),
        list(Payment.objects.order_by("pk").values()),
        Invoice.history.count(),
        Payment.history.count(),
    )


def test_failed_payment_record_leaves_no_rows(invoice, clerk_actor):
    before = snapshot(invoice)
    with (
        mock.patch.object(Invoice, "save", side_effect=Boom("injected"), autospec=True),
        pytest.raises(Boom),
    ):
        pay(invoice, clerk_actor, "50.00")
    assert snapshot(invoice) == before
    assert not Payment.history.exists()


def test_failed_payment_removal_leaves_the_payment_active(invoice, clerk_actor, supervisor_actor):
    payment = pay(invoice, clerk_actor, "50.00")
    before = snapshot(invoice)
    with (
        mock.patch.object(Invoice, "save", side_effect=Boom("injected"), autospec=True),
        pytest.raises(Boom),
    ):
        remove(payment, supervisor_actor)
    assert snapshot(invoice) == before
    assert Payment.objects.get().status == Payment.Status.ACTIVE
