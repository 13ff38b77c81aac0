"""The README's "First five minutes", click by click, on the data `bash .ci/serve` makes.

The ledger is seeded as `.ci/serve` seeds it: `seed_billing --if-empty --demo-users` at
the default sizes (50 accounts of 20 invoices, seed 1), with DEBUG on while it runs, as
the seed demands for demo users. The demo users' password is the one the seed prints on
its `Demo sign-in` line. The steps follow the README's words: each label it names is
found by role and that exact name, so a README and a screen that drift apart fail here.
"""

from __future__ import annotations

import io
import re
import time

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from billing.models import Invoice
from tests.browser.support import htmx_settled
from writeoffs.models import WriteOff

pytestmark = pytest.mark.django_db(transaction=True)

# The README's figures for the demo data.
ACCOUNT = "300001"
INVOICE = "500001"
AVAILABLE = "2,538.99"
AMOUNT = "120.00"  # within the clerk's approval limit (500.00), so it is active at once


@pytest.fixture
def demo(settings) -> str:
    """The demo data and users as `.ci/serve` makes them; returns the printed password."""
    settings.DEBUG = True  # .ci/serve exports DEBUG=1; the seed refuses demo users without it
    out = io.StringIO()
    started = time.perf_counter()
    call_command("seed_billing", "--if-empty", "--demo-users", stdout=out, stderr=io.StringIO())
    seconds = time.perf_counter() - started
    settings.DEBUG = False
    print(f"seed_billing at the default sizes took {seconds:.1f} s")
    assert "Seeded 50 accounts, 1,000 invoices" in out.getvalue()
    line = next(line for line in out.getvalue().splitlines() if line.startswith("Demo sign-in"))
    return line.split("password: ")[1].strip()


def sign_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def test_first_five_minutes_as_the_readme_tells_them(
    page: Page, live_server, demo, shot, csp_violations
):
    # 2. Sign in as clerk; the home page shows the receivables at a glance, with its charts.
    sign_in(page, live_server.url, "clerk", demo)
    expect(page.get_by_role("heading", name="Receivables at a glance")).to_be_visible()
    # Aging today and write-offs by reason, each for USD and for EUR.
    page.wait_for_function(
        "() => document.querySelectorAll('canvas[data-chart-drawn]').length === 4"
    )
    shot(page, "home")

    # "My requests" (a requester's write-offs that went for approval) is in the top bar.
    top_bar = page.get_by_role("navigation", name="Top bar")
    expect(top_bar.get_by_role("link", name="My requests")).to_be_visible()

    # 3. Accounts in the top bar, then account 300001 (the first seeded account): its
    # Account Overview, with Invoices, Payments and Transactions > Write-Offs beside it.
    top_bar.get_by_role("link", name="Accounts").click()
    accounts = page.get_by_role("region", name="Accounts found")
    expect(accounts.get_by_role("row").nth(1)).to_contain_text(ACCOUNT)
    accounts.get_by_role("link", name=ACCOUNT, exact=True).click()
    expect(page.get_by_role("heading", name="Account Overview")).to_be_visible()
    side = page.get_by_role("navigation", name="Account")
    expect(side.get_by_role("link", name="Account Overview")).to_have_attribute(
        "aria-current", "page"
    )
    expect(side.get_by_role("link", name="Invoices", exact=True)).to_be_visible()
    expect(side.get_by_role("link", name="Payments", exact=True)).to_be_visible()
    transactions = side.get_by_role("list", name="Transactions")
    expect(transactions.get_by_role("link", name="Write-Offs")).to_be_visible()
    shot(page, "overview")

    # 4. Write-Offs, then Create a Write-off, and invoice 500001 (2,538.99 USD available).
    transactions.get_by_role("link", name="Write-Offs").click()
    expect(page.get_by_role("tab", name="Write-offs")).to_have_attribute("aria-selected", "true")
    htmx_settled(page)
    page.get_by_role("link", name="Create a Write-off").click()
    picker = page.get_by_role("dialog", name=re.compile("^Create a Write-off$"))
    expect(picker.get_by_role("searchbox", name="Search by invoice number")).to_be_focused()
    picker.get_by_role("link", name=INVOICE, exact=True).click()
    entry = page.get_by_role("dialog", name=f"Create a Write-off · Invoice {INVOICE}")
    amount = entry.get_by_label("Amount (USD)")
    expect(amount).to_be_focused()
    expect(entry.get_by_text(f"Up to {AVAILABLE} USD is available to write off.")).to_be_visible()
    expect(entry.get_by_role("button", name=f"Full balance ({AVAILABLE})")).to_be_visible()
    # No screenshot until the drawer has been re-rendered: Playwright hides the caret by
    # setting, then clearing, each input's inline style, which leaves style="" behind;
    # htmx's settle copies that onto the re-rendered fields, which the CSP blocks.

    # "A submit with mistakes lists every problem at once, at the top of the drawer and
    # next to each field."
    entry.get_by_role("button", name="Create Write-Off").click()
    htmx_settled(page)
    summary = entry.get_by_role("alert").filter(has_text="Nothing was saved")
    for label in ("Amount (USD)", "Reason code", "Comments"):
        expect(
            summary.get_by_role("link", name=re.compile(f"^{re.escape(label)}: "))
        ).to_be_visible()
        expect(entry.get_by_label(label)).to_have_attribute("aria-invalid", "true")
    shot(page, "mistakes")

    # 5. An amount, a reason code and comments; the balance due after it follows the amount.
    after = entry.locator("#entry-remaining")
    amount.fill(AMOUNT)
    expect(after).to_have_text("After this write-off: balance due 2,418.99, available 2,418.99.")
    amount.fill("38.99")
    expect(after).to_have_text("After this write-off: balance due 2,500.00, available 2,500.00.")
    amount.fill(AMOUNT)
    expect(after).to_have_text(re.compile(r"^After this write-off: balance due 2,418\.99"))
    entry.get_by_label("Reason code").select_option(label="1 · Good Will")
    entry.get_by_label("Comments").fill("Goodwill credit, as in the README's first five minutes.")
    entry.get_by_role("button", name="Create Write-Off").click()

    popout = page.get_by_role("dialog", name="Review: Create a Write-off")
    expect(popout.get_by_text(f"{AMOUNT} USD")).to_be_visible()
    expect(popout.get_by_text("1 · Good Will")).to_be_visible()
    shot(page, "review")
    popout.get_by_role("button", name="Create Write-Off").click()

    expect(popout).to_be_hidden()
    expect(entry).to_be_hidden()
    writeoff = WriteOff.objects.get(created_by_label="clerk")
    assert writeoff.status == "active" and writeoff.amount_minor == 12000
    expect(page.get_by_role("status")).to_contain_text(
        f"Write-off {writeoff.number} created on invoice {INVOICE}"
    )
    first_row = page.get_by_role("tabpanel").get_by_role("row").nth(1)
    expect(first_row).to_have_class(re.compile("row-new"))
    expect(first_row).to_contain_text(str(writeoff.number))
    expect(first_row).to_contain_text(INVOICE)
    expect(first_row).to_contain_text(AMOUNT)
    shot(page, "new-row")

    # "... and invoice 500001 shows it."
    first_row.get_by_role("link", name=INVOICE, exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(f"^Invoice {INVOICE}"))).to_be_visible()
    writeoffs = page.get_by_role("region", name="Write-offs")
    mine = writeoffs.get_by_role("row").filter(has_text=str(writeoff.number))
    expect(mine).to_contain_text(AMOUNT)
    expect(mine).to_contain_text("Good Will")
    shot(page, "invoice")
    invoice = Invoice.objects.get(invoice_no=int(INVOICE))
    assert invoice.written_off_minor == 12000
    assert csp_violations == []


def test_the_readme_roles_of_the_demo_users(page: Page, live_server, demo):
    """`controller` moves the lock date, approves, has Reports > Allowance and creates
    nothing; `viewer` only reads; `supervisor` opens /admin/ and may void an invoice."""
    writeoffs_url = f"{live_server.url}/accounts/{ACCOUNT}/write-offs/"
    entry_url = f"{writeoffs_url}new/{INVOICE}/"
    invoice_url = f"{live_server.url}/accounts/{ACCOUNT}/invoices/{INVOICE}/"
    reports = "Reports and worklists"

    sign_in(page, live_server.url, "controller", demo)
    expect(
        page.get_by_role("navigation", name=reports).get_by_role("link", name="Allowance")
    ).to_be_visible()
    page.get_by_role("navigation", name="Top bar").get_by_role("link", name="Lock date").click()
    expect(page).to_have_url(f"{live_server.url}/books/lock-date/")
    expect(page.get_by_label("Close the books through")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Approvals"))).to_be_visible()
    page.goto(writeoffs_url)
    expect(page.get_by_role("tab", name="Write-offs")).to_be_visible()
    expect(page.get_by_role("link", name="Create a Write-off")).to_have_count(0)
    assert page.request.get(entry_url).status == 403
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server.url, "viewer", demo)
    expect(
        page.get_by_role("navigation", name=reports).get_by_role("link", name="Aging")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Allowance")).to_have_count(0)
    expect(page.get_by_role("link", name="Lock date")).to_have_count(0)
    page.goto(invoice_url)
    expect(page.get_by_role("heading", name=re.compile(f"^Invoice {INVOICE}"))).to_be_visible()
    expect(page.get_by_role("link", name="Void invoice")).to_have_count(0)
    page.goto(writeoffs_url)
    expect(page.get_by_role("tab", name="Write-offs")).to_be_visible()
    expect(page.get_by_role("link", name="Create a Write-off")).to_have_count(0)
    assert page.request.get(entry_url).status == 403
    assert page.request.get(f"{live_server.url}/books/lock-date/").status == 403
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live_server.url, "supervisor", demo)
    page.goto(invoice_url)
    expect(page.get_by_role("link", name="Void invoice")).to_be_visible()
    page.goto(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    assert not WriteOff.objects.filter(created_by_label__in=["controller", "viewer"]).exists()


def test_full_balance_above_the_clerks_limit_waits_for_approval(page: Page, live_server, demo):
    """Step 5's other path: **Full balance** is above the clerk's 500.00 limit, so the
    highlighted new row waits for approval, on the table and on the invoice."""
    sign_in(page, live_server.url, "clerk", demo)
    page.goto(f"{live_server.url}/accounts/{ACCOUNT}/write-offs/")
    page.get_by_role("link", name="Create a Write-off").click()
    picker = page.get_by_role("dialog", name=re.compile("^Create a Write-off$"))
    expect(picker.get_by_role("searchbox", name="Search by invoice number")).to_be_focused()
    picker.get_by_role("link", name=INVOICE, exact=True).click()
    entry = page.get_by_role("dialog", name=f"Create a Write-off · Invoice {INVOICE}")
    expect(entry.get_by_label("Amount (USD)")).to_be_focused()
    entry.get_by_role("button", name=f"Full balance ({AVAILABLE})").click()
    expect(entry.get_by_label("Amount (USD)")).to_have_value(AVAILABLE.replace(",", ""))
    entry.get_by_label("Reason code").select_option(label="0 · Bad Debt")
    entry.get_by_label("Comments").fill("Uncollectable; the whole balance.")
    entry.get_by_role("button", name="Create Write-Off").click()
    popout = page.get_by_role("dialog", name="Review: Create a Write-off")
    expect(popout.get_by_text(f"{AVAILABLE} USD").first).to_be_visible()
    popout.get_by_role("button", name="Create Write-Off").click()

    expect(popout).to_be_hidden()
    first_row = page.get_by_role("tabpanel").get_by_role("row").nth(1)
    expect(first_row).to_have_class(re.compile("row-new"))
    expect(first_row).to_contain_text(AVAILABLE)
    expect(first_row).to_contain_text("Pending approval")
    first_row.get_by_role("link", name=INVOICE, exact=True).click()
    writeoffs = page.get_by_role("region", name="Write-offs")
    expect(writeoffs.get_by_role("row").filter(has_text=AVAILABLE)).to_contain_text(
        "Pending approval"
    )
    assert WriteOff.objects.get(created_by_label="clerk").status == "pending"
