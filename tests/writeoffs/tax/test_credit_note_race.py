"""Twenty writers at once, each writing off its own invoice (so no invoice lock
orders them): their credit notes take consecutive numbers, with no gap and no
duplicate, and a writer that rolls back after taking a number gives it back.

Real transactions, each thread on its own connection: the year's counter row lock
orders them on PostgreSQL, the IMMEDIATE transaction on SQLite's file database."""

from __future__ import annotations

import pytest
from django.db import transaction

from billing.actors import Actor
from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.roles import SUPERVISOR
from billing.rules import today
from tests.writeoffs.test_concurrency import THREADS, refusals, run_at_once
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.models import CreditNote, WriteOff

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


class RolledBack(Exception):
    """A writer that fails after its write-off (and its note) was written."""


def test_twenty_simultaneous_credit_notes_are_consecutive_without_gap_or_duplicate():
    account = AccountFactory(acct_no=7101)
    invoices = [
        InvoiceFactory(account=account, invoice_no=71000 + i, total_minor=12000, tax_minor=2000)
        for i in range(THREADS)
    ]
    supervisor_id = UserFactory(username="racing-supervisor", groups=[SUPERVISOR]).pk

    def write_off(i: int, actor: Actor) -> WriteOff:
        with transaction.atomic():
            writeoff = writeoff_create(
                invoice_id=invoices[i].pk,
                amount="60.00",
                reason_code=1,
                comments=f"Race {i}",
                actor=actor,
            )
            if i % 5 == 0:
                raise RolledBack(i)
        return writeoff

    outcomes = run_at_once(THREADS, write_off, supervisor_id)

    rolled_back = [o.error for o in outcomes if isinstance(o.error, RolledBack)]
    assert len(rolled_back) == THREADS // 5
    assert refusals([o for o in outcomes if not isinstance(o.error, RolledBack)]) == []
    notes = list(CreditNote.objects.order_by("sequence"))
    committed = THREADS - len(rolled_back)
    assert [note.sequence for note in notes] == list(range(1, committed + 1))
    year = today().year
    assert [note.number for note in notes] == [
        f"CN-{year}-{n:06d}" for n in range(1, committed + 1)
    ]
    assert len({note.writeoff_id for note in notes}) == committed
    assert WriteOff.objects.count() == committed
