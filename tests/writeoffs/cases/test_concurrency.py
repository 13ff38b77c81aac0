"""Races on dispute cases, each thread on its own connection (see
tests/writeoffs/test_concurrency.py). They prove the lock order on PostgreSQL, where
rows are locked one by one: the invoices (by id), then the case, then the counters.
A settlement of the case and payments on its invoices (whose auto-resolve reaches the
case from an invoice) must neither deadlock nor leave a case and its holds apart."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from billing.actors import Actor
from billing.errors import INVALID_STATE, OVER_AVAILABLE
from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.receivables.payments import payment_record
from billing.roles import CLERK, SUPERVISOR
from tests.ledger import assert_ledger_consistent
from tests.writeoffs.test_concurrency import THREADS, refusals, run_at_once
from writeoffs.cases.checks import verify_cases
from writeoffs.cases.open import CaseHold, case_open
from writeoffs.cases.resolution import HoldSettlement, case_settle
from writeoffs.models import Case, CaseStatus, DisputeHold

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def actors(_ignored: int) -> tuple[Actor, Actor]:
    users = get_user_model().objects
    clerk = Actor.for_user(users.get(username="race-clerk"))
    supervisor = Actor.for_user(users.get(username="race-supervisor"))
    clerk.has_perm("writeoffs.add_case")  # warm the permission caches before the race
    supervisor.has_perm("writeoffs.settle_disputehold")
    return clerk, supervisor


@pytest.fixture
def people(db):
    UserFactory(username="race-clerk", groups=[CLERK])
    UserFactory(username="race-supervisor", groups=[SUPERVISOR])


@pytest.fixture
def invoices(db):
    account = AccountFactory(acct_no=7101)
    return [
        InvoiceFactory(account=account, invoice_no=71001 + n, total_minor=100000) for n in range(3)
    ]


def test_settling_a_case_while_payments_reach_it_through_its_invoices(people, invoices):
    clerk, _ = actors(0)
    case = case_open(
        account_id=invoices[0].account_id,
        category="pricing",
        holds=[CaseHold(invoice.invoice_no, "400.00") for invoice in invoices],
        actor=clerk,
    )
    holds = list(case.holds.order_by("pk"))

    def work(i: int, prepared: tuple[Actor, Actor]):
        clerk, supervisor = prepared
        if i == 0:
            return case_settle(
                case_id=case.pk,
                settlements=[HoldSettlement(h.pk, "release") for h in reversed(holds)],
                root_cause_code="other",
                actor=supervisor,
            )
        # 600.00 leaves only the held 400.00 due: the auto-resolve releases the hold.
        invoice = invoices[i % len(invoices)]
        return payment_record(invoice_id=invoice.pk, amount="600.00", actor=clerk)

    outcomes = run_at_once(THREADS, work, 0, prepare=actors)
    # A second payment of 600.00 on an invoice finds too little available, and the
    # settlement is refused if a payment released one of its holds first (3124);
    # nothing else may fail (a deadlock would be an unexpected error).
    assert {error.code for error in refusals(outcomes)} <= {OVER_AVAILABLE, INVALID_STATE}
    case.refresh_from_db()
    left_open = DisputeHold.objects.filter(case=case, status=DisputeHold.Status.OPEN)
    # Whoever settled the last hold, the case closed with it (after that commit).
    assert case.status == (CaseStatus.OPEN if left_open.exists() else CaseStatus.RESOLVED)
    assert verify_cases(10).ok
    for invoice in invoices:
        assert_ledger_consistent(invoice.pk)


def test_simultaneous_cases_get_gap_free_numbers_and_hold_what_was_available(people, invoices):
    def work(i: int, prepared: tuple[Actor, Actor]):
        clerk, _ = prepared
        # Every case holds on all three invoices, in a different order each time.
        ordered = invoices[i % 3 :] + invoices[: i % 3]
        return case_open(
            account_id=invoices[0].account_id,
            category="other",
            holds=[CaseHold(invoice.invoice_no, "100.00") for invoice in ordered],
            actor=clerk,
        )

    outcomes = run_at_once(THREADS, work, 0, prepare=actors)
    refused = refusals(outcomes)
    opened = [o.value for o in outcomes if o.error is None]
    # 1000.00 per invoice holds ten cases of 100.00; the rest are refused whole.
    assert len(opened) == 10
    assert {error.code for error in refused} == {OVER_AVAILABLE}
    assert sorted(Case.objects.values_list("number", flat=True)) == list(range(1, 11))
    assert verify_cases(10).ok
    for invoice in invoices:
        assert_ledger_consistent(invoice.pk)
