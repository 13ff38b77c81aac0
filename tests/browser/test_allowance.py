"""The controller's month-end allowance run in Chromium: pick the month, read the
figures, confirm, see it posted."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import Page, expect

from billing.factories import InvoiceFactory
from billing.rules import today
from writeoffs.allowance.provision import provision_plan
from writeoffs.models import ProvisionRun

pytestmark = pytest.mark.django_db(transaction=True)


def test_controller_runs_the_month_end_provision(page: Page, sign_in, controller, account, shot):
    month_end = today().replace(day=1) - datetime.timedelta(days=1)
    InvoiceFactory(
        account=account,
        invoice_no=20001,
        total_minor=1234_56,
        bill_date=month_end - datetime.timedelta(days=50),
        due_date=month_end - datetime.timedelta(days=20),
    )
    expected = provision_plan(month_end).currencies[0]

    sign_in(page, "controller")
    page.get_by_role("link", name="Aging").first.click()
    page.get_by_role("navigation", name="Reports and worklists").get_by_role(
        "link", name="Allowance"
    ).click()
    page.get_by_label("Month", exact=True).fill(month_end.strftime("%Y-%m"))
    page.get_by_role("button", name="Show").click()
    usd = page.get_by_role("region", name="USD")
    expect(usd.get_by_role("row", name="1\u201330")).to_contain_text("1,234.56")
    expect(page.get_by_test_id("difference-USD")).to_contain_text(
        f"{expected.difference_minor // 100:,}.{expected.difference_minor % 100:02d}"
    )
    shot(page, "figures")

    page.get_by_role("button", name="Post the provision…").click()
    confirm = page.get_by_role("button", name="Confirm: post the provision")
    expect(confirm).to_be_visible()
    assert not ProvisionRun.objects.exists()
    shot(page, "confirm")
    confirm.click()
    expect(page.get_by_role("status")).to_contain_text("posted journal entry")
    run = ProvisionRun.objects.get()
    assert run.posted_minor == expected.difference_minor
    expect(page.get_by_test_id("booked-USD")).to_contain_text(
        f"{expected.difference_minor // 100:,}.{expected.difference_minor % 100:02d}"
    )
    expect(page.get_by_test_id("difference-USD")).to_contain_text("0.00")
    shot(page, "posted")
