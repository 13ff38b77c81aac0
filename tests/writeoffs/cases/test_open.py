"""Opening a dispute case: its holds through the Part 1 hold service, all or nothing."""

import datetime

import pytest
from django.core import mail

from billing.actors import Actor
from billing.errors import (
    INVALID_ASSIGNEE,
    INVALID_CASE_CATEGORY,
    INVALID_CASE_CONTACT,
    INVALID_CASE_HOLDS,
    INVOICE_VOID,
    OVER_AVAILABLE,
    PERMISSION_DENIED,
    BillingError,
)
from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.models import Event, EventType, Invoice
from billing.roles import CONTROLLER
from billing.rules import today
from tests.ledger import assert_ledger_consistent
from writeoffs.cases.open import CaseHold, case_open
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.models import Case, CaseCategory, CaseStatus, DisputeHold

pytestmark = pytest.mark.django_db


def test_a_case_holds_each_invoice_and_is_due_after_its_category_days(
    open_case, invoice, second_invoice
):
    case = open_case()

    assert case.status == CaseStatus.OPEN
    assert case.due_date == today() + datetime.timedelta(days=14)
    holds = list(case.holds.order_by("invoice__invoice_no"))
    assert [(h.invoice_id, h.amount_minor, h.status) for h in holds] == [
        (invoice.pk, 5000, DisputeHold.Status.OPEN),
        (second_invoice.pk, 8000, DisputeHold.Status.OPEN),
    ]
    assert Invoice.objects.get(pk=invoice.pk).held_minor == 5000
    assert Invoice.objects.get(pk=second_invoice.pk).held_minor == 8000
    assert_ledger_consistent(invoice.pk)


def test_case_numbers_are_consecutive(open_case, account, clerk_actor):
    third = InvoiceFactory(account=account, invoice_no=10025, total_minor=1000)
    first = open_case()
    second = case_open(
        account_id=account.pk,
        category="other",
        holds=[CaseHold(invoice_no=third.invoice_no)],
        actor=clerk_actor,
    )
    assert second.number == first.number + 1


def test_opening_is_logged_as_a_status_change_with_who(open_case, clerk):
    case = open_case()
    change = case.status_changes.get()
    assert (change.from_status, change.to_status, change.changed_by) == ("", "open", clerk)


def test_comments_become_the_first_note_and_each_holds_comments(open_case, clerk):
    case = open_case(comments="Customer says the price list was wrong.")
    note = case.notes.get()
    assert (note.text, note.author) == ("Customer says the price list was wrong.", clerk)
    assert set(case.holds.values_list("comments", flat=True)) == {
        "Customer says the price list was wrong."
    }


def test_a_refused_hold_writes_nothing_at_all(open_case, invoice, second_invoice, clerk_actor):
    with pytest.raises(BillingError) as refused:
        open_case(
            holds=[
                CaseHold(invoice_no=invoice.invoice_no, amount="50.00"),
                CaseHold(invoice_no=second_invoice.invoice_no, amount="80.01"),
            ]
        )
    assert refused.value.code == OVER_AVAILABLE
    assert refused.value.field == "holds.1.amount"
    assert not Case.objects.exists()
    assert not DisputeHold.objects.exists()
    assert Invoice.objects.get(pk=invoice.pk).held_minor == 0
    assert not Event.objects.exists()


def test_a_void_invoice_refuses_with_the_hold_services_code(open_case, account):
    void = InvoiceFactory(account=account, invoice_no=10030, status=Invoice.Status.VOID)
    with pytest.raises(BillingError) as refused:
        open_case(holds=[CaseHold(invoice_no=void.invoice_no)])
    assert refused.value.code == INVOICE_VOID
    assert refused.value.field == "holds.0.invoice_no"


def test_an_invoice_of_another_account_is_refused(open_case):
    other = InvoiceFactory(account=AccountFactory(), invoice_no=20001)
    with pytest.raises(BillingError) as refused:
        open_case(holds=[CaseHold(invoice_no=other.invoice_no)])
    assert refused.value.code == INVALID_CASE_HOLDS
    assert refused.value.field == "holds.0.invoice_no"


def test_a_case_without_holds_is_refused(open_case):
    with pytest.raises(BillingError) as refused:
        open_case(holds=[])
    assert (refused.value.code, refused.value.field) == (INVALID_CASE_HOLDS, "holds")


@pytest.mark.parametrize("category", ["", "nonsense", None, 3])
def test_an_unknown_category_is_refused(open_case, category):
    with pytest.raises(BillingError) as refused:
        open_case(category=category)
    assert (refused.value.code, refused.value.field) == (INVALID_CASE_CATEGORY, "category")


def test_an_inactive_category_is_refused(open_case):
    CaseCategory.objects.filter(code="quality").update(active=False)
    with pytest.raises(BillingError) as refused:
        open_case(category="quality")
    assert refused.value.code == INVALID_CASE_CATEGORY


def test_a_category_added_in_admin_sets_its_own_due_date(open_case):
    CaseCategory.objects.create(code="contract_terms", name="Contract terms", target_days=45)
    case = open_case(category="contract_terms")
    assert case.due_date == today() + datetime.timedelta(days=45)


def test_a_bad_contact_email_is_refused(open_case):
    with pytest.raises(BillingError) as refused:
        open_case(contact_email="not-an-email")
    assert (refused.value.code, refused.value.field) == (INVALID_CASE_CONTACT, "contact_email")


def test_contact_is_kept(open_case):
    case = open_case(contact_name="Jo Buyer", contact_email="jo@example.com")
    assert (case.contact_name, case.contact_email) == ("Jo Buyer", "jo@example.com")


def test_a_viewer_may_not_open_a_case(open_case, viewer):
    with pytest.raises(BillingError) as refused:
        open_case(actor=Actor.for_user(viewer))
    assert refused.value.code == PERMISSION_DENIED


def test_the_assignee_is_mailed_when_the_case_commits(
    open_case, assignee, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case(assignee_id=assignee.pk)
    assert case.assignee == assignee
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["anna@example.com"]
    assert f"Case {case.number}" in mail.outbox[0].subject


def test_a_refused_case_mails_nobody(
    open_case, invoice, assignee, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(BillingError):
        open_case(assignee_id=assignee.pk, holds=[CaseHold(invoice.invoice_no, "999.00")])
    assert mail.outbox == []


def test_a_controller_cannot_be_assigned(open_case):
    controller = UserFactory(username="carl", groups=[CONTROLLER])
    with pytest.raises(BillingError) as refused:
        open_case(assignee_id=controller.pk)
    assert (refused.value.code, refused.value.field) == (INVALID_ASSIGNEE, "assignee")


def test_opening_pauses_collections_on_each_invoice_once(open_case, account, clerk_actor, invoice):
    open_case()
    paused = Event.objects.filter(type=EventType.COLLECTIONS_PAUSED)
    assert paused.count() == 2
    case_open(
        account_id=account.pk,
        category="other",
        holds=[CaseHold(invoice_no=invoice.invoice_no, amount="10.00")],
        actor=clerk_actor,
    )
    # The invoice was already paused by the first case.
    assert paused.count() == 2


def test_a_retry_with_the_same_idempotency_key_returns_the_first_case(open_case):
    first = open_case(idempotency_key="abc")
    again = open_case(idempotency_key="abc")
    assert again.pk == first.pk
    assert Case.objects.count() == 1
    assert DisputeHold.objects.count() == 2


def test_a_hold_made_outside_a_case_gets_a_case_of_its_own(invoice, clerk_actor):
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="20.00", comments="Disputed", actor=clerk_actor
    )
    hold.refresh_from_db()
    assert hold.case is not None
    assert hold.case.category.code == "other"
    assert list(hold.case.holds.all()) == [hold]
    assert Event.objects.filter(type=EventType.COLLECTIONS_PAUSED).count() == 1
