"""Resolving a case through the Part 1 settle services, and rejecting one."""

import pytest
from django.test import override_settings

from billing.actors import Actor
from billing.errors import (
    CASE_CLOSED,
    HOLD_NOT_IN_CASE,
    INVALID_AMOUNT,
    INVALID_INPUT,
    INVALID_ROOT_CAUSE,
    PERMISSION_DENIED,
    BillingError,
)
from billing.factories import InvoiceFactory
from billing.models import Event, EventType, Invoice
from tests.ledger import assert_ledger_consistent, expired_days_ago
from writeoffs.approvals.decisions import writeoff_approve
from writeoffs.cases.open import CaseHold, case_open
from writeoffs.cases.resolution import HoldSettlement, case_reject, case_settle
from writeoffs.lifecycle.expiry import dispute_holds_expire
from writeoffs.lifecycle.holds import dispute_hold_settle
from writeoffs.models import Case, CaseStatus, DisputeHold, WriteOff

pytestmark = pytest.mark.django_db


def holds_of(case):
    return list(case.holds.order_by("invoice__invoice_no", "pk"))


def test_settling_every_hold_resolves_the_case_with_its_root_cause(open_case, supervisor_actor):
    case = open_case()
    first, second = holds_of(case)
    case_settle(
        case_id=case.pk,
        settlements=[
            HoldSettlement(first.pk, "release"),
            HoldSettlement(second.pk, "convert"),
        ],
        root_cause_code="pricing_error",
        actor=supervisor_actor,
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    assert case.root_cause.code == "pricing_error"
    assert case.resolved_at is not None
    assert [h.status for h in holds_of(case)] == ["released", "written_off"]
    assert case.status_changes.last().to_status == "resolved"
    assert Event.objects.filter(type=EventType.COLLECTIONS_RESUMED).count() == 2
    for hold in (first, second):
        assert_ledger_consistent(hold.invoice_id)


def test_the_last_hold_needs_a_root_cause_and_nothing_changes_without_one(
    open_case, supervisor_actor
):
    case = open_case()
    first, second = holds_of(case)
    with pytest.raises(BillingError) as refused:
        case_settle(
            case_id=case.pk,
            settlements=[HoldSettlement(first.pk, "release"), HoldSettlement(second.pk, "release")],
            actor=supervisor_actor,
        )
    assert (refused.value.code, refused.value.field) == (INVALID_ROOT_CAUSE, "root_cause")
    assert {h.status for h in holds_of(case)} == {"open"}


def test_an_unknown_root_cause_is_refused(open_case, supervisor_actor):
    case = open_case()
    first, second = holds_of(case)
    with pytest.raises(BillingError) as refused:
        case_settle(
            case_id=case.pk,
            settlements=[HoldSettlement(first.pk, "release"), HoldSettlement(second.pk, "release")],
            root_cause_code="bad luck",
            actor=supervisor_actor,
        )
    assert refused.value.code == INVALID_ROOT_CAUSE


def test_settling_some_holds_leaves_the_case_open_without_a_root_cause(open_case, supervisor_actor):
    case = open_case()
    first, _ = holds_of(case)
    case_settle(
        case_id=case.pk, settlements=[HoldSettlement(first.pk, "release")], actor=supervisor_actor
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert not Event.objects.filter(type=EventType.COLLECTIONS_RESUMED).exists()


def test_a_partial_conversion_writes_off_the_part_and_releases_the_rest(
    open_case, supervisor_actor, invoice
):
    case = open_case()
    first, _second = holds_of(case)
    case_settle(
        case_id=case.pk,
        settlements=[HoldSettlement(first.pk, "convert", amount="20.00")],
        actor=supervisor_actor,
    )
    stored = Invoice.objects.get(pk=invoice.pk)
    assert stored.held_minor == 0
    assert stored.written_off_minor == 2000
    assert stored.balance_due_minor == 10000
    writeoff = WriteOff.objects.get(invoice=invoice)
    assert (writeoff.amount_minor, writeoff.status) == (2000, WriteOff.Status.ACTIVE)
    first.refresh_from_db()
    assert (first.status, first.amount_minor) == ("released", 5000)
    part = writeoff.origin_dispute
    assert (part.case_id, part.amount_minor, part.status) == (case.pk, 2000, "written_off")
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert_ledger_consistent(invoice.pk)


def test_a_conversion_of_the_whole_amount_given_as_a_part_converts_the_hold_itself(
    open_case, supervisor_actor
):
    case = open_case()
    first, _ = holds_of(case)
    case_settle(
        case_id=case.pk,
        settlements=[HoldSettlement(first.pk, "convert", amount="50.00")],
        actor=supervisor_actor,
    )
    first.refresh_from_db()
    assert first.status == "written_off"
    assert case.holds.count() == 2


def test_a_part_above_the_hold_is_refused(open_case, supervisor_actor):
    case = open_case()
    first, _ = holds_of(case)
    with pytest.raises(BillingError) as refused:
        case_settle(
            case_id=case.pk,
            settlements=[HoldSettlement(first.pk, "convert", amount="50.01")],
            actor=supervisor_actor,
        )
    assert (refused.value.code, refused.value.field) == (INVALID_AMOUNT, "holds.0.amount")


def test_a_release_with_an_amount_is_refused(open_case, supervisor_actor):
    case = open_case()
    first, _ = holds_of(case)
    with pytest.raises(BillingError) as refused:
        case_settle(
            case_id=case.pk,
            settlements=[HoldSettlement(first.pk, "release", amount="10.00")],
            actor=supervisor_actor,
        )
    assert (refused.value.code, refused.value.field) == (INVALID_INPUT, "holds.0.amount")


def test_an_invalid_action_names_the_hold(open_case, supervisor_actor):
    case = open_case()
    first, _ = holds_of(case)
    with pytest.raises(BillingError) as refused:
        case_settle(
            case_id=case.pk,
            settlements=[HoldSettlement(first.pk, "forgive")],
            actor=supervisor_actor,
        )
    assert refused.value.field == "holds.0.action"


def test_a_hold_of_another_case_is_refused(open_case, supervisor_actor, account, clerk_actor):
    case = open_case()
    other_invoice = InvoiceFactory(account=account, invoice_no=10040, total_minor=1000)
    other = case_open(
        account_id=account.pk,
        category="other",
        holds=[CaseHold(other_invoice.invoice_no)],
        actor=clerk_actor,
    )
    with pytest.raises(BillingError) as refused:
        case_settle(
            case_id=case.pk,
            settlements=[HoldSettlement(other.holds.get().pk, "release")],
            actor=supervisor_actor,
        )
    assert (refused.value.code, refused.value.field) == (HOLD_NOT_IN_CASE, "holds.0.dispute_no")


def test_a_clerk_may_not_settle_a_case(open_case, clerk_actor):
    case = open_case()
    first, _ = holds_of(case)
    with pytest.raises(BillingError) as refused:
        case_settle(
            case_id=case.pk, settlements=[HoldSettlement(first.pk, "release")], actor=clerk_actor
        )
    assert refused.value.code == PERMISSION_DENIED


def test_a_failure_on_the_second_hold_undoes_the_first(open_case, supervisor_actor, invoice):
    case = open_case()
    first, second = holds_of(case)
    with pytest.raises(BillingError):
        case_settle(
            case_id=case.pk,
            settlements=[HoldSettlement(first.pk, "release"), HoldSettlement(second.pk, "nope")],
            root_cause_code="other",
            actor=supervisor_actor,
        )
    first.refresh_from_db()
    assert first.status == "open"
    assert Invoice.objects.get(pk=invoice.pk).held_minor == 5000


def test_a_conversion_over_the_limit_waits_and_its_approval_resolves_the_case(
    account, supervisor_actor, controller_actor, clerk_actor, django_capture_on_commit_callbacks
):
    big = InvoiceFactory(account=account, invoice_no=10050, total_minor=7000_00)
    case = case_open(
        account_id=account.pk,
        category="quality",
        holds=[CaseHold(big.invoice_no)],
        actor=clerk_actor,
    )
    hold = case.holds.get()
    case_settle(
        case_id=case.pk,
        settlements=[HoldSettlement(hold.pk, "convert")],
        root_cause_code="service_failure",
        actor=supervisor_actor,
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert case.root_cause.code == "service_failure"
    writeoff = WriteOff.objects.get(origin_dispute=hold)
    assert writeoff.status == WriteOff.Status.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        writeoff_approve(writeoff_id=writeoff.pk, actor=controller_actor)

    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    assert case.root_cause.code == "service_failure"
    assert_ledger_consistent(big.pk)


def test_settling_the_last_hold_on_the_disputes_tab_resolves_the_case(
    account, supervisor_actor, clerk_actor, invoice, django_capture_on_commit_callbacks
):
    case = case_open(
        account_id=account.pk,
        category="other",
        holds=[CaseHold(invoice.invoice_no)],
        actor=clerk_actor,
    )
    with django_capture_on_commit_callbacks(execute=True):
        dispute_hold_settle(
            dispute_hold_id=case.holds.get().pk, action="release", actor=supervisor_actor
        )
    case.refresh_from_db()
    assert (case.status, case.root_cause.code) == (CaseStatus.RESOLVED, "other")


@override_settings(DISPUTE_HOLD_EXPIRATION_ACTION="release")
def test_expiry_of_the_last_hold_resolves_the_case_as_expired(
    account, clerk_actor, invoice, django_capture_on_commit_callbacks
):
    case = case_open(
        account_id=account.pk,
        category="other",
        holds=[CaseHold(invoice.invoice_no)],
        actor=clerk_actor,
    )
    expired_days_ago(case.holds.get(), 1)
    with django_capture_on_commit_callbacks(execute=True):
        dispute_holds_expire()
    case.refresh_from_db()
    assert (case.status, case.root_cause.code) == (CaseStatus.RESOLVED, "expired")
    assert Event.objects.filter(type=EventType.COLLECTIONS_RESUMED).count() == 1


def test_rejecting_releases_every_hold(open_case, supervisor_actor, invoice, second_invoice):
    case = open_case()
    case_reject(case_id=case.pk, reason="The price was agreed in writing.", actor=supervisor_actor)
    case.refresh_from_db()
    assert case.status == CaseStatus.REJECTED
    assert case.root_cause is None
    assert {h.status for h in holds_of(case)} == {"released"}
    assert case.notes.last().text == "Rejected: The price was agreed in writing."
    assert Event.objects.filter(type=EventType.COLLECTIONS_RESUMED).count() == 2
    assert_ledger_consistent(invoice.pk)
    assert_ledger_consistent(second_invoice.pk)


def test_rejecting_needs_a_reason(open_case, supervisor_actor):
    case = open_case()
    with pytest.raises(BillingError) as refused:
        case_reject(case_id=case.pk, reason=" ", actor=supervisor_actor)
    assert refused.value.field == "reason"


def test_a_closed_case_settles_nothing_more(open_case, supervisor_actor):
    case = open_case()
    case_reject(case_id=case.pk, reason="No.", actor=supervisor_actor)
    first, _ = holds_of(case)
    with pytest.raises(BillingError) as refused:
        case_settle(
            case_id=case.pk,
            settlements=[HoldSettlement(first.pk, "release")],
            actor=supervisor_actor,
        )
    assert refused.value.code == CASE_CLOSED
    with pytest.raises(BillingError) as again:
        case_reject(case_id=case.pk, reason="No.", actor=supervisor_actor)
    assert again.value.code == CASE_CLOSED


def test_resumed_waits_for_the_invoices_last_open_case(
    open_case, supervisor_actor, account, clerk_actor, invoice
):
    case = open_case()
    other = case_open(
        account_id=account.pk,
        category="other",
        holds=[CaseHold(invoice.invoice_no, "10.00")],
        actor=clerk_actor,
    )
    case_reject(case_id=case.pk, reason="No.", actor=supervisor_actor)
    resumed = Event.objects.filter(type=EventType.COLLECTIONS_RESUMED)
    # Only the second invoice: the first is still in the other case.
    assert [e.invoice_id for e in resumed] == [holds_of(case)[1].invoice_id]
    case_reject(case_id=other.pk, reason="No.", actor=supervisor_actor)
    assert Event.objects.filter(type=EventType.COLLECTIONS_RESUMED).count() == 2
    assert Case.objects.filter(status=CaseStatus.REJECTED).count() == 2


def test_an_api_key_settles_as_its_role(open_case, invoice):
    from billing.api.keys import api_key_create

    api_key, _ = api_key_create(name="billing-system", role="supervisor")
    case = open_case()
    first, _ = holds_of(case)
    case_settle(
        case_id=case.pk,
        settlements=[HoldSettlement(first.pk, "release")],
        actor=Actor.for_api_key(api_key),
    )
    first.refresh_from_db()
    assert first.status == DisputeHold.Status.RELEASED
