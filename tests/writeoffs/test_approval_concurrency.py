"""Races on approvals, each thread on its own connection (see test_concurrency.py)."""

from __future__ import annotations

import queue
import time

import pytest
from django.contrib.auth import get_user_model

from billing.actors import Actor
from billing.errors import OVER_AVAILABLE, WRITEOFF_NOT_PENDING
from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.models import Invoice
from billing.receivables.payments import payment_record
from billing.roles import CLERK, SUPERVISOR
from tests.ledger import assert_ledger_consistent
from tests.writeoffs.test_concurrency import THREADS, refusals, run_at_once
from writeoffs.approvals.decisions import writeoff_approve, writeoff_reject
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.models import WriteOff

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def distinct_people(user_ids: list[int]):
    """A ``prepare`` for run_at_once that gives each thread a different person."""
    waiting: queue.Queue[int] = queue.Queue()
    for user_id in user_ids:
        waiting.put(user_id)

    def prepare(_ignored: int) -> Actor:
        actor = Actor.for_user(get_user_model().objects.get(pk=waiting.get_nowait()))
        actor.has_perm("writeoffs.approve_writeoff")  # warm the cache before the race
        actor.user.groups.count()
        return actor

    return prepare


@pytest.fixture
def clerk_id(db):
    return UserFactory(username="racing-clerk", groups=[CLERK]).pk


@pytest.fixture
def race_invoice(db):
    """1000.00 due."""
    return InvoiceFactory(
        account=AccountFactory(acct_no=7001), invoice_no=70001, total_minor=100000
    )


@pytest.fixture
def pending_writeoff(clerk_id, race_invoice):
    clerk = Actor.for_user(get_user_model().objects.get(pk=clerk_id))
    writeoff = writeoff_create(
        invoice_id=race_invoice.pk, amount="600.00", reason_code=0, comments="x", actor=clerk
    )
    assert writeoff.status == WriteOff.Status.PENDING
    return writeoff


def _supervisors(count: int) -> list[int]:
    return [UserFactory(username=f"approver-{i}", groups=[SUPERVISOR]).pk for i in range(count)]


def test_twenty_simultaneous_approvals_of_one_pending_writeoff_apply_once(
    pending_writeoff, race_invoice
):
    started = time.perf_counter()
    outcomes = run_at_once(
        THREADS,
        lambda i, actor: writeoff_approve(writeoff_id=pending_writeoff.pk, actor=actor),
        0,
        prepare=distinct_people(_supervisors(THREADS)),
    )
    elapsed = time.perf_counter() - started
    refused = refusals(outcomes)
    approved = [o.value for o in outcomes if o.error is None]
    print(f"\n20 approvals: {len(approved)} applied, {len(refused)} refused in {elapsed:.2f} s")
    assert len(approved) == 1
    assert {e.code for e in refused} == {WRITEOFF_NOT_PENDING}
    invoice = Invoice.objects.get(pk=race_invoice.pk)
    assert (invoice.written_off_minor, invoice.pending_minor) == (600_00, 0)
    assert WriteOff.objects.get(pk=pending_writeoff.pk).approved_by_id == approved[0].approved_by_id
    assert_ledger_consistent(race_invoice.pk)


def test_simultaneous_approvals_and_rejections_decide_exactly_once(pending_writeoff, race_invoice):
    def decide(i: int, actor: Actor) -> WriteOff:
        if i % 2:
            return writeoff_reject(writeoff_id=pending_writeoff.pk, reason="No", actor=actor)
        return writeoff_approve(writeoff_id=pending_writeoff.pk, actor=actor)

    outcomes = run_at_once(THREADS, decide, 0, prepare=distinct_people(_supervisors(THREADS)))
    refused = refusals(outcomes)
    decided = [o.value for o in outcomes if o.error is None]
    assert len(decided) == 1 and len(refused) == THREADS - 1
    final = WriteOff.objects.get(pk=pending_writeoff.pk)
    invoice = Invoice.objects.get(pk=race_invoice.pk)
    assert invoice.pending_minor == 0
    assert invoice.written_off_minor == (600_00 if final.status == "active" else 0)
    assert_ledger_consistent(race_invoice.pk)


def test_an_approval_racing_payments_never_pushes_available_below_zero(
    pending_writeoff, race_invoice, clerk_id
):
    """1000.00 due, 600.00 pending: 400.00 is available. One thread approves while
    nineteen try to pay the 400.00; exactly one payment fits and the approval holds."""
    supervisor_id = _supervisors(1)[0]
    people = [supervisor_id] + [clerk_id] * (THREADS - 1)

    def work(i: int, actor: Actor):
        if i == 0:
            return writeoff_approve(writeoff_id=pending_writeoff.pk, actor=actor)
        return payment_record(invoice_id=race_invoice.pk, amount="400.00", actor=actor)

    started = time.perf_counter()
    outcomes = run_at_once(THREADS, work, 0, prepare=distinct_people(people))
    elapsed = time.perf_counter() - started
    refused = refusals(outcomes)
    assert outcomes[0].error is None, outcomes[0].error
    paid = [o for o in outcomes[1:] if o.error is None]
    print(f"\napproval vs 19 payments: {len(paid)} payment(s) applied in {elapsed:.2f} s")
    assert len(paid) == 1
    assert {e.code for e in refused} == {OVER_AVAILABLE}
    invoice = Invoice.objects.get(pk=race_invoice.pk)
    assert invoice.available_minor == 0
    assert (invoice.paid_minor, invoice.written_off_minor, invoice.pending_minor) == (
        400_00,
        600_00,
        0,
    )
    assert_ledger_consistent(race_invoice.pk)
