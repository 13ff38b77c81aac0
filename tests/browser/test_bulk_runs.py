"""A bulk small-balance run in Chromium, written by a real ``db_worker`` process:
preview, exclude two rows, start, watch the bar reach 100%, download the log, and
find the new rows on the accounts' Write-Offs pages."""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import Page, expect

from billing.factories import AccountFactory
from tests.browser.support import htmx_settled
from tests.workers import start_worker
from tests.writeoffs.bulk_support import small_invoice
from writeoffs.models import BulkRun, WriteOff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(live_server):
    """One worker process on the live server's (file-backed) test database."""
    process = start_worker("browser-worker")
    yield process
    process.terminate()
    process.wait(timeout=30)


def test_preview_exclude_two_start_and_watch_a_worker_write_the_run(
    page: Page, live_server, sign_in, clerk, worker, shot, csp_violations, tmp_path
):
    first = AccountFactory(acct_no=6101, name="Small Balances Ltd")
    second = AccountFactory(acct_no=6102, name="Few Cents Inc")
    invoices = [small_invoice(first, 100 + i) for i in range(4)]
    invoices += [small_invoice(second, 300 + i) for i in range(3)]
    small_invoice(second, 900)  # above the 5.00 asked for: never in the run

    sign_in(page, "clerk")
    page.get_by_role("link", name="Bulk write-offs").click()
    page.get_by_role("link", name="New bulk run").click()
    page.get_by_label("Largest balance (USD)").fill("5.00")
    page.get_by_label("Days past the aging date, at least").fill("90")
    page.get_by_label("Reason code").select_option(label="0 · Bad Debt")
    page.get_by_label("Comments").fill("Month-end small balances")
    page.get_by_role("button", name="Preview").click()

    usd = page.get_by_role("row", name=re.compile(r"^USD"))
    expect(usd).to_contain_text("7")
    expect(usd).to_contain_text("13.09")  # 1.00+1.01+1.02+1.03 + 3.00+3.01+3.02
    shot(page, "preview")

    for invoice in (invoices[0], invoices[4]):
        page.get_by_role("button", name=f"Exclude invoice {invoice.invoice_no}").click()
        expect(
            page.get_by_role("button", name=f"Include invoice {invoice.invoice_no}")
        ).to_be_visible()
        htmx_settled(page)
    expect(usd.locator('[data-figure="count"]')).to_have_text("5")
    expect(usd.locator('[data-figure="total"]')).to_have_text("9.09")
    shot(page, "two-excluded")

    page.get_by_role("button", name="Start run…").click()
    popout = page.get_by_role("dialog")
    expect(popout.get_by_role("row", name=re.compile(r"^USD"))).to_contain_text("9.09 USD")
    expect(popout).to_contain_text("Nothing goes pending")
    shot(page, "start-confirm")
    popout.get_by_role("button", name="Start run", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("5 invoice(s) frozen")
    # The worker process writes the run; the fragment polls every 2 seconds.
    expect(page.locator("[data-progress-percent]")).to_have_text("100%", timeout=60_000)
    expect(page.get_by_text("5 written")).to_be_visible()
    expect(page.get_by_text("The run is complete.")).to_be_visible()
    expect(page.locator('[data-run-amounts] [data-figure="written"]')).to_have_text("5 · 9.09 USD")
    bar = page.get_by_role("progressbar", name="Invoices processed")
    expect(bar).to_have_attribute("value", "5")
    shot(page, "complete")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the log (CSV)").click()
    path = tmp_path / "log.csv"
    download.value.save_as(path)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    states = {int(row["invoice_no"]): row["state"] for row in rows}
    assert states == {
        **{invoice.invoice_no: "written" for invoice in invoices},
        invoices[0].invoice_no: "excluded",
        invoices[4].invoice_no: "excluded",
    }

    run = BulkRun.objects.get()
    assert run.status == BulkRun.Status.COMPLETED
    assert WriteOff.objects.filter(bulk_run=run).count() == 5
    for account, written in ((first, invoices[1:4]), (second, invoices[5:])):
        page.goto(f"{live_server.url}/accounts/{account.acct_no}/write-offs/")
        for invoice in written:
            row = page.get_by_role("row", name=re.compile(rf"\b{invoice.invoice_no}\b"))
            expect(row.get_by_role("link", name=f"Bulk run {run.pk}")).to_be_visible()
        expect(page.get_by_role("link", name=f"Bulk run {run.pk}")).to_have_count(len(written))
    shot(page, "writeoffs-page")
    assert csp_violations == []


def test_bulk_run_screens_have_no_serious_accessibility_problems(
    new_context, live_server, clerk, axe
):
    account = AccountFactory(acct_no=6201)
    small_invoice(account, 100)
    page = new_context(bypass_csp=True).new_page()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("clerk")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()
    page.goto(f"{live_server.url}/bulk-runs/new/")
    assert axe(page, "bulk run criteria") == []
    page.get_by_label("Largest balance (USD)").fill("5.00")
    page.get_by_label("Reason code").select_option(label="0 · Bad Debt")
    page.get_by_label("Comments").fill("Clean-up")
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Start run…").wait_for()
    assert axe(page, "bulk run preview") == []
    page.get_by_role("button", name="Start run…").click()
    page.get_by_role("dialog").get_by_role("button", name="Start run", exact=True).wait_for()
    assert axe(page, "bulk run start confirm") == []
    page.get_by_role("dialog").get_by_role("button", name="Start run", exact=True).click()
    page.get_by_role("progressbar", name="Invoices processed").wait_for()
    assert axe(page, "bulk run progress") == []
