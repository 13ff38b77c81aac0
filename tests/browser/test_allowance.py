"""The controller's month-end allowance run in Chromium: pick the month, read the
figures, open the confirm pop-out, read the figures it posts, confirm, see it posted."""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import Page, expect

from billing.factories import InvoiceFactory
from billing.rules import today
from tests.browser.support import htmx_settled
from writeoffs.allowance.provision import provision_plan
from writeoffs.models import ProvisionRun

pytestmark = pytest.mark.django_db(transaction=True)


def _month_end() -> datetime.date:
    return today().replace(day=1) - datetime.timedelta(days=1)


@pytest.fixture
def receivable(account):
    """One invoice 1-30 days past due at last month's end."""
    month_end = _month_end()
    return InvoiceFactory(
        account=account,
        invoice_no=20001,
        total_minor=1234_56,
        bill_date=month_end - datetime.timedelta(days=50),
        due_date=month_end - datetime.timedelta(days=20),
    )


def _amount(minor: int) -> str:
    return f"{minor // 100:,}.{minor % 100:02d}"


def _open_the_month(page: Page) -> None:
    page.get_by_role("link", name="Aging").first.click()
    page.get_by_role("navigation", name="Reports and worklists").get_by_role(
        "link", name="Allowance"
    ).click()
    page.get_by_label("Month", exact=True).fill(_month_end().strftime("%Y-%m"))
    page.get_by_role("button", name="Show").click()
    htmx_settled(page)


def _popout(page: Page):
    return page.get_by_role("dialog", name=re.compile(r"^Post the allowance provision dated .*\?$"))


def test_controller_runs_the_month_end_provision(
    page: Page, sign_in, controller, receivable, shot, csp_violations
):
    expected = provision_plan(_month_end()).currencies[0]
    difference = _amount(expected.difference_minor)

    sign_in(page, "controller")
    _open_the_month(page)
    usd = page.get_by_role("region", name="USD")
    expect(usd.get_by_role("row", name="1\u201330")).to_contain_text("1,234.56")
    expect(page.get_by_test_id("difference-USD")).to_contain_text(difference)
    shot(page, "figures")

    page.get_by_role("button", name="Post the provision…").click()
    popout = _popout(page)
    expect(popout).to_be_visible()
    expect(popout.get_by_test_id("confirm-difference-USD")).to_contain_text(difference)
    expect(popout.get_by_test_id("confirm-booked-USD")).to_contain_text("0.00")
    expect(popout.get_by_role("row", name=re.compile("^USD"))).to_contain_text(
        f"Dr bad-debt expense / Cr allowance {difference}"
    )
    confirm = popout.get_by_role("button", name="Confirm: post the provision")
    expect(confirm).to_be_visible()
    assert not ProvisionRun.objects.exists()
    shot(page, "confirm")

    # Cancel closes it and posts nothing; the pop-out opens again.
    popout.get_by_role("button", name="Cancel").click()
    expect(popout).to_be_hidden()
    assert not ProvisionRun.objects.exists()
    page.get_by_role("button", name="Post the provision…").click()
    expect(confirm).to_be_visible()

    confirm.click()
    expect(page.get_by_role("status")).to_contain_text("posted journal entry")
    expect(popout).to_be_hidden()
    run = ProvisionRun.objects.get()
    assert run.posted_minor == expected.difference_minor
    expect(page.get_by_test_id("booked-USD")).to_contain_text(difference)
    expect(page.get_by_test_id("difference-USD")).to_contain_text("0.00")
    expect(page.get_by_role("region", name="Provision runs")).to_contain_text(
        str(run.journal_entry_id)
    )
    shot(page, "posted")
    assert csp_violations == []


def test_axe_finds_no_serious_violations_on_the_provision_pop_out(
    new_context, sign_in, controller, receivable, axe
):
    page = new_context(bypass_csp=True).new_page()  # bypass_csp lets axe be injected
    sign_in(page, "controller")
    _open_the_month(page)
    page.get_by_role("button", name="Post the provision…").click()
    popout = _popout(page)
    expect(popout).to_be_visible()
    # Focus moves in once the fade-in is done (to the first control that is not Cancel).
    expect(popout.get_by_role("button", name="Confirm: post the provision")).to_be_focused()
    assert axe(page, "allowance provision pop-out") == []
    assert not ProvisionRun.objects.exists()
