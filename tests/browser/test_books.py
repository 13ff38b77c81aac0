"""The books in Chromium: the Finance controller closes a period, a clerk's back-dated
write-off is refused beside its date field, the trial balance shows and the journal
export downloads."""

from __future__ import annotations

import csv
import datetime
import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from django.utils.formats import date_format
from playwright.sync_api import Page, expect

from billing.ledger.periods import lock_date
from tests.browser.support import htmx_settled
from writeoffs.models import WriteOff

pytestmark = pytest.mark.django_db(transaction=True)


def test_controller_closes_the_books_and_a_back_dated_writeoff_is_refused(
    page: Page, live_server, sign_in, controller, clerk, supervisor, account, invoice, shot
):
    today = timezone.localdate()
    locked = today - datetime.timedelta(days=10)

    sign_in(page, "controller")
    page.get_by_role("link", name="Lock date").click()
    page.get_by_label("Close the books through").fill(locked.isoformat())
    page.get_by_label("Reason").fill("October closed after review.")
    page.get_by_role("button", name="Close the books").click()
    confirm = page.get_by_role("button", name="Confirm: close the books")
    expect(confirm).to_be_visible()
    shot(page, "confirm")
    assert lock_date() is None
    confirm.click()
    expect(page.get_by_role("status")).to_contain_text(f"closed through {date_format(locked)}")
    expect(page.get_by_text("October closed after review.")).to_be_visible()
    assert lock_date() == locked
    shot(page, "closed")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "clerk")
    page.goto(f"{live_server.url}/accounts/{account.acct_no}/write-offs/")
    page.get_by_role("link", name="Create a Write-off").click()
    page.get_by_role("dialog", name=re.compile("^Create a Write-off$")).get_by_role(
        "link", name="10023"
    ).click()
    entry = page.get_by_role("dialog", name=re.compile("Create a Write-off · Invoice 10023"))
    expect(entry.get_by_label("Amount (USD)")).to_be_focused()
    entry.get_by_label("Amount (USD)").fill("10.00")
    entry.get_by_label("Reason code").select_option(label="0 · Bad Debt")
    entry.get_by_label("Write-off date").fill((today - datetime.timedelta(days=20)).isoformat())
    entry.get_by_label("Comments").fill("Back-dated into the closed month.")
    entry.get_by_role("button", name="Create Write-Off").click()
    htmx_settled(page)
    date_field = entry.get_by_label("Write-off date")
    expect(date_field).to_have_attribute("aria-invalid", "true")
    # The message sits in the date field's own group, under the input.
    date_group = date_field.locator("xpath=..")
    expect(date_group).to_contain_text(f"The books are closed through {date_format(locked)}")
    expect(entry.get_by_label("Amount (USD)")).not_to_have_attribute("aria-invalid", "true")
    shot(page, "refused")
    assert not WriteOff.objects.exists()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "supervisor")
    page.get_by_role("link", name="Trial balance").click()
    page.get_by_label("From").fill((today - datetime.timedelta(days=60)).isoformat())
    page.get_by_label("Through").fill(today.isoformat())
    page.get_by_role("button", name="Show").click()
    htmx_settled(page)
    table = page.get_by_role("table", name=re.compile("through"))
    expect(
        table.get_by_role("row", name=re.compile("1200 Accounts receivable control"))
    ).to_contain_text("120.00")
    expect(table.get_by_text("Debits = credits")).to_be_visible()
    shot(page, "trial-balance")

    page.get_by_role("link", name="Journal export").first.click()
    page.get_by_label("From date").fill((today - datetime.timedelta(days=60)).isoformat())
    page.get_by_label("Through date").fill(today.isoformat())
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    download = download_info.value
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0][:3] == ["Date", "Entry number", "Code"]
    assert [row[2] for row in rows[1:]] == ["1200", "4000"]
    assert download.suggested_filename.startswith("journal-")

    call_command("verify_ledger", stdout=io.StringIO())
