"""Approvals and bad-debt recovery in Chromium: a clerk's over-limit write-off waits,
a supervisor approves it from the queue, a clerk records a recovery."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from billing.factories import InvoiceFactory
from tests.browser.support import htmx_settled
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.models import WriteOff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def big_invoice(account):
    """Invoice 20001 on account 5001: 2,000.00, over a clerk's 500.00 limit."""
    return InvoiceFactory(account=account, invoice_no=20001, total_minor=200_000)


def test_clerks_over_limit_writeoff_goes_pending_and_a_supervisor_approves_it_from_the_queue(
    page: Page, live_server, sign_in, clerk, supervisor, big_invoice, shot, csp_violations
):
    sign_in(page, "clerk")
    page.goto(f"{live_server.url}/accounts/5001/write-offs/")
    page.get_by_role("link", name="Create a Write-off").click()
    page.get_by_role("dialog", name=re.compile("^Create a Write-off$")).get_by_role(
        "link", name="20001"
    ).click()
    entry = page.get_by_role("dialog", name=re.compile("Create a Write-off · Invoice 20001"))
    htmx_settled(page)
    entry.get_by_label("Amount (USD)").fill("600.00")
    entry.get_by_label("Reason code").select_option(label="0 · Bad Debt")
    entry.get_by_label("Comments").fill("Customer insolvent.")
    entry.get_by_role("button", name="Create Write-Off").click()
    popout = page.get_by_role("dialog", name="Review: Create a Write-off")
    expect(popout).to_contain_text(
        "This is over your limit of 500.00 USD: it will be sent for approval."
    )
    shot(page, "review-over-limit")
    popout.get_by_role("button", name="Create Write-Off").click()

    expect(page.get_by_role("status")).to_contain_text("waits for approval")
    writeoff = WriteOff.objects.get()
    assert writeoff.status == WriteOff.Status.PENDING
    row = page.get_by_role("row", name=re.compile("Customer insolvent"))
    expect(row).to_contain_text("Pending approval")
    # The clerk has no Approve control and the queue refuses them.
    expect(page.get_by_role("link", name=f"Approve write-off {writeoff.number}")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("^Approvals"))).to_have_count(0)
    response = page.goto(f"{live_server.url}/approvals/")
    assert response.status == 403
    shot(page, "clerk-refused")
    # The clerk follows the request from "My requests" in the top bar.
    page.goto(f"{live_server.url}/")
    page.get_by_role("navigation", name="Top bar").get_by_role("link", name="My requests").click()
    mine = page.get_by_role("row", name=re.compile(rf"^{writeoff.number}\b"))
    expect(mine).to_contain_text("Pending approval")
    expect(mine).to_contain_text("600.00")

    page.goto(f"{live_server.url}/")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, "supervisor")
    top_bar = page.get_by_role("navigation", name="Top bar")
    expect(top_bar.get_by_role("link", name=re.compile("Approvals"))).to_contain_text("1")
    top_bar.get_by_role("link", name=re.compile("Approvals")).click()
    queue_row = page.get_by_role("row", name=re.compile("Customer insolvent"))
    expect(queue_row).to_contain_text("600.00")
    expect(queue_row).to_contain_text("clerk")
    shot(page, "queue")
    htmx_settled(page)
    queue_row.get_by_role("link", name=f"Approve write-off {writeoff.number}").click()
    confirm = page.get_by_role("dialog", name=f"Approve write-off {writeoff.number}?")
    expect(confirm).to_contain_text("600.00 USD")
    shot(page, "approve-popout")
    confirm.get_by_role("button", name="Approve write-off").click()
    expect(confirm).to_be_hidden()
    expect(page.get_by_role("status")).to_contain_text(f"Write-off {writeoff.number} approved")
    expect(page.get_by_text("Nothing is waiting for approval.")).to_be_visible()
    # The top bar's badge follows without a reload.
    expect(top_bar.get_by_role("link", name=re.compile("Approvals"))).to_contain_text("0")

    page.goto(f"{live_server.url}/accounts/5001/write-offs/")
    row = page.get_by_role("row", name=re.compile("Customer insolvent"))
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("approved by supervisor")
    shot(page, "approved-row")
    writeoff.refresh_from_db()
    assert writeoff.status == WriteOff.Status.ACTIVE and writeoff.approved_by == supervisor
    assert csp_violations == []


def test_record_a_recovery_from_the_invoice_page(
    page: Page, live_server, sign_in, clerk, clerk_actor, invoice, shot, csp_violations
):
    writeoff = writeoff_create(
        invoice_id=invoice.pk,
        amount="120.00",
        reason_code=0,
        comments="Bad debt",
        actor=clerk_actor,
        writeoff_date=timezone.localdate(),
    )
    sign_in(page, "clerk")
    page.goto(f"{live_server.url}/accounts/5001/invoices/10023/")
    page.get_by_role("link", name="Record Recovery").click()
    drawer = page.get_by_role("dialog", name="Record Recovery")
    expect(drawer).to_contain_text("120.00 USD")
    htmx_settled(page)
    drawer.get_by_label("Amount").fill("50.00")
    shot(page, "recovery-drawer")
    drawer.get_by_role("button", name="Record Recovery").click()
    expect(drawer).to_be_hidden()
    expect(page.get_by_role("status")).to_contain_text("Recovery of 50.00 USD recorded")
    expect(page.get_by_text("recovered 50.00 of 120.00")).to_be_visible()
    shot(page, "recovered")
    writeoff.refresh_from_db()
    assert writeoff.recovered_minor == 50_00
    assert csp_violations == []


def test_my_requests_and_the_approvals_queue_with_a_bulk_run_have_no_serious_axe_problems(
    new_context, live_server, clerk, supervisor, big_invoice, axe
):
    from billing.actors import Actor
    from billing.factories import AccountFactory
    from tests.writeoffs.bulk_support import criteria, small_invoice
    from writeoffs.bulk.runs import bulk_run_create, bulk_run_request_approval

    writeoff_create(
        invoice_id=big_invoice.pk,
        amount="600.00",
        reason_code=0,
        comments="Customer insolvent.",
        actor=Actor.for_user(clerk),
    )
    small = AccountFactory(acct_no=6301)
    for _ in range(3):
        small_invoice(small, 20000)
    run = bulk_run_create(actor=Actor.for_user(clerk), **criteria(max_balance={"USD": "200.00"}))
    bulk_run_request_approval(run_id=run.pk, actor=Actor.for_user(clerk))

    page = new_context(bypass_csp=True).new_page()
    for username, path, screen in (
        ("clerk", "/my-requests/", "my requests"),
        ("supervisor", "/approvals/", "approvals with a bulk run"),
    ):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("correct horse battery staple")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign out").wait_for()
        page.goto(f"{live_server.url}{path}")
        assert axe(page, screen) == []
        if username == "supervisor":
            expect(page.get_by_role("row", name=re.compile(f"Bulk run {run.pk}"))).to_contain_text(
                "3 · 600.00 USD"
            )
        page.get_by_role("button", name="Sign out").click()
