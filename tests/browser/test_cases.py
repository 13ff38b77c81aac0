"""A dispute case in Chromium, as a supervisor works one: opened from the account on
two invoices, a note, a file, an owner, and a partial settlement (part written off,
the rest released) that resolves it; and another whose due date is moved before it
is rejected from the confirm pop-out."""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import Page, expect

from billing.factories import InvoiceFactory, UserFactory
from billing.roles import CLERK
from billing.rules import today
from tests.browser.support import htmx_settled
from tests.writeoffs.cases import samples
from writeoffs.cases.open import CaseHold, case_open
from writeoffs.models import Case, CaseStatus, DisputeHold, WriteOff

pytestmark = pytest.mark.django_db(transaction=True)


def drawer(page: Page, name: str):
    return page.get_by_role("dialog", name=re.compile(name))


def saw(page: Page, text: str, closed=None) -> None:
    """The success message, once the drawer that asked for it has closed (a person
    opens the next drawer after this one has slid away)."""
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()
    if closed is not None:
        expect(closed).to_be_hidden()
    htmx_settled(page)


def test_case_opened_on_two_invoices_is_worked_and_settled_partly(
    page: Page, live_server, sign_in, supervisor, account, invoice, shot, csp_violations
):
    InvoiceFactory(account=account, invoice_no=10024, total_minor=8000)
    UserFactory(username="anna", groups=[CLERK])
    sign_in(page, "supervisor")
    page.goto(f"{live_server.url}/accounts/{account.acct_no}/write-offs/?tab=disputes")

    # Open the case: picker (two invoices), entry (an amount for one), confirm.
    page.get_by_role("link", name="Open a Case").click()
    picker = drawer(page, "^Open a Case$")
    picker.get_by_label("Invoice 10023").check()
    picker.get_by_label("Invoice 10024").check()
    shot(page, "picker")
    picker.get_by_role("button", name="Next").click()
    entry = drawer(page, "Open a Case · 2 invoices")
    entry.get_by_label("Amount to hold on invoice 10023 (USD)").fill("50.00")
    entry.get_by_label("Category").select_option("pricing")
    entry.get_by_label("Customer contact name").fill("Dana Buyer")
    entry.get_by_label("Customer contact email").fill("dana@example.com")
    entry.get_by_label("Comments").fill("Billed at last year's price.")
    shot(page, "entry")
    entry.get_by_role("button", name="Open Case").click()
    popout = page.get_by_role("dialog", name="Review: Open a Case")
    # The empty amount is frozen as all of invoice 10024's available 80.00.
    expect(popout.get_by_role("row", name=re.compile("^10024"))).to_contain_text("80.00 USD")
    shot(page, "confirm")
    popout.get_by_role("button", name="Open Case").click()

    case = None
    expect(page.get_by_role("heading", name=re.compile(r"^Case \d+"))).to_be_visible()
    case = Case.objects.get()
    saw(page, f"Case {case.number} opened with 2 dispute hold(s).")
    expect(page.get_by_role("row", name=re.compile("10023"))).to_contain_text("50.00")
    expect(page.get_by_role("row", name=re.compile("10024"))).to_contain_text("80.00")
    shot(page, "case")

    # A note.
    page.get_by_role("link", name="Add note").click()
    note = drawer(page, "Add note")
    note.get_by_label("Note").fill("Customer sent last year's contract.")
    note.get_by_role("button", name="Add note").click()
    saw(page, "Note added", closed=note)

    # A file.
    page.get_by_role("link", name="Upload file").click()
    upload = drawer(page, "Upload file")
    upload.get_by_label("File").set_input_files(
        files=[{"name": "contract.pdf", "mimeType": "application/pdf", "buffer": samples.PDF}]
    )
    upload.get_by_role("button", name="Upload").click()
    saw(page, "contract.pdf attached", closed=upload)
    page.get_by_role("tab", name=re.compile("Attachments")).click()
    expect(page.get_by_role("link", name="contract.pdf")).to_be_visible()
    shot(page, "attachments")

    # An owner.
    page.get_by_role("link", name="Assign").click()
    assign = drawer(page, "Assign")
    assign.get_by_label("Assignee").select_option(label="anna")
    assign.get_by_role("button", name="Assign").click()
    saw(page, "assigned to anna", closed=assign)

    # Settle: write off 20.00 of the first hold (the rest released), release the second.
    first, second = DisputeHold.objects.filter(case=case).order_by("id")
    page.get_by_role("link", name="Settle", exact=True).click()
    settle = drawer(page, "Settle")
    settle.get_by_label(f"Dispute hold {first.pk}", exact=True).select_option("convert")
    settle.get_by_label("Amount to write off (USD)").first.fill("20.00")
    settle.get_by_label(f"Dispute hold {second.pk}", exact=True).select_option("release")
    settle.get_by_label("Reason code (conversions)").select_option("2")
    settle.get_by_label("Root cause").select_option("pricing_error")
    shot(page, "settle")
    settle.get_by_role("button", name="Settle").click()
    saw(page, "the case is resolved", closed=settle)
    expect(page.get_by_role("heading", name=re.compile(r"^Case \d+"))).to_contain_text("Resolved")
    page.get_by_role("tab", name=re.compile("Timeline")).click()
    expect(page.get_by_text("Assigned to anna.")).to_be_visible()
    expect(page.get_by_role("tab", name=re.compile("Timeline"))).to_have_attribute(
        "aria-selected", "true"
    )
    htmx_settled(page)
    shot(page, "resolved")

    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED and case.assignee.username == "anna"
    assert case.notes.filter(text="Customer sent last year's contract.").exists()
    assert case.attachments.get().original_name == "contract.pdf"
    assert WriteOff.objects.get().amount_minor == 2000
    assert not DisputeHold.objects.filter(case=case, status="open").exists()
    assert csp_violations == []


def test_supervisor_moves_a_case_due_date_then_rejects_it_from_the_pop_out(
    page: Page, live_server, sign_in, supervisor, supervisor_actor, account, invoice, shot
):
    case = case_open(
        account_id=account.pk,
        category="pricing",
        holds=[CaseHold(invoice_no=invoice.invoice_no, amount="50.00")],
        actor=supervisor_actor,
    )
    sign_in(page, "supervisor")
    page.goto(f"{live_server.url}/cases/{case.number}/")

    day = today() + datetime.timedelta(days=20)
    page.get_by_role("link", name="Change due date").click()
    due = drawer(page, "Change due date")
    due.get_by_label("Due date").fill(day.isoformat())
    due.get_by_role("button", name="Change due date").click()
    saw(page, f"Case {case.number} is now due", closed=due)

    page.get_by_role("link", name="Reject case").click()
    popout = page.get_by_role("dialog", name=f"Reject case {case.number}?")
    expect(popout).to_contain_text("releases every hold: 1 hold, total 50.00 USD.")
    popout.get_by_label("Reason").fill("Price was as contracted.")
    shot(page, "reject")
    popout.get_by_role("button", name="Reject case").click()
    saw(page, f"Case {case.number} rejected", closed=popout)
    expect(page.get_by_role("heading", name=re.compile(r"^Case \d+"))).to_contain_text("Rejected")

    case.refresh_from_db()
    assert case.status == CaseStatus.REJECTED and case.due_date == day
    assert not DisputeHold.objects.filter(case=case, status="open").exists()
