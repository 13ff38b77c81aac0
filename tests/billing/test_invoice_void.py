"""Voiding an invoice (SPEC Part 3, "Void invoices"): invoice_void's rules, its
posting, and a void invoice on every screen that lists what is due."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from billing.actors import Actor
from billing.errors import (
    INVALID_COMMENTS,
    INVOICE_NOT_VOIDABLE,
    INVOICE_VOID,
    PERIOD_CLOSED,
    PERMISSION_DENIED,
    BillingError,
)
from billing.factories import AccountingCodeFactory, InvoiceFactory, UserFactory
from billing.models import AccountingPeriodLock, Invoice, JournalEntry, JournalEvent
from billing.receivables.invoices import invoice_revenue_code_correct, invoice_void
from billing.receivables.payments import payment_record, payment_remove
from billing.roles import CLERK, SUPERVISOR
from billing.rules import REQUIRED_MESSAGE, today
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import ApprovalLimit, Settlement
from writeoffs.reports.aging import aging_invoices, aging_report
from writeoffs.selectors import pickable_invoices

pytestmark = pytest.mark.django_db


def void(invoice, actor, reason="Issued in error: wrong customer"):
    return invoice_void(invoice_id=invoice.pk, reason=reason, actor=actor)


def refusal(call) -> BillingError:
    with pytest.raises(BillingError) as info:
        call()
    return info.value


def lines_of(entry: JournalEntry) -> list[tuple[str, int, int]]:
    return sorted(
        (line.accounting_code.code, line.debit_minor, line.credit_minor)
        for line in entry.lines.select_related("accounting_code")
    )


def verify_ledger() -> str:
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    return out.getvalue()


# --- the service ------------------------------------------------------------------


def test_a_supervisor_voids_a_sent_invoice_with_a_reason(invoice, supervisor_actor):
    voided = void(invoice, supervisor_actor)

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.VOID
    assert invoice.void_reason == "Issued in error: wrong customer"
    assert invoice.voided_at is not None
    assert voided.status == Invoice.Status.VOID
    # Nothing is due on it, and it is not overdue (its aging date has passed).
    assert invoice.aging_date < today()
    assert (invoice.balance_due_minor, invoice.available_minor) == (0, 0)
    assert not invoice.is_overdue
    last = invoice.history.order_by("-history_id").first()
    assert (last.history_actor, last.history_change_reason) == (
        "supervisor",
        "Issued in error: wrong customer",
    )


def test_voiding_posts_the_reverse_of_the_sent_entry_dated_today(invoice, supervisor_actor):
    sent = JournalEntry.objects.get(event=JournalEvent.INVOICE_SENT, source_id=invoice.pk)
    void(invoice, supervisor_actor)

    entry = JournalEntry.objects.get(event=JournalEvent.INVOICE_VOID, source_id=invoice.pk)
    assert entry.source_type == "billing.invoice"
    assert entry.entry_date == today()
    assert entry.memo == "Invoice 10023 voided"
    assert entry.created_by_label == "supervisor"
    assert lines_of(sent) == [("1200", 12000, 0), ("4000", 0, 12000)]
    assert lines_of(entry) == [("1200", 0, 12000), ("4000", 12000, 0)]
    assert "the journal agrees" in verify_ledger()


def test_voiding_reverses_a_reclassification_too(invoice, supervisor_actor):
    services = AccountingCodeFactory(code="4100", name="Services")
    invoice_revenue_code_correct(
        invoice_id=invoice.pk, revenue_code_id=services.pk, actor=Actor.for_system(), reason="Wrong"
    )
    void(invoice, supervisor_actor)

    entry = JournalEntry.objects.get(event=JournalEvent.INVOICE_VOID)
    assert lines_of(entry) == [("1200", 0, 12000), ("4100", 12000, 0)]
    assert "the journal agrees" in verify_ledger()


def test_an_invoice_sent_in_a_closed_period_is_voided_today(invoice, supervisor_actor):
    AccountingPeriodLock.objects.create(locked_through=today() - datetime.timedelta(days=1))
    void(invoice, supervisor_actor)
    assert JournalEntry.objects.get(event=JournalEvent.INVOICE_VOID).entry_date == today()


def test_voiding_is_refused_when_today_is_in_a_closed_period(invoice, supervisor_actor):
    AccountingPeriodLock.objects.create(locked_through=today())
    assert refusal(lambda: void(invoice, supervisor_actor)).code == PERIOD_CLOSED
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT


def test_the_controller_may_void_an_invoice(invoice, controller_actor):
    assert void(invoice, controller_actor).status == Invoice.Status.VOID


def test_a_clerk_may_not_void_an_invoice(invoice, clerk_actor):
    assert refusal(lambda: void(invoice, clerk_actor)).code == PERMISSION_DENIED
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reason_is_required(invoice, supervisor_actor, reason):
    error = refusal(lambda: void(invoice, supervisor_actor, reason=reason))
    assert (error.code, error.field, error.message) == (
        INVALID_COMMENTS,
        "reason",
        REQUIRED_MESSAGE,
    )
    assert not JournalEntry.objects.filter(event=JournalEvent.INVOICE_VOID).exists()


def test_a_draft_is_not_voided(account, supervisor_actor):
    draft = InvoiceFactory(account=account, status=Invoice.Status.DRAFT)
    error = refusal(lambda: void(draft, supervisor_actor))
    assert error.code == INVOICE_NOT_VOIDABLE
    assert "is a draft; only a sent invoice is voided" in error.message


def test_a_void_invoice_is_not_voided_again(invoice, supervisor_actor):
    void(invoice, supervisor_actor)
    error = refusal(lambda: void(invoice, supervisor_actor))
    assert (error.code, error.message) == (INVOICE_VOID, "Invoice 10023 is already void.")
    assert JournalEntry.objects.filter(event=JournalEvent.INVOICE_VOID).count() == 1


def test_a_payment_is_in_the_way_until_it_is_removed(invoice, supervisor_actor):
    payment = payment_record(invoice_id=invoice.pk, amount="20.00", actor=supervisor_actor)
    error = refusal(lambda: void(invoice, supervisor_actor))
    assert error.code == INVOICE_NOT_VOIDABLE
    assert error.message == (
        f"Invoice 10023 cannot be voided: payment {payment.pk} is recorded on it (remove it first)."
    )
    payment_remove(payment_id=payment.pk, reason="Bounced", actor=supervisor_actor)
    assert void(invoice, supervisor_actor).status == Invoice.Status.VOID
    assert "the journal agrees" in verify_ledger()


def test_an_active_writeoff_is_in_the_way_until_it_is_reversed(invoice, supervisor_actor):
    writeoff = writeoff_create(
        invoice_id=invoice.pk, amount="10.00", reason_code=0, comments="x", actor=supervisor_actor
    )
    error = refusal(lambda: void(invoice, supervisor_actor))
    assert error.code == INVOICE_NOT_VOIDABLE
    assert f"write-off {writeoff.pk} is active (reverse it first)" in error.message
    writeoff_reverse(writeoff_id=writeoff.pk, reason="Wrong invoice", actor=supervisor_actor)
    assert void(invoice, supervisor_actor).status == Invoice.Status.VOID
    assert "the journal agrees" in verify_ledger()


def test_a_pending_writeoff_is_in_the_way(invoice, clerk_actor, supervisor_actor):
    ApprovalLimit.objects.filter(role="clerk", currency="USD").update(limit_minor=5_00)
    pending = writeoff_create(
        invoice_id=invoice.pk, amount="10.00", reason_code=0, comments="x", actor=clerk_actor
    )
    error = refusal(lambda: void(invoice, supervisor_actor))
    assert error.code == INVOICE_NOT_VOIDABLE
    assert f"write-off {pending.pk} is pending approval (reject or withdraw it first)" in (
        error.message
    )


def test_an_open_hold_is_in_the_way_until_it_is_settled(invoice, clerk_actor, supervisor_actor):
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="10.00", comments="Disputed", actor=clerk_actor
    )
    error = refusal(lambda: void(invoice, supervisor_actor))
    assert error.code == INVOICE_NOT_VOIDABLE
    assert f"dispute hold {hold.pk} is open (settle it first)" in error.message
    dispute_hold_settle(dispute_hold_id=hold.pk, action=Settlement.RELEASE, actor=supervisor_actor)
    assert void(invoice, supervisor_actor).status == Invoice.Status.VOID


def test_every_blocker_is_named_at_once(invoice, clerk_actor, supervisor_actor):
    payment = payment_record(invoice_id=invoice.pk, amount="20.00", actor=supervisor_actor)
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="10.00", comments="Disputed", actor=clerk_actor
    )
    message = refusal(lambda: void(invoice, supervisor_actor)).message
    assert f"payment {payment.pk}" in message
    assert f"dispute hold {hold.pk}" in message


# --- nothing can be made on a void invoice (3128) ------------------------------------


@pytest.fixture
def voided(invoice, supervisor_actor):
    void(invoice, supervisor_actor)
    invoice.refresh_from_db()
    return invoice


def test_no_payment_on_a_void_invoice(voided, supervisor_actor):
    error = refusal(
        lambda: payment_record(invoice_id=voided.pk, amount="1.00", actor=supervisor_actor)
    )
    assert (error.code, error.message) == (
        INVOICE_VOID,
        "Invoice 10023 is void; a void invoice cannot have payments recorded.",
    )


def test_no_writeoff_on_a_void_invoice(voided, supervisor_actor):
    error = refusal(
        lambda: writeoff_create(
            invoice_id=voided.pk, amount="1.00", reason_code=0, comments="x", actor=supervisor_actor
        )
    )
    assert error.code == INVOICE_VOID


def test_no_hold_on_a_void_invoice(voided, clerk_actor):
    error = refusal(
        lambda: dispute_hold_create(
            invoice_id=voided.pk, amount="1.00", comments="x", actor=clerk_actor
        )
    )
    assert error.code == INVOICE_VOID


def test_the_database_refuses_a_void_invoice_with_money_on_it(voided):
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=voided.pk).update(paid_minor=100)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=voided.pk).update(voided_at=None)


# --- screens ----------------------------------------------------------------------------


def test_a_void_invoice_is_in_no_overdue_filter_and_shows_no_overdue_badge(
    client, supervisor, account, supervisor_actor
):
    overdue = InvoiceFactory(account=account, invoice_no=20001)
    voided = InvoiceFactory(account=account, invoice_no=20002)
    void(voided, supervisor_actor)
    client.force_login(supervisor)
    url = reverse("invoice_list", args=[account.acct_no])

    filtered = client.get(url, {"overdue": "on"}).content.decode()
    assert "20001" in filtered
    assert "20002" not in filtered
    listed = client.get(url).content.decode()
    row = listed[listed.index("20002") :]
    row = row[: row.index("</tr>")]
    assert "Overdue" not in row
    assert "Void" in row
    assert overdue.is_overdue


def test_the_invoice_page_of_a_void_invoice_shows_nothing_due(client, supervisor, voided):
    client.force_login(supervisor)
    page = client.get(reverse("invoice_detail", args=[5001, 10023])).content.decode()
    assert 'data-testid="balance-due">0.00 USD' in page
    assert "Overdue" not in page
    assert "Issued in error: wrong customer" in page
    for control in ("Record Payment", "Create a Write-off", "Create a Dispute Hold"):
        assert control not in page
    assert 'id="void-invoice"' not in page


def test_a_void_invoice_is_in_no_aging_bucket_today(invoice, supervisor_actor):
    before = aging_report(today())
    assert before.totals["USD"].buckets["d1_30"] == 12000
    void(invoice, supervisor_actor)
    report = aging_report(today())
    assert report.accounts == []
    assert set(report.totals["USD"].buckets.values()) == {0}
    assert report.agrees
    assert not list(aging_invoices(today(), currency="USD", column="d1_30"))
    # As of a day before it was voided, it was still due.
    yesterday = aging_report(today() - datetime.timedelta(days=1))
    assert yesterday.totals["USD"].buckets["d1_30"] == 12000


def test_a_void_invoice_is_not_in_the_picker(invoice, account, supervisor_actor):
    assert list(pickable_invoices(account)) == [invoice]
    void(invoice, supervisor_actor)
    assert not pickable_invoices(account).exists()


def test_a_void_invoice_adds_nothing_to_open_receivables_on_home(
    client, supervisor, invoice, supervisor_actor
):
    client.force_login(supervisor)
    assert "120.00" in client.get(reverse("home")).content.decode()
    void(invoice, supervisor_actor)
    assert "120.00" not in client.get(reverse("home")).content.decode()


# --- the Void invoice control ----------------------------------------------------------


def test_a_supervisor_is_offered_void_invoice_and_a_clerk_is_not(
    client, supervisor, clerk, invoice
):
    url = reverse("invoice_detail", args=[5001, 10023])
    client.force_login(supervisor)
    assert 'id="void-invoice"' in client.get(url).content.decode()
    client.force_login(clerk)
    assert 'id="void-invoice"' not in client.get(url).content.decode()
    assert client.get(reverse("invoice_void", args=[5001, 10023])).status_code == 403


def test_void_is_not_offered_while_something_is_in_the_way_and_the_page_says_why(
    client, supervisor, invoice, supervisor_actor
):
    payment = payment_record(invoice_id=invoice.pk, amount="20.00", actor=supervisor_actor)
    client.force_login(supervisor)
    page = client.get(reverse("invoice_detail", args=[5001, 10023])).content.decode()
    assert 'id="void-invoice"' not in page
    assert f"Void invoice is not offered: payment {payment.pk} is recorded on it" in page


def test_the_confirm_popout_asks_for_a_reason_and_voids(client, supervisor, invoice):
    client.force_login(supervisor)
    url = reverse("invoice_void", args=[5001, 10023])

    popout = client.get(url, headers={"HX-Request": "true"})
    assert popout.status_code == 200
    text = popout.content.decode()
    assert "Void invoice 10023?" in text
    assert "120.00 USD" in text
    assert 'name="reason"' in text
    assert "<html" not in text

    blank = client.post(url, {"reason": ""}, headers={"HX-Request": "true"})
    assert blank.status_code == 200
    assert "required" in blank.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT

    done = client.post(url, {"reason": "Duplicate"}, headers={"HX-Request": "true"})
    assert done.headers["HX-Redirect"] == reverse("invoice_detail", args=[5001, 10023])
    invoice.refresh_from_db()
    assert (invoice.status, invoice.void_reason) == (Invoice.Status.VOID, "Duplicate")


def test_without_javascript_the_void_step_is_a_page_and_redirects(client, supervisor, invoice):
    client.force_login(supervisor)
    url = reverse("invoice_void", args=[5001, 10023])
    page = client.get(url).content.decode()
    assert "<html" in page and "Void invoice 10023?" in page
    response = client.post(url, {"reason": "Duplicate"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("invoice_detail", args=[5001, 10023])
    assert "Invoice 10023 voided" in response.content.decode()


def test_a_refused_void_shows_what_is_in_the_way_in_the_popout(
    client, supervisor, invoice, supervisor_actor
):
    payment = payment_record(invoice_id=invoice.pk, amount="20.00", actor=supervisor_actor)
    client.force_login(supervisor)
    response = client.post(
        reverse("invoice_void", args=[5001, 10023]),
        {"reason": "Duplicate"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert f"payment {payment.pk} is recorded on it" in response.content.decode()


def test_the_void_view_answers_405_404_and_redirects_anonymous(client, supervisor, invoice):
    url = reverse("invoice_void", args=[5001, 10023])
    assert client.get(url).status_code == 302
    client.force_login(supervisor)
    assert client.put(url).status_code == 405
    other = InvoiceFactory(invoice_no=20009)
    assert client.get(reverse("invoice_void", args=[5001, other.invoice_no])).status_code == 404


# --- admin ---------------------------------------------------------------------------


def test_the_admin_action_voids_through_the_service_with_a_reason(client, account, invoice):
    staff = UserFactory(username="staff-supervisor", is_staff=True, groups=[SUPERVISOR])
    blocked = InvoiceFactory(account=account, invoice_no=20003)
    payment = payment_record(invoice_id=blocked.pk, amount="1.00", actor=Actor.for_user(staff))
    client.force_login(staff)
    changelist = reverse("admin:billing_invoice_changelist")
    chosen = {"action": "void_selected", "_selected_action": [invoice.pk, blocked.pk]}

    asked = client.post(changelist, chosen)
    assert b"Reason for voiding" in asked.content
    client.post(changelist, {**chosen, "apply": "yes", "text": ""})
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT

    done = client.post(changelist, {**chosen, "apply": "yes", "text": "Duplicates"}, follow=True)
    page = done.content.decode()
    assert "Voided 1 invoice(s)" in page
    assert f"payment {payment.pk} is recorded on it" in page
    invoice.refresh_from_db()
    blocked.refresh_from_db()
    assert (invoice.status, invoice.void_reason) == (Invoice.Status.VOID, "Duplicates")
    assert blocked.status == Invoice.Status.SENT


def test_staff_without_the_void_permission_are_not_offered_the_admin_action(client, invoice):
    staff = UserFactory(username="staff-clerk", is_staff=True, groups=[CLERK])
    client.force_login(staff)
    changelist = reverse("admin:billing_invoice_changelist")
    assert b"void_selected" not in client.get(changelist).content
    client.post(
        changelist,
        {
            "action": "void_selected",
            "_selected_action": [invoice.pk],
            "apply": "yes",
            "text": "Not mine",
        },
    )
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT
