"""A failure at any step inside a service leaves no trace.

Each case lets a service run up to one step (the invoice lock, the idempotency
lookup, the first insert, the totals update, a history row), raises there, and
checks that every ledger table, every history table and the invoice's totals are
exactly as before. The test's own transaction stays open around the service's, so
a write the service made outside its atomic block would still be visible here.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from unittest import mock

import pytest
from django.test import override_settings
from simple_history.signals import post_create_historical_record

from billing.actors import Actor
from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.models import Invoice, JournalEntry, JournalLine, Payment
from billing.receivables import invoices as invoice_module
from billing.receivables import payments as payment_module
from billing.receivables.invoices import invoice_send
from billing.receivables.payments import payment_record, payment_remove
from billing.roles import SUPERVISOR
from tests.ledger import expired_days_ago
from writeoffs.lifecycle import create as writeoff_create_module
from writeoffs.lifecycle import holds as hold_module
from writeoffs.lifecycle import reverse as writeoff_reverse_module
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.expiry import dispute_holds_expire
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import DisputeHold, WriteOff

pytestmark = pytest.mark.django_db

LEDGER_MODELS = (Invoice, Payment, WriteOff, DisputeHold)
# The journal has no history: entries are never changed.
JOURNAL_MODELS = (JournalEntry, JournalLine)
JOURNAL_STEPS = ["after the journal entry insert", "after the journal lines insert"]


class InjectedFault(Exception):
    """Raised by a test at a chosen step; never by the code under test."""


def snapshot() -> dict[str, list[dict]]:
    """Every row of every ledger table and its history, in a comparable form."""
    tables: dict[str, list[dict]] = {}
    for model in LEDGER_MODELS:
        for manager in (model.objects, model.history):
            label = manager.model._meta.label
            tables[label] = list(manager.order_by("pk").values())
    for model in JOURNAL_MODELS:
        tables[model._meta.label] = list(model.objects.order_by("pk").values())
    return tables


@contextmanager
def fail_after_call(target: object, name: str) -> Iterator[None]:
    """Let ``target.name`` run, then raise: the step happened, the rest did not."""
    original = getattr(target, name)

    def run_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise InjectedFault(f"after {name}")

    with mock.patch.object(target, name, run_then_fail):
        yield


@contextmanager
def fail_after_history_row(model: type) -> Iterator[None]:
    """Raise once a historical row of ``model`` has been inserted."""

    def raise_fault(sender, **kwargs):
        raise InjectedFault(f"after the {model.__name__} history row")

    post_create_historical_record.connect(
        raise_fault, sender=model.history.model, dispatch_uid="fault-injection"
    )
    try:
        yield
    finally:
        post_create_historical_record.disconnect(
            sender=model.history.model, dispatch_uid="fault-injection"
        )


def fault(step: str, service_module) -> Callable[[], AbstractContextManager]:
    steps = {
        "after the invoice lock": lambda: fail_after_call(service_module, "lock_invoice"),
        "after the idempotency lookup": lambda: fail_after_call(service_module, "find_replay"),
        "after the payment insert/update": lambda: fail_after_call(Payment, "save"),
        "after the write-off insert/update": lambda: fail_after_call(WriteOff, "save"),
        "after the dispute hold insert/update": lambda: fail_after_call(DisputeHold, "save"),
        "after the totals update": lambda: fail_after_call(Invoice, "save"),
        "after the payment history row": lambda: fail_after_history_row(Payment),
        "after the write-off history row": lambda: fail_after_history_row(WriteOff),
        "after the dispute hold history row": lambda: fail_after_history_row(DisputeHold),
        "after the invoice history row": lambda: fail_after_history_row(Invoice),
        "after the journal entry insert": lambda: fail_after_call(JournalEntry, "save"),
        "after the journal lines insert": lambda: fail_after_call(
            JournalLine.objects, "bulk_create"
        ),
    }
    return steps[step]


@pytest.fixture
def supervisor_actor_tx(db):
    return Actor.for_user(UserFactory(username="fault-supervisor", groups=[SUPERVISOR]))


@pytest.fixture
def fault_invoice(db):
    return InvoiceFactory(account=AccountFactory(acct_no=8001), invoice_no=80001, total_minor=12000)


def assert_no_trace(
    run: Callable[[], object], injected: Callable[[], AbstractContextManager]
) -> None:
    before = snapshot()
    with injected(), pytest.raises(InjectedFault):
        run()
    assert snapshot() == before


CREATE_STEPS = [
    "after the invoice lock",
    "after the idempotency lookup",
    "after the totals update",
    "after the invoice history row",
]


@pytest.mark.parametrize(
    "step",
    [
        *CREATE_STEPS,
        "after the write-off insert/update",
        "after the write-off history row",
        *JOURNAL_STEPS,
    ],
)
def test_writeoff_create_fault_leaves_no_trace(step, fault_invoice, supervisor_actor_tx):
    def run():
        return writeoff_create(
            invoice_id=fault_invoice.pk,
            amount="50.00",
            reason_code=0,
            comments="Fault",
            actor=supervisor_actor_tx,
            idempotency_key="k1",
        )

    assert_no_trace(run, fault(step, writeoff_create_module))
    assert Invoice.objects.get(pk=fault_invoice.pk).written_off_minor == 0
    # And the same request still succeeds afterwards: the key was not burnt.
    assert run().amount_minor == 5000


@pytest.mark.parametrize(
    "step",
    [
        *CREATE_STEPS,
        "after the dispute hold insert/update",
        "after the dispute hold history row",
    ],
)
def test_dispute_hold_create_fault_leaves_no_trace(step, fault_invoice, supervisor_actor_tx):
    def run():
        return dispute_hold_create(
            invoice_id=fault_invoice.pk,
            amount="50.00",
            comments="Fault",
            actor=supervisor_actor_tx,
            idempotency_key="k2",
        )

    assert_no_trace(run, fault(step, hold_module))
    assert run().amount_minor == 5000


@pytest.mark.parametrize(
    "step",
    [
        *CREATE_STEPS,
        "after the payment insert/update",
        "after the payment history row",
        *JOURNAL_STEPS,
    ],
)
def test_payment_record_fault_leaves_no_trace(step, fault_invoice, supervisor_actor_tx):
    def run():
        return payment_record(
            invoice_id=fault_invoice.pk,
            amount="50.00",
            actor=supervisor_actor_tx,
            idempotency_key="k3",
        )

    assert_no_trace(run, fault(step, payment_module))
    assert run().amount_minor == 5000


@pytest.mark.parametrize(
    "step",
    [
        "after the invoice lock",
        "after the totals update",
        "after the invoice history row",
        *JOURNAL_STEPS,
    ],
)
def test_invoice_send_fault_leaves_the_invoice_a_draft_with_no_entry(step, db):
    draft = InvoiceFactory(account=AccountFactory(acct_no=8002), status=Invoice.Status.DRAFT)

    def run():
        return invoice_send(invoice_id=draft.pk, actor=Actor.for_system())

    assert_no_trace(run, fault(step, invoice_module))
    assert Invoice.objects.get(pk=draft.pk).status == Invoice.Status.DRAFT
    assert run().status == Invoice.Status.SENT
    assert JournalEntry.objects.filter(invoice=draft).count() == 1


UPDATE_STEPS = [
    "after the invoice lock",
    "after the totals update",
    "after the invoice history row",
]


@pytest.mark.parametrize(
    "step",
    [
        *UPDATE_STEPS,
        "after the write-off insert/update",
        "after the write-off history row",
        *JOURNAL_STEPS,
    ],
)
def test_writeoff_reverse_fault_leaves_no_trace(step, fault_invoice, supervisor_actor_tx):
    writeoff = writeoff_create(
        invoice_id=fault_invoice.pk,
        amount="50.00",
        reason_code=0,
        comments="To reverse",
        actor=supervisor_actor_tx,
    )

    def run():
        return writeoff_reverse(writeoff_id=writeoff.pk, reason="Wrong", actor=supervisor_actor_tx)

    assert_no_trace(run, fault(step, writeoff_reverse_module))
    assert run().status == WriteOff.Status.REVERSED


@pytest.mark.parametrize(
    "step",
    [
        *UPDATE_STEPS,
        "after the payment insert/update",
        "after the payment history row",
        *JOURNAL_STEPS,
    ],
)
def test_payment_remove_fault_leaves_no_trace(step, fault_invoice, supervisor_actor_tx):
    payment = payment_record(invoice_id=fault_invoice.pk, amount="50.00", actor=supervisor_actor_tx)

    def run():
        return payment_remove(payment_id=payment.pk, reason="Mistake", actor=supervisor_actor_tx)

    assert_no_trace(run, fault(step, payment_module))
    assert run().status == Payment.Status.REMOVED


SETTLE_STEPS = [
    *UPDATE_STEPS,
    "after the dispute hold insert/update",
    "after the dispute hold history row",
]
SETTLE_CASES = [
    *[("convert", step) for step in SETTLE_STEPS],
    ("convert", "after the write-off insert/update"),
    ("convert", "after the write-off history row"),
    *[("convert", step) for step in JOURNAL_STEPS],
    *[("release", step) for step in SETTLE_STEPS],
    *[("release_reage", step) for step in SETTLE_STEPS],
]


def _open_hold(invoice: Invoice, actor: Actor, amount: str = "50.00") -> DisputeHold:
    return dispute_hold_create(invoice_id=invoice.pk, amount=amount, comments="Hold", actor=actor)


def _expired_hold(invoice: Invoice, actor: Actor, amount: str = "50.00") -> DisputeHold:
    """An open hold whose last day was five days ago (no run date is in the future)."""
    return expired_days_ago(_open_hold(invoice, actor, amount), 5)


@pytest.mark.parametrize(("action", "step"), SETTLE_CASES)
def test_dispute_hold_settle_fault_leaves_no_trace(
    action, step, fault_invoice, supervisor_actor_tx
):
    hold = _open_hold(fault_invoice, supervisor_actor_tx)

    def run():
        return dispute_hold_settle(
            dispute_hold_id=hold.pk, action=action, actor=supervisor_actor_tx, comments="Settle"
        )

    assert_no_trace(run, fault(step, hold_module))
    assert run().status != DisputeHold.Status.OPEN


@pytest.mark.parametrize(("action", "step"), SETTLE_CASES)
def test_dispute_holds_expire_fault_leaves_no_trace(
    action, step, fault_invoice, supervisor_actor_tx
):
    # Expiry re-ages only a hold of the whole balance due (120.00).
    amount = "120.00" if action == "release_reage" else "50.00"
    hold = _expired_hold(fault_invoice, supervisor_actor_tx, amount)
    run_date = hold.expires_on + datetime.timedelta(days=1)

    def run():
        return dispute_holds_expire(run_date=run_date)

    with override_settings(DISPUTE_HOLD_EXPIRATION_ACTION=action):
        assert_no_trace(run, fault(step, hold_module))
        assert run().settled == [hold.pk]


def test_expiry_fault_on_the_second_hold_keeps_the_first_settlement_whole(
    fault_invoice, supervisor_actor_tx
):
    """Expiry settles each hold in its own transaction: a failure part-way keeps
    the holds already settled, rolls back the failing one completely, and a rerun
    finishes the job."""
    first = _expired_hold(fault_invoice, supervisor_actor_tx)
    second = _expired_hold(fault_invoice, supervisor_actor_tx)
    run_date = second.expires_on + datetime.timedelta(days=1)
    real_lock = hold_module.lock_invoice
    calls = []

    def fail_on_second(invoice_id):
        invoice = real_lock(invoice_id)
        calls.append(invoice_id)
        if len(calls) == 2:
            raise InjectedFault("second hold")
        return invoice

    with (
        override_settings(DISPUTE_HOLD_EXPIRATION_ACTION="release"),
        mock.patch.object(hold_module, "lock_invoice", fail_on_second),
        pytest.raises(InjectedFault),
    ):
        dispute_holds_expire(run_date=run_date)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == DisputeHold.Status.RELEASED
    assert second.status == DisputeHold.Status.OPEN
    assert Invoice.objects.get(pk=fault_invoice.pk).held_minor == second.amount_minor
    with override_settings(DISPUTE_HOLD_EXPIRATION_ACTION="release"):
        assert dispute_holds_expire(run_date=run_date).settled == [second.pk]
    assert Invoice.objects.get(pk=fault_invoice.pk).held_minor == 0
