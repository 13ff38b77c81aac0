"""Races on one invoice, each thread on its own database connection.

These run in real transactions (``transaction=True``): on PostgreSQL the
invoice row lock serialises the writers, on SQLite the IMMEDIATE transaction on
a file-backed database does. Either way exactly the writers that fit succeed,
the rest are refused with 3119, and nothing surfaces as "database is locked".
"""

from __future__ import annotations

import datetime
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from billing.actors import Actor
from billing.api.keys import api_key_create
from billing.errors import INVALID_STATE, OVER_AVAILABLE, BillingError
from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.models import Invoice, Payment
from billing.receivables.payments import payment_record
from billing.roles import CLERK, SUPERVISOR
from billing.rules import today
from tests.ledger import assert_ledger_consistent, expired_days_ago
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.expiry import dispute_holds_expire
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import ApprovalLimit, DisputeHold, WriteOff

THREADS = 20

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@dataclass
class Outcome:
    value: object = None
    error: BaseException | None = None


def load_actor(user_id: int) -> Actor:
    actor = Actor.for_user(get_user_model().objects.get(pk=user_id))
    actor.has_perm("writeoffs.add_writeoff")  # warm the permission cache before the race
    return actor


def run_at_once(
    count: int,
    work: Callable[[int, object], object],
    user_id: int,
    prepare: Callable[[int], object] = load_actor,
) -> list[Outcome]:
    """Run ``work(i, prepare(user_id))`` in ``count`` threads released by one barrier.

    Each thread prepares its own user or signed-in client (as a request would)
    and closes its own connection at the end, so no connection is shared
    between threads.
    """
    barrier = threading.Barrier(count)
    outcomes = [Outcome() for _ in range(count)]

    def run(i: int) -> None:
        try:
            prepared = prepare(user_id)
            barrier.wait(timeout=30)
            outcomes[i].value = work(i, prepared)
        except BaseException as error:  # every outcome is asserted on by the test
            outcomes[i].error = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    connections.close_all()
    return outcomes


def refusals(outcomes: list[Outcome]) -> list[BillingError]:
    unexpected = [
        o.error for o in outcomes if o.error is not None and not isinstance(o.error, BillingError)
    ]
    assert unexpected == [], f"unexpected errors: {unexpected!r}"
    return [o.error for o in outcomes if isinstance(o.error, BillingError)]


@pytest.fixture
def clerk_id(db):
    return UserFactory(username="racing-clerk", groups=[CLERK]).pk


@pytest.fixture
def race_invoice(db):
    account = AccountFactory(acct_no=7001)
    return InvoiceFactory(account=account, invoice_no=70001, total_minor=100000)


def test_test_database_is_a_file_with_immediate_transactions_on_sqlite():
    """The races below prove nothing on SQLite's in-memory shared-cache database,
    which fails a second BEGIN IMMEDIATE at once instead of waiting."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    name = connection.settings_dict["NAME"]
    assert not connection.is_in_memory_db()
    assert name.startswith("/tmp/billing-test-")
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 20000


def test_twenty_simultaneous_writeoffs_of_60_percent_let_exactly_one_through(
    clerk_id, race_invoice
):
    amount = "600.00"  # 60% of the 1000.00 available
    # Over a clerk's 500.00 limit it would wait as pending (and still reserve): lift the
    # limit so the winner is written off outright.
    ApprovalLimit.objects.filter(role="clerk").update(limit_minor=None)

    def write_off(i: int, actor: Actor) -> WriteOff:
        return writeoff_create(
            invoice_id=race_invoice.pk,
            amount=amount,
            reason_code=0,
            comments=f"Race {i}",
            actor=actor,
        )

    outcomes = run_at_once(THREADS, write_off, clerk_id)

    refused = refusals(outcomes)
    assert sum(isinstance(o.value, WriteOff) for o in outcomes) == 1
    assert len(refused) == THREADS - 1
    assert {error.code for error in refused} == {OVER_AVAILABLE}
    assert WriteOff.objects.filter(invoice=race_invoice).count() == 1
    invoice = Invoice.objects.get(pk=race_invoice.pk)
    assert invoice.written_off_minor == 60000
    assert_ledger_consistent(race_invoice.pk)


def test_twenty_simultaneous_dispute_holds_of_60_percent_let_exactly_one_through(
    clerk_id, race_invoice
):
    def hold(i: int, actor: Actor) -> DisputeHold:
        return dispute_hold_create(
            invoice_id=race_invoice.pk, amount="600.00", comments=f"Race {i}", actor=actor
        )

    outcomes = run_at_once(THREADS, hold, clerk_id)

    refused = refusals(outcomes)
    assert sum(isinstance(o.value, DisputeHold) for o in outcomes) == 1
    assert {error.code for error in refused} == {OVER_AVAILABLE}
    assert len(refused) == THREADS - 1
    assert Invoice.objects.get(pk=race_invoice.pk).held_minor == 60000
    assert_ledger_consistent(race_invoice.pk)


def test_mixed_payments_writeoffs_and_holds_at_once_never_overspend_the_balance(
    clerk_id, race_invoice
):
    """Each of 20 writers asks for 150.00 of 1000.00: at most six fit, and
    whichever mix wins, the totals match the rows and held stays within balance."""

    def mixed(i: int, actor: Actor) -> object:
        kind = i % 3
        if kind == 0:
            return payment_record(invoice_id=race_invoice.pk, amount="150.00", actor=actor)
        if kind == 1:
            return writeoff_create(
                invoice_id=race_invoice.pk,
                amount="150.00",
                reason_code=1,
                comments=f"Mixed {i}",
                actor=actor,
            )
        return dispute_hold_create(
            invoice_id=race_invoice.pk, amount="150.00", comments=f"Mixed {i}", actor=actor
        )

    outcomes = run_at_once(THREADS, mixed, clerk_id)

    refused = refusals(outcomes)
    succeeded = [o.value for o in outcomes if o.error is None]
    assert len(succeeded) == 6
    assert {error.code for error in refused} == {OVER_AVAILABLE}
    rows = (
        Payment.objects.filter(invoice=race_invoice).count()
        + WriteOff.objects.filter(invoice=race_invoice).count()
        + DisputeHold.objects.filter(invoice=race_invoice).count()
    )
    assert rows == 6
    invoice = Invoice.objects.get(pk=race_invoice.pk)
    assert invoice.available_minor == 100000 - 6 * 15000
    assert_ledger_consistent(race_invoice.pk)


def test_one_idempotency_token_replayed_from_ten_threads_creates_one_writeoff(
    clerk_id, race_invoice
):
    def replay(i: int, actor: Actor) -> WriteOff:
        return writeoff_create(
            invoice_id=race_invoice.pk,
            amount="10.00",
            reason_code=0,
            comments="Double click",
            actor=actor,
            idempotency_key="token-1",
        )

    outcomes = run_at_once(10, replay, clerk_id)

    assert refusals(outcomes) == []
    assert {o.value.pk for o in outcomes} == {WriteOff.objects.get(invoice=race_invoice).pk}
    assert Invoice.objects.get(pk=race_invoice.pk).written_off_minor == 1000
    assert_ledger_consistent(race_invoice.pk)


def test_one_idempotency_token_replayed_from_ten_threads_creates_one_dispute_hold(
    clerk_id, race_invoice
):
    def replay(i: int, actor: Actor) -> DisputeHold:
        return dispute_hold_create(
            invoice_id=race_invoice.pk,
            amount="10.00",
            comments="Retry",
            actor=actor,
            idempotency_key="token-2",
        )

    outcomes = run_at_once(10, replay, clerk_id)

    assert refusals(outcomes) == []
    assert len({o.value.pk for o in outcomes}) == 1
    assert DisputeHold.objects.filter(invoice=race_invoice).count() == 1
    assert_ledger_consistent(race_invoice.pk)


def test_one_idempotency_token_replayed_from_ten_threads_records_one_payment(
    clerk_id, race_invoice
):
    def replay(i: int, actor: Actor) -> Payment:
        return payment_record(
            invoice_id=race_invoice.pk, amount="10.00", actor=actor, idempotency_key="token-3"
        )

    outcomes = run_at_once(10, replay, clerk_id)

    assert refusals(outcomes) == []
    assert len({o.value.pk for o in outcomes}) == 1
    assert Payment.objects.filter(invoice=race_invoice).count() == 1
    assert_ledger_consistent(race_invoice.pk)


# --- through the HTTP stack: the UI's confirm step and the API --------------------


def signed_in_client(user_id: int) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(pk=user_id))
    return client


def confirm_data(amount: str, token: str) -> dict:
    return {
        "amount": amount,
        "reason_code": "0",
        "writeoff_date": today().isoformat(),
        "revenue_impacting": "on",
        "comments": "Race through the UI",
        "idempotency_token": token,
    }


def test_twenty_simultaneous_ui_confirms_of_60_percent_create_one_and_explain_the_rest(
    clerk_id, race_invoice
):
    url = reverse("writeoff_confirm", args=[7001, 70001])

    def confirm(i: int, client: Client):
        return client.post(url, confirm_data("600.00", str(uuid.uuid4())))

    outcomes = run_at_once(THREADS, confirm, clerk_id, prepare=signed_in_client)

    assert refusals(outcomes) == []
    statuses = Counter(o.value.status_code for o in outcomes)
    assert statuses == {302: 1, 200: THREADS - 1}
    for outcome in outcomes:
        if outcome.value.status_code == 200:
            assert "is more than" in outcome.value.content.decode()
    assert WriteOff.objects.filter(invoice=race_invoice).count() == 1
    assert_ledger_consistent(race_invoice.pk)


def test_one_ui_confirmation_token_posted_from_ten_threads_creates_one_writeoff(
    clerk_id, race_invoice
):
    url = reverse("writeoff_confirm", args=[7001, 70001])
    token = str(uuid.uuid4())

    def double_click(i: int, client: Client):
        return client.post(url, confirm_data("25.00", token))

    outcomes = run_at_once(10, double_click, clerk_id, prepare=signed_in_client)

    assert refusals(outcomes) == []
    assert {o.value.status_code for o in outcomes} == {302}
    writeoff = WriteOff.objects.get(invoice=race_invoice)
    assert {o.value["Location"] for o in outcomes} == {
        f"/accounts/7001/write-offs/?tab=writeoffs&highlight={writeoff.pk}"
    }
    assert_ledger_consistent(race_invoice.pk)


def api_body(key: str, amount: str) -> str:
    return json.dumps(
        {
            "client_no": settings.BILLING_CLIENT_NO,
            "auth_key": key,
            "acct_no": 7001,
            "invoice_no": 70001,
            "reason_code": 2,
            "comments": "Race through the API",
            "writeoff_dispute_amount": amount,
        }
    )


def test_twenty_simultaneous_api_writeoffs_of_60_percent_let_one_through_with_3119_for_the_rest(
    clerk_id, race_invoice
):
    _, key = api_key_create("race-key", "clerk")
    body = api_body(key, "600.00")
    url = reverse("api_create_writeoff_or_dispute_m")

    def call(i: int, client: Client):
        return client.post(url, body, content_type="application/json")

    outcomes = run_at_once(THREADS, call, clerk_id, prepare=lambda _: Client())

    assert refusals(outcomes) == []
    answers = Counter((o.value.status_code, o.value.json()["error_code"]) for o in outcomes)
    assert answers == {(200, 0): 1, (400, OVER_AVAILABLE): THREADS - 1}
    assert WriteOff.objects.filter(invoice=race_invoice).count() == 1
    assert_ledger_consistent(race_invoice.pk)


def test_one_idempotency_key_header_sent_from_ten_threads_creates_one_writeoff(
    clerk_id, race_invoice
):
    _, key = api_key_create("retry-key", "clerk")
    body = api_body(key, "15.00")
    url = reverse("api_create_writeoff_or_dispute_m")

    def retry(i: int, client: Client):
        return client.post(
            url, body, content_type="application/json", headers={"Idempotency-Key": "storm-10"}
        )

    outcomes = run_at_once(10, retry, clerk_id, prepare=lambda _: Client())

    assert refusals(outcomes) == []
    writeoff = WriteOff.objects.get(invoice=race_invoice)
    assert {(o.value.status_code, o.value.json()["rec_no"]) for o in outcomes} == {
        (200, writeoff.pk)
    }
    assert_ledger_consistent(race_invoice.pk)


# --- settling and reversing the same entry at once ---------------------------------


@pytest.fixture
def supervisor_id(db):
    return UserFactory(username="racing-supervisor", groups=[SUPERVISOR]).pk


def test_ten_supervisors_settling_one_hold_at_once_settle_it_once(
    supervisor_id, clerk_id, race_invoice
):
    clerk = load_actor(clerk_id)
    hold = dispute_hold_create(
        invoice_id=race_invoice.pk, amount="300.00", comments="Disputed", actor=clerk
    )
    connections.close_all()
    actions = ("convert", "release", "release_reage")

    def settle(i: int, actor: Actor) -> DisputeHold:
        return dispute_hold_settle(
            dispute_hold_id=hold.pk, action=actions[i % 3], actor=actor, comments=f"Settle {i}"
        )

    outcomes = run_at_once(10, settle, supervisor_id)

    refused = refusals(outcomes)
    assert sum(o.error is None for o in outcomes) == 1
    assert {error.code for error in refused} == {INVALID_STATE}
    invoice = Invoice.objects.get(pk=race_invoice.pk)
    assert invoice.held_minor == 0
    assert invoice.written_off_minor in (0, 30000)
    assert WriteOff.objects.filter(origin_dispute=hold).count() <= 1
    assert_ledger_consistent(race_invoice.pk)


def test_ten_supervisors_reversing_one_writeoff_at_once_give_the_balance_back_once(
    supervisor_id, clerk_id, race_invoice
):
    writeoff = writeoff_create(
        invoice_id=race_invoice.pk,
        amount="250.00",
        reason_code=0,
        comments="To reverse",
        actor=load_actor(clerk_id),
    )
    connections.close_all()

    def reverse_it(i: int, actor: Actor) -> WriteOff:
        return writeoff_reverse(writeoff_id=writeoff.pk, reason=f"Reverse {i}", actor=actor)

    outcomes = run_at_once(10, reverse_it, supervisor_id)

    refused = refusals(outcomes)
    assert sum(o.error is None for o in outcomes) == 1
    assert {error.code for error in refused} == {INVALID_STATE}
    assert Invoice.objects.get(pk=race_invoice.pk).written_off_minor == 0
    assert_ledger_consistent(race_invoice.pk)


def test_expiry_racing_a_person_settling_the_same_holds_settles_each_once(
    supervisor_id, clerk_id, race_invoice, settings
):
    """The expiry job lists due holds, then settles each under the lock; a person
    settling one in between must not make the job fail or settle it twice."""
    clerk = load_actor(clerk_id)
    holds = [
        dispute_hold_create(
            invoice_id=race_invoice.pk, amount="50.00", comments=f"Hold {n}", actor=clerk
        )
        for n in range(6)
    ]
    holds = [expired_days_ago(hold, 5) for hold in holds]  # no run date is in the future
    run_date = holds[0].expires_on + datetime.timedelta(days=1)
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release"
    connections.close_all()

    def work(i: int, actor: Actor):
        if i == 0:
            return dispute_holds_expire(run_date=run_date)
        return dispute_hold_settle(
            dispute_hold_id=holds[i].pk, action="convert", actor=actor, comments="Person"
        )

    outcomes = run_at_once(len(holds), work, supervisor_id)

    refused = refusals(outcomes)
    assert all(error.code == INVALID_STATE for error in refused)
    assert not DisputeHold.objects.filter(status=DisputeHold.Status.OPEN).exists()
    expiry = outcomes[0].value
    people = {holds[i].pk for i in range(1, len(holds)) if outcomes[i].error is None}
    assert set(expiry.settled).isdisjoint(people)
    assert set(expiry.settled) | people == {hold.pk for hold in holds}
    assert_ledger_consistent(race_invoice.pk)
