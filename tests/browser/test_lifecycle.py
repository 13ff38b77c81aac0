"""Corrections and the invoice pages in Chromium (seed 003): record a partial payment,
remove a payment, filter to written-off invoices, settle disputes, reverse a write-off."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command, get_commands
from playwright.sync_api import Page, expect

from billing.factories import InvoiceFactory
from billing.models import Invoice, Payment
from tests.browser.support import htmx_settled
from writeoffs.lifecycle.create import writeoff_create

pytestmark = pytest.mark.django_db(transaction=True)


def ledger_is_clean() -> None:
    if "verify_ledger" in get_commands():
        call_command("verify_ledger", stdout=io.StringIO(), stderr=io.StringIO())


def side_nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Account").get_by_role("link", name=name).click()


def open_invoice_10023(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/accounts/5001/")
    side_nav(page, "Invoices")
    page.get_by_role("link", name="10023", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Invoice 10023"))).to_be_visible()


def test_record_a_partial_payment_and_see_the_remaining_balance(
    page: Page, live_server, sign_in, clerk, account, invoice, shot, csp_violations
):
    sign_in(page, "clerk")
    open_invoice_10023(page, live_server)

    page.get_by_role("link", name="Record Payment").click()
    drawer = page.get_by_role("dialog", name="Record Payment")
    expect(drawer).to_be_visible()
    amount = drawer.get_by_label("Amount")
    expect(page.locator("#payment-remaining")).to_contain_text("120.00")
    # A decimal comma is not read as 150.00 or as anything else: the preview shows no figure.
    amount.press_sequentially("1,50")
    expect(page.locator("#payment-remaining")).to_have_text(
        "Enter an amount such as 1,234.50, with a point for decimals."
    )
    amount.fill("")
    amount.press_sequentially("45.5")
    expect(page.locator("#payment-remaining")).to_have_text(
        "Remaining balance after this payment: 74.50"
    )
    drawer.get_by_label("Method").select_option(label="Bank transfer")
    drawer.get_by_label("Reference").fill("WIRE-88")
    shot(page, "record-payment")
    drawer.get_by_role("button", name="Record Payment").click()

    # The review: the exact amount and the balance it leaves; Cancel keeps the input.
    review = page.get_by_role("dialog", name="Review: Record Payment")
    expect(review).to_be_visible()
    expect(review.get_by_test_id("review-amount")).to_have_text("45.50 USD")
    expect(review.get_by_test_id("review-remaining")).to_have_text("74.50 USD")
    shot(page, "review-payment")
    review.get_by_role("button", name="Cancel").click()
    expect(review).to_be_hidden()
    expect(drawer.get_by_label("Amount")).to_have_value("45.5")
    assert not Payment.objects.exists()
    drawer.get_by_role("button", name="Record Payment").click()
    expect(review).to_be_visible()
    review.get_by_role("button", name="Record Payment").click()

    expect(review).to_be_hidden()
    expect(drawer).to_be_hidden()
    expect(page.get_by_role("status")).to_contain_text("Remaining balance: 74.50 USD")
    expect(page.get_by_test_id("balance-due")).to_have_text("74.50 USD")
    expect(page.get_by_role("row", name=re.compile("WIRE-88"))).to_contain_text("45.50")
    shot(page, "payment-recorded")
    assert Invoice.objects.get(pk=invoice.pk).paid_minor == 4550
    ledger_is_clean()
    assert csp_violations == []


def test_remove_a_payment(
    page: Page, live_server, sign_in, supervisor, account, invoice, clerk_actor, shot
):
    from billing.receivables.payments import payment_record

    payment = payment_record(
        invoice_id=invoice.pk, amount="20.00", actor=clerk_actor, reference="CHK-1"
    )
    sign_in(page, "supervisor")
    open_invoice_10023(page, live_server)
    expect(page.get_by_test_id("balance-due")).to_have_text("100.00 USD")

    page.get_by_role("link", name=f"Remove payment {payment.pk}").click()
    popout = page.get_by_role("dialog", name=f"Remove payment {payment.pk}?")
    expect(popout).to_be_visible()
    popout.get_by_label("Reason").fill("   ")
    popout.get_by_role("button", name="Remove payment").click()
    expect(popout.get_by_text("This field is required.")).to_be_visible()
    popout.get_by_label("Reason").fill("Cheque bounced")
    shot(page, "remove-payment")
    popout.get_by_role("button", name="Remove payment").click()

    expect(popout).to_be_hidden()
    expect(page.get_by_test_id("balance-due")).to_have_text("120.00 USD")
    row = page.get_by_role("row", name=re.compile("CHK-1"))
    expect(row).to_contain_text("Removed")
    expect(row).to_contain_text("Cheque bounced")
    expect(page.get_by_role("list", name="Changes, newest first")).to_contain_text(
        "removed: Cheque bounced"
    )
    shot(page, "payment-removed")
    assert Payment.objects.get().status == Payment.Status.REMOVED
    ledger_is_clean()


def test_void_an_invoice(page: Page, live_server, sign_in, supervisor, account, invoice, shot):
    """A supervisor voids an invoice issued in error through its confirm pop-out: the
    invoice then shows nothing due, no Overdue badge, no payment or write-off control,
    and History says it was voided and why."""
    sign_in(page, "supervisor")
    open_invoice_10023(page, live_server)
    expect(page.get_by_text("Overdue", exact=True)).to_be_visible()

    page.get_by_role("link", name="Void invoice").click()
    popout = page.get_by_role("dialog", name="Void invoice 10023?")
    expect(popout).to_be_visible()
    expect(popout).to_contain_text("120.00 USD")
    popout.get_by_role("button", name="Void invoice").click()
    expect(popout.get_by_text("This field is required.")).to_be_visible()
    popout.get_by_label("Reason").fill("Billed to the wrong customer")
    shot(page, "void-popout")
    popout.get_by_role("button", name="Void invoice").click()

    expect(page.get_by_role("heading", name=re.compile("Invoice 10023"))).to_contain_text("Void")
    expect(page.get_by_text("Invoice 10023 voided")).to_be_visible()
    expect(page.get_by_test_id("balance-due")).to_have_text("0.00 USD")
    expect(page.get_by_text("Overdue", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Record Payment")).to_have_count(0)
    expect(page.get_by_role("link", name="Void invoice")).to_have_count(0)
    expect(page.get_by_role("list", name="Changes, newest first")).to_contain_text(
        "Invoice voided: its 120.00 USD reversed out of the books, nothing due on it "
        "(reason: Billed to the wrong customer)."
    )
    shot(page, "voided")
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.VOID
    ledger_is_clean()


def test_axe_finds_no_serious_violations_on_the_void_popout_and_a_void_invoice(
    new_context, live_server, supervisor, account, invoice, axe
):
    page = new_context(bypass_csp=True).new_page()  # bypass_csp lets axe be injected
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("supervisor")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Receivables at a glance").wait_for()

    page.goto(f"{live_server.url}/accounts/5001/invoices/10023/")
    page.get_by_role("link", name="Void invoice").click()
    popout = page.get_by_role("dialog", name="Void invoice 10023?")
    expect(popout).to_be_visible()
    expect(popout.get_by_label("Reason")).to_be_focused()  # the fade-in is done
    assert axe(page, "void invoice pop-out") == []
    popout.get_by_label("Reason").fill("Duplicate")
    popout.get_by_role("button", name="Void invoice").click()
    expect(page.get_by_test_id("balance-due")).to_have_text("0.00 USD")
    assert axe(page, "void invoice") == []


def test_filter_invoices_to_written_off(
    page: Page, live_server, sign_in, viewer, account, invoice, clerk_actor, shot
):
    InvoiceFactory(account=account, invoice_no=10024)
    writeoff_create(
        invoice_id=invoice.pk, amount="", reason_code=0, comments="Gone", actor=clerk_actor
    )
    sign_in(page, "viewer")
    page.goto(f"{live_server.url}/accounts/5001/")
    side_nav(page, "Invoices")
    expect(page.get_by_role("link", name="10024", exact=True)).to_be_visible()

    page.get_by_label("Written off").check()

    expect(page.get_by_role("link", name="10024", exact=True)).to_be_hidden()
    expect(page.get_by_role("link", name="10023", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"written_off=1"))
    shot(page, "written-off-filter")
    page.get_by_role("link", name="10023", exact=True).click()
    expect(page.get_by_role("note")).to_contain_text("120.00 USD of this invoice was written off")


@pytest.fixture
def open_hold(invoice, clerk_actor):
    from writeoffs.lifecycle.holds import dispute_hold_create

    return dispute_hold_create(
        invoice_id=invoice.pk, amount="50.00", comments="Customer disputes", actor=clerk_actor
    )


def open_disputes_tab(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/accounts/5001/")
    side_nav(page, "Write-Offs")
    page.get_by_role("tab", name="Disputes").click()
    expect(page.get_by_role("tab", name="Disputes")).to_have_attribute("aria-selected", "true")
    htmx_settled(page)


@pytest.mark.parametrize(
    ("button", "confirm", "status"),
    [
        ("Convert dispute hold {n} to a write-off", "Convert to write-off", "Written off"),
        ("Release dispute hold {n}", "Release", "Released"),
        ("Release and re-age dispute hold {n}", "Release and re-age", "Released and re-aged"),
    ],
)
def test_settle_a_dispute(
    page: Page,
    live_server,
    sign_in,
    supervisor,
    account,
    invoice,
    open_hold,
    shot,
    csp_violations,
    button,
    confirm,
    status,
):
    from writeoffs.models import DisputeHold, WriteOff

    sign_in(page, "supervisor")
    open_disputes_tab(page, live_server)

    page.get_by_role("link", name=button.format(n=open_hold.number)).click()
    popout = page.get_by_role("dialog", name=re.compile(f"dispute hold {open_hold.number}"))
    expect(popout).to_be_visible()
    if confirm.startswith("Convert"):
        popout.get_by_label("Reason code").select_option(label="2 · Billing Error")
    popout.get_by_label("Comments").fill("Settled with the customer")
    shot(page, "settle-popout")
    popout.get_by_role("button", name=confirm, exact=True).click()

    expect(popout).to_be_hidden()
    expect(page.get_by_role("status")).to_contain_text(f"Dispute hold {open_hold.number}")
    row = page.locator(f'tr[data-entry-id="{open_hold.pk}"]')
    expect(row).to_contain_text(status)
    expect(row).to_contain_text("by supervisor")
    expect(row.get_by_role("link", name=re.compile("Release"))).to_have_count(0)
    shot(page, "settled")
    hold = DisputeHold.objects.get()
    assert hold.settled_by_label == "supervisor"
    invoice.refresh_from_db()
    assert invoice.held_minor == 0
    if confirm.startswith("Convert"):
        assert WriteOff.objects.get().reason_code == 2
        assert invoice.written_off_minor == 5000
    ledger_is_clean()
    assert csp_violations == []


def test_reverse_a_writeoff(
    page: Page, live_server, sign_in, supervisor, account, invoice, clerk_actor, shot
):
    from writeoffs.models import WriteOff

    writeoff = writeoff_create(
        invoice_id=invoice.pk, amount="30.00", reason_code=0, comments="Bad", actor=clerk_actor
    )
    sign_in(page, "supervisor")
    page.goto(f"{live_server.url}/accounts/5001/")
    side_nav(page, "Write-Offs")

    page.get_by_role("link", name=f"Reverse write-off {writeoff.number}").click()
    popout = page.get_by_role("dialog", name=f"Reverse write-off {writeoff.number}?")
    expect(popout).to_be_visible()
    popout.get_by_label("Reason").fill("Posted to the wrong invoice")
    shot(page, "reverse-popout")
    popout.get_by_role("button", name="Reverse write-off").click()

    expect(popout).to_be_hidden()
    row = page.locator(f'tr[data-entry-id="{writeoff.pk}"]')
    expect(row).to_contain_text("Reversed")
    expect(row).to_contain_text("Posted to the wrong invoice")
    expect(row).to_contain_text("by supervisor")
    shot(page, "reversed")
    assert WriteOff.objects.get().status == WriteOff.Status.REVERSED
    invoice.refresh_from_db()
    assert invoice.written_off_minor == 0
    ledger_is_clean()


def test_write_off_from_the_invoice_page(
    page: Page, live_server, sign_in, clerk, account, invoice, shot
):
    sign_in(page, "clerk")
    open_invoice_10023(page, live_server)

    page.get_by_role("link", name="Create a Write-off").click()
    entry = page.get_by_role("dialog", name="Create a Write-off · Invoice 10023")
    entry.get_by_label("Amount (USD)").fill("20.00")
    entry.get_by_label("Reason code").select_option(label="0 · Bad Debt")
    entry.get_by_label("Comments").fill("Small balance")
    entry.get_by_role("button", name="Create Write-Off").click()
    page.get_by_role("dialog", name="Review: Create a Write-off").get_by_role(
        "button", name="Create Write-Off"
    ).click()

    expect(page.get_by_role("note")).to_contain_text("20.00 USD of this invoice was written off")
    expect(page.get_by_test_id("balance-due")).to_have_text("100.00 USD")
    shot(page, "written-off-from-invoice")
    ledger_is_clean()


def test_axe_finds_no_serious_violations_on_the_invoice_payment_and_settlement_screens(
    new_context, live_server, supervisor, account, invoice, open_hold, clerk_actor, axe
):
    from billing.receivables.payments import payment_record

    payment = payment_record(invoice_id=invoice.pk, amount="10.00", actor=clerk_actor)
    writeoff = writeoff_create(
        invoice_id=invoice.pk, amount="5.00", reason_code=0, comments="Bad", actor=clerk_actor
    )
    # bypass_csp lets axe be injected; the app's own pages are unchanged.
    page = new_context(bypass_csp=True).new_page()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("supervisor")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Receivables at a glance").wait_for()  # the home page

    page.goto(f"{live_server.url}/accounts/5001/")
    assert axe(page, "account overview") == []
    side_nav(page, "Invoices")
    assert axe(page, "invoices list") == []
    side_nav(page, "Payments")
    assert axe(page, "payments list") == []

    page.goto(f"{live_server.url}/accounts/5001/invoices/10023/")
    assert axe(page, "invoice detail") == []
    page.get_by_role("link", name="Record Payment").click()
    expect(page.get_by_role("dialog", name="Record Payment")).to_be_visible()
    # The amount comes first, as in the write-off and dispute drawers.
    expect(page.get_by_role("dialog", name="Record Payment").get_by_label("Amount")).to_be_focused()
    assert axe(page, "record payment drawer") == []
    drawer = page.get_by_role("dialog", name="Record Payment · Invoice 10023")
    drawer.get_by_label("Amount").fill("10.00")
    drawer.get_by_label("Method").select_option(label="Check")
    drawer.get_by_role("button", name="Record Payment").click()
    review = page.get_by_role("dialog", name="Review: Record Payment")
    expect(review).to_be_visible()
    expect(review.get_by_role("button", name="Cancel")).to_be_focused()  # fade-in done
    assert axe(page, "record payment review pop-out") == []
    page.keyboard.press("Escape")
    expect(review).to_be_hidden()
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    page.get_by_role("link", name=f"Remove payment {payment.pk}").click()
    # Focus moves in once the modal's fade-in has finished: contrast is then final.
    expect(page.get_by_role("dialog", name=re.compile("Remove payment"))).to_be_visible()
    expect(page.get_by_label("Reason")).to_be_focused()
    assert axe(page, "remove payment pop-out") == []

    page.goto(f"{live_server.url}/accounts/5001/write-offs/")
    page.get_by_role("link", name=f"Reverse write-off {writeoff.number}").click()
    expect(page.get_by_role("dialog", name=re.compile("Reverse write-off"))).to_be_visible()
    expect(page.get_by_label("Reason")).to_be_focused()
    assert axe(page, "reverse write-off pop-out") == []

    page.goto(f"{live_server.url}/accounts/5001/write-offs/?tab=disputes")
    page.get_by_role("link", name=f"Convert dispute hold {open_hold.number} to a write-off").click()
    expect(page.get_by_role("dialog", name=re.compile("Convert to write-off"))).to_be_visible()
    expect(page.get_by_label("Reason code")).to_be_focused()
    assert axe(page, "settle (convert) pop-out") == []
