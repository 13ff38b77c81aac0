"""verify_ledger's case checks, and the backfill and migration that keep them clean."""

import importlib

import pytest
from django.apps import apps

from billing.verification import verify_ledger
from writeoffs.cases.backfill import cases_for_lone_holds
from writeoffs.cases.checks import CLOSED_CASE_WITH_OPEN_HOLD, HOLD_WITHOUT_CASE, verify_cases
from writeoffs.factories import DisputeHoldFactory
from writeoffs.models import Case, CaseStatus, DisputeHold

pytestmark = pytest.mark.django_db

migration = importlib.import_module("writeoffs.migrations.0017_case_lists_and_existing_holds")


def test_cases_opened_through_the_services_pass(open_case):
    open_case()
    result = verify_cases(10)
    assert result.ok
    assert result.checked["open_holds"] == 2
    assert verify_ledger(10).ok


def test_an_open_hold_in_no_case_is_reported(invoice):
    hold = DisputeHoldFactory(invoice=invoice)
    result = verify_cases(10)
    assert result.failed == {HOLD_WITHOUT_CASE: 1}
    assert f"Dispute hold {hold.pk}" in result.failures[0].message


def test_a_closed_case_with_an_open_hold_is_reported(open_case):
    case = open_case()
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.REJECTED, resolved_at=case.created_at)
    result = verify_cases(1)
    assert result.failed == {CLOSED_CASE_WITH_OPEN_HOLD: 2}
    assert len(result.failures) == 1


def test_the_backfill_gives_each_lone_open_hold_a_case_once(invoice, second_invoice):
    open_hold = DisputeHoldFactory(invoice=invoice)
    settled = DisputeHoldFactory(
        invoice=second_invoice,
        status=DisputeHold.Status.RELEASED,
        settled_at=open_hold.created_at,
        settled_on=open_hold.created_at.date(),
    )
    assert cases_for_lone_holds(label="seed") == 1
    assert cases_for_lone_holds(label="seed") == 0
    open_hold.refresh_from_db()
    assert open_hold.case.category.code == "other"
    assert open_hold.case.status_changes.get().to_status == "open"
    assert DisputeHold.objects.get(pk=settled.pk).case is None
    assert verify_cases(10).ok


def test_the_migration_makes_one_hold_cases_numbered_after_any_case(open_case, account, invoice):
    first = open_case()
    lone = [DisputeHoldFactory(invoice=invoice, amount_minor=100) for _ in range(2)]
    migration.seed_lists_and_cases(apps, None)
    cases = [Case.objects.get(holds=hold) for hold in lone]
    assert [c.number for c in cases] == [first.number + 1, first.number + 2]
    assert {c.category.code for c in cases} == {"other"}
    assert all(c.account_id == account.pk for c in cases)
    assert verify_cases(10).ok
