"""Issue 15: a clerk's working day. Every error on one submit, a submit button that stays
in view, the balance after the entry, dense tables, columns that fit at 1280 px, cards at
390 px. Screenshots at 1440, 1280 and 390 px go to tests/browser/screenshots/."""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import Page, expect

from billing.factories import InvoiceFactory
from tests.browser.support import htmx_settled
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.lifecycle.reverse import writeoff_reverse

pytestmark = pytest.mark.django_db(transaction=True)

LONG_COMMENT = (
    "Customer called about the October usage charge; agreed a goodwill credit after "
    "checking the meter readings with the field team."
)


@pytest.fixture
def busy_account(account, clerk_actor, supervisor_actor):
    """Thirty write-offs (every fifth reversed) and a few holds, as a real account has."""
    for n in range(30):
        invoice = InvoiceFactory(
            account=account,
            invoice_no=20000 + n,
            total_minor=250000,
            bill_date=datetime.date.today() - datetime.timedelta(days=60),
        )
        writeoff = writeoff_create(
            invoice_id=invoice.pk,
            amount="1234.56",
            reason_code=4 if n % 2 else 2,
            comments=LONG_COMMENT,
            # 1,234.56 is over a clerk's approval limit: a supervisor's stays active.
            actor=supervisor_actor,
        )
        if n % 5 == 0:
            writeoff_reverse(
                writeoff_id=writeoff.pk,
                reason="Entered against the wrong invoice by mistake; re-entered later.",
                actor=supervisor_actor,
            )
        if n % 6 == 0:
            dispute_hold_create(
                invoice_id=invoice.pk, amount="100", comments=LONG_COMMENT, actor=clerk_actor
            )
    return account


def rows_in_view(page: Page) -> int:
    """Body rows of the table whose whole height is inside the viewport."""
    return page.evaluate(
        """() => [...document.querySelectorAll('#tab-panel tbody tr')].filter(row => {
            const box = row.getBoundingClientRect();
            return box.top >= 0 && box.bottom <= window.innerHeight;
        }).length"""
    )


def average_row_height(page: Page) -> float:
    return page.evaluate(
        """() => {
            const rows = [...document.querySelectorAll('#tab-panel tbody tr')];
            const total = rows.reduce((sum, row) => sum + row.getBoundingClientRect().height, 0);
            return total / rows.length;
        }"""
    )


@pytest.mark.parametrize("width", [1280, 1440])
def test_writeoffs_table_shows_at_least_15_rows_per_900px_screen(
    page: Page, live_server, sign_in, supervisor, busy_account, width, shot
):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "supervisor")
    page.goto(f"{live_server.url}/accounts/5001/write-offs/")
    table = page.get_by_role("tabpanel", name="Write-offs").get_by_role("table")
    expect(table).to_be_visible()
    # Scrolled so the table's header sits at the top: what a clerk reading it sees.
    page.evaluate("document.querySelector('#tab-panel table').scrollIntoView()")
    visible = rows_in_view(page)
    height = average_row_height(page)
    print(f"\nrows per 900 px screen at {width}: {visible} (average row {height:.1f} px)")
    shot(page, f"writeoffs-{width}")
    # Every column fits: the last one (the Reverse button) ends inside the table's box.
    frame = page.locator("#tab-panel .table-responsive").bounding_box()
    last = page.locator("#tab-panel thead th").last.bounding_box()
    assert last["x"] + last["width"] <= frame["x"] + frame["width"] + 1, "columns cut"
    assert visible >= 15, f"{visible} rows at {width}x900 (average {height:.1f} px)"


WIDTHS = {"desktop": (1440, 900), "laptop": (1280, 800), "phone": (390, 844)}


def in_viewport(page: Page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return (
        box is not None
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"]
        and box["y"] + box["height"] <= size["height"]
    )


def open_writeoff_entry(page: Page, live_server) -> Page:
    page.goto(f"{live_server.url}/accounts/5001/write-offs/")
    page.get_by_role("link", name="Create a Write-off").click()
    page.get_by_role("dialog", name="Create a Write-off").get_by_role("link", name="10023").click()
    entry = page.get_by_role("dialog", name="Create a Write-off · Invoice 10023")
    expect(entry.get_by_label("Amount (USD)")).to_be_focused()
    return entry


@pytest.mark.parametrize("width, height", [(1280, 800), (1440, 900)])
def test_create_writeoff_button_stays_in_view_in_the_drawer(
    page: Page, live_server, sign_in, clerk, account, invoice, expense_code, width, height, shot
):
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, "clerk")
    entry = open_writeoff_entry(page, live_server)
    # The longest form: the expense code shown too.
    entry.get_by_role("switch", name="Revenue-impacting").uncheck()
    submit = entry.get_by_role("button", name="Create Write-Off")
    expect(submit).to_be_visible()
    assert in_viewport(page, submit), f"Create Write-Off below the fold at {width}x{height}"
    shot(page, f"drawer-{width}")


def test_one_submit_shows_every_error_focuses_the_first_and_links_each(
    page: Page, live_server, sign_in, clerk, account, invoice, expense_code, shot, axe_script
):
    sign_in(page, "clerk")
    entry = open_writeoff_entry(page, live_server)
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    entry.get_by_label("Amount (USD)").fill("45")
    entry.get_by_label("Reason code").select_option(label="0 · Bad Debt")
    entry.get_by_label("Write-off date").fill(tomorrow)
    entry.get_by_role("switch", name="Revenue-impacting").uncheck()
    # No expense code, no comments.
    entry.get_by_role("button", name="Create Write-Off").click()

    summary = entry.get_by_role("alert")
    expect(summary).to_contain_text("Nothing was saved")
    links = summary.get_by_role("link")
    expect(links).to_have_count(3)
    expect(links.nth(0)).to_contain_text(
        "Write-off date: The write-off date cannot be in the future."
    )
    expect(links.nth(1)).to_contain_text("Expense accounting code: Choose an active expense")
    expect(links.nth(2)).to_contain_text("Comments: This field is required.")
    expect(entry.get_by_label("Write-off date")).to_be_focused()
    shot(page, "all-errors-at-once")
    links.nth(2).click()
    expect(entry.get_by_label("Comments")).to_be_focused()
    expect(page.get_by_role("dialog", name=re.compile("Review"))).to_have_count(0)


def test_balance_after_the_entry_updates_as_typed_and_shows_in_the_confirm(
    page: Page, live_server, sign_in, clerk, account, invoice, clerk_actor, shot
):
    dispute_hold_create(invoice_id=invoice.pk, amount="20", comments="Held.", actor=clerk_actor)
    sign_in(page, "clerk")
    entry = open_writeoff_entry(page, live_server)
    live = entry.locator("#entry-remaining")
    entry.get_by_label("Amount (USD)").press_sequentially("45.5")
    expect(live).to_have_text("After this write-off: balance due 74.50, available 54.50.")
    entry.get_by_label("Amount (USD)").fill("150")
    expect(live).to_have_text("That is more than the 100.00 available.")
    # What the server would refuse shows no figure (2,5 was offered as 25.00).
    entry.get_by_label("Amount (USD)").fill("2,5")
    expect(live).to_have_text("Enter an amount such as 1,234.50, with a point for decimals.")
    entry.get_by_label("Amount (USD)").fill("1,045.5")
    expect(live).to_have_text("That is more than the 100.00 available.")
    entry.get_by_label("Amount (USD)").fill("45.50")
    entry.get_by_label("Reason code").select_option(label="1 · Good Will")
    entry.get_by_label("Comments").fill("Goodwill.")
    entry.get_by_role("button", name="Create Write-Off").click()
    popout = page.get_by_role("dialog", name="Review: Create a Write-off")
    expect(popout.get_by_text("74.50 USD")).to_be_visible()  # balance due after
    expect(popout.get_by_text("54.50 USD")).to_be_visible()  # available after
    shot(page, "balance-after-confirm")


def test_dispute_drawer_previews_expiry_only_for_valid_days(
    page: Page, live_server, sign_in, clerk, account, invoice, shot
):
    sign_in(page, "clerk")
    page.goto(f"{live_server.url}/accounts/5001/write-offs/?tab=disputes")
    page.get_by_role("link", name="Create a Dispute Hold").click()
    page.get_by_role("dialog", name="Create a Dispute Hold").get_by_role(
        "link", name="10023"
    ).click()
    entry = page.get_by_role("dialog", name="Create a Dispute Hold · Invoice 10023")
    days = entry.get_by_label("Expire hold days")
    days.fill("200")
    expect(entry.get_by_text("Enter a number of days from 2 to 90.")).to_be_visible()
    expect(entry.get_by_text(re.compile("Expires on"))).to_have_count(0)
    days.fill("45")
    expect(entry.get_by_text(re.compile(r"Expires on .* \(45 days\)"))).to_be_visible()
    entry.get_by_label("Amount (USD)").press_sequentially("20")
    expect(entry.locator("#entry-remaining")).to_have_text(
        "After this hold: balance due 120.00, available 100.00."
    )
    days.fill("200")
    entry.get_by_role("button", name="Create Dispute Hold").click()
    expect(entry.locator("#id_expire_hold_days_error")).to_have_text(
        "Enter a whole number of days from 2 to 90, or leave it empty for the default of 30 days."
    )
    shot(page, "dispute-days-plain-words")


def test_reverse_popout_shows_the_apps_own_error_for_an_empty_reason(
    page: Page, live_server, sign_in, supervisor, account, invoice, clerk_actor
):
    writeoff = writeoff_create(
        invoice_id=invoice.pk, amount="30", reason_code=0, comments="Bad", actor=clerk_actor
    )
    sign_in(page, "supervisor")
    page.goto(f"{live_server.url}/accounts/5001/write-offs/")
    page.get_by_role("link", name=f"Reverse write-off {writeoff.number}").click()
    popout = page.get_by_role("dialog", name=f"Reverse write-off {writeoff.number}?")
    popout.get_by_role("button", name="Reverse write-off").click()
    # Not the browser's bubble (the form is novalidate): the server's message, in the pop-out.
    expect(popout.locator("#id_reason_error")).to_contain_text("This field is required.")


@pytest.mark.parametrize("screen", WIDTHS)
def test_invoice_list_keeps_balance_due_and_status_in_view_and_cards_on_a_phone(
    new_context, live_server, supervisor, busy_account, screen, shot, axe
):
    width, height = WIDTHS[screen]
    page = new_context(bypass_csp=True).new_page()
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("supervisor")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Receivables at a glance").wait_for()

    page.goto(f"{live_server.url}/accounts/5001/invoices/")
    first_row = page.locator("#invoice-results tbody tr").first
    for label in ("Invoice No.", "Bill date", "Due date", "Balance due", "Status"):
        box = first_row.locator(f'td[data-label="{label}"]').bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{label} cut at {width}px"
    nav = page.get_by_role("navigation", name="Account")
    if screen == "phone":
        # A card per row: the label is shown beside each value, the header row is hidden.
        expect(page.locator("#invoice-results thead")).to_have_css("position", "absolute")
        assert (
            first_row.locator('td[data-label="Balance due"]').evaluate(
                "td => getComputedStyle(td, '::before').content"
            )
            == '"Balance due"'
        )
        # The side navigation collapsed to one row of links.
        assert nav.bounding_box()["height"] < 80
    shot(page, f"invoices-{screen}-{width}")
    assert axe(page, f"invoice list at {width}px") == []

    for tab in ("writeoffs", "disputes"):
        page.goto(f"{live_server.url}/accounts/5001/write-offs/?tab={tab}")
        htmx_settled(page)
        if screen != "phone":
            frame = page.locator("#tab-panel .table-responsive").bounding_box()
            last = page.locator("#tab-panel thead th").last.bounding_box()
            assert last["x"] + last["width"] <= frame["x"] + frame["width"] + 1, f"{tab} cut"
        shot(page, f"{tab}-{screen}-{width}")
        assert axe(page, f"{tab} table at {width}px") == []
    page.goto(f"{live_server.url}/accounts/5001/invoices/20001/")
    shot(page, f"invoice-detail-{screen}-{width}")
    assert axe(page, f"invoice detail at {width}px") == []


def test_axe_finds_nothing_serious_in_the_drawers_with_errors(
    new_context, live_server, clerk, account, invoice, expense_code, axe
):
    page = new_context(bypass_csp=True).new_page()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("clerk")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Receivables at a glance").wait_for()
    entry = open_writeoff_entry(page, live_server)
    entry.get_by_role("button", name="Create Write-Off").click()
    expect(entry.get_by_role("alert")).to_be_visible()
    assert axe(page, "write-off drawer, every error at once") == []
    page.goto(f"{live_server.url}/accounts/5001/invoices/10023/")
    page.get_by_role("link", name="Record Payment").click()
    drawer = page.get_by_role("dialog", name="Record Payment")
    drawer.get_by_label("Amount").fill("500")
    drawer.get_by_role("button", name="Record Payment").click()
    expect(drawer.get_by_role("alert")).to_be_visible()
    hint = drawer.locator("#payment-remaining")
    expect(hint).not_to_contain_text("Remaining balance after this payment")
    assert axe(page, "payment drawer with errors") == []
