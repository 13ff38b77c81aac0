"""billing/idempotency.py: which IntegrityErrors ``create_once`` turns into an answer."""

import pytest
from django.db import IntegrityError
from django.db.models import F

from billing.actors import Actor
from billing.api.keys import api_key_create
from billing.errors import BillingError
from billing.factories import AccountFactory
from billing.idempotency import create_once, fingerprint
from billing.models import Account, Invoice
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.models import WriteOff


@pytest.fixture
def api_actor(db):
    return Actor.for_api_key(api_key_create("erp", "clerk")[0])


def test_another_constraint_is_reraised_not_turned_into_3119(api_actor):
    def create():
        return AccountFactory(acct_no=-1)  # account_acct_no_positive

    with pytest.raises(IntegrityError):
        create_once(Account, api_actor, None, fingerprint(), create)


def test_another_constraint_is_reraised_even_with_an_idempotency_key(api_actor, invoice):
    def create():
        Invoice.objects.filter(pk=invoice.pk).update(invoice_no=0)  # invoice_no_positive

    with pytest.raises(IntegrityError):
        create_once(WriteOff, api_actor, "key-1", fingerprint(), create)


def test_a_balance_check_constraint_becomes_3119_and_writes_nothing(api_actor, invoice):
    def create():
        Invoice.objects.filter(pk=invoice.pk).update(written_off_minor=0)
        # held above the balance: invoice_held_within_balance
        Invoice.objects.filter(pk=invoice.pk).update(held_minor=F("total_minor") + 1)

    with pytest.raises(BillingError) as refused:
        create_once(WriteOff, api_actor, None, fingerprint(), create)

    assert refused.value.code == 3119
    invoice.refresh_from_db()
    assert invoice.held_minor == 0


def test_a_lost_idempotency_race_returns_the_first_entry(api_actor, invoice):
    first = writeoff_create(
        invoice_id=invoice.pk,
        amount="5.00",
        reason_code=1,
        comments="First",
        actor=api_actor,
        idempotency_key="race",
    )

    def create():
        # What the loser of the race does: insert the same key again.
        WriteOff.objects.create(
            invoice=invoice,
            account=invoice.account,
            amount_minor=500,
            reason_code=1,
            comments="First",
            writeoff_date=first.writeoff_date,
            idempotency_scope=api_actor.idempotency_scope,
            idempotency_key="race",
            idempotency_fingerprint=first.idempotency_fingerprint,
        )

    assert create_once(WriteOff, api_actor, "race", first.idempotency_fingerprint, create) == first
    assert WriteOff.objects.count() == 1


def test_every_balance_constraint_create_once_counts_as_a_race_exists_on_the_invoice():
    from billing.idempotency import BALANCE_CONSTRAINTS
    from billing.models import Invoice

    names = {constraint.name for constraint in Invoice._meta.constraints}
    assert names >= BALANCE_CONSTRAINTS
