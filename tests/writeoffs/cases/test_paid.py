"""Auto-resolve: a payment that leaves only the held amount due releases the holds."""

import pytest

from billing.factories import InvoiceFactory
from billing.models import Event, EventType, Invoice
from billing.receivables.payments import payment_record
from tests.ledger import assert_ledger_consistent
from writeoffs.cases.open import CaseHold, case_open
from writeoffs.models import CaseStatus, DisputeHold

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_invoice_case(account, invoice, clerk_actor):
    """30.00 of the 120.00 invoice on hold."""
    return case_open(
        account_id=account.pk,
        category="pricing",
        holds=[CaseHold(invoice.invoice_no, "30.00")],
        actor=clerk_actor,
    )


def test_paying_all_but_the_held_amount_releases_it_and_resolves_as_paid(
    one_invoice_case, invoice, clerk_actor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(invoice_id=invoice.pk, amount="90.00", actor=clerk_actor)

    case = one_invoice_case
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    assert case.root_cause.code == "paid"
    assert case.notes.last().text.startswith("Paid.")
    hold = case.holds.get()
    assert hold.status == DisputeHold.Status.RELEASED
    stored = Invoice.objects.get(pk=invoice.pk)
    assert (stored.held_minor, stored.balance_due_minor) == (0, 3000)
    assert Event.objects.filter(type=EventType.COLLECTIONS_RESUMED).count() == 1
    assert_ledger_consistent(invoice.pk)


def test_a_smaller_payment_leaves_the_case_alone(one_invoice_case, invoice, clerk_actor):
    payment_record(invoice_id=invoice.pk, amount="89.99", actor=clerk_actor)
    one_invoice_case.refresh_from_db()
    assert one_invoice_case.status == CaseStatus.OPEN
    assert one_invoice_case.holds.get().status == DisputeHold.Status.OPEN


def test_a_case_with_holds_on_other_invoices_notes_paid_and_stays_open(
    open_case, invoice, clerk_actor, django_capture_on_commit_callbacks
):
    case = open_case()  # 50.00 of the 120.00 invoice, and all of the 80.00 one
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(invoice_id=invoice.pk, amount="70.00", actor=clerk_actor)
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert case.root_cause is None
    assert case.notes.last().text.startswith("Paid.")
    statuses = dict(case.holds.values_list("invoice_id", "status"))
    assert statuses[invoice.pk] == DisputeHold.Status.RELEASED
    assert sorted(statuses.values()) == ["open", "released"]


def test_a_conversion_pending_approval_is_left_to_its_approver(
    account, clerk_actor, supervisor_actor
):
    from writeoffs.cases.resolution import HoldSettlement, case_settle

    big = InvoiceFactory(account=account, invoice_no=10060, total_minor=8000_00)
    case = case_open(
        account_id=account.pk,
        category="quality",
        holds=[CaseHold(big.invoice_no, "6000.00")],
        actor=clerk_actor,
    )
    hold = case.holds.get()
    case_settle(
        case_id=case.pk,
        settlements=[HoldSettlement(hold.pk, "convert")],
        root_cause_code="service_failure",
        actor=supervisor_actor,
    )
    payment_record(invoice_id=big.pk, amount="2000.00", actor=clerk_actor)
    hold.refresh_from_db()
    assert hold.conversion_pending and hold.status == DisputeHold.Status.OPEN
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert_ledger_consistent(big.pk)


def test_the_case_closes_only_once_the_payment_commits(
    one_invoice_case, invoice, clerk_actor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as pending:
        payment_record(invoice_id=invoice.pk, amount="90.00", actor=clerk_actor)
    one_invoice_case.refresh_from_db()
    assert one_invoice_case.status == CaseStatus.OPEN
    assert one_invoice_case.holds.get().status == DisputeHold.Status.RELEASED
    # The case's closing, and the webhook senders' wake-up, wait for the commit.
    for callback in pending:
        callback()
    one_invoice_case.refresh_from_db()
    assert (one_invoice_case.status, one_invoice_case.root_cause.code) == ("resolved", "paid")


def test_the_daily_sweep_closes_a_case_whose_closing_was_interrupted(
    one_invoice_case, invoice, clerk_actor
):
    from billing.actors import Actor
    from writeoffs.cases.resolution import close_settled_cases

    payment_record(invoice_id=invoice.pk, amount="90.00", actor=clerk_actor)
    assert close_settled_cases(Actor.for_system()) == 1
    one_invoice_case.refresh_from_db()
    assert one_invoice_case.status == CaseStatus.RESOLVED
    assert close_settled_cases(Actor.for_system()) == 0
