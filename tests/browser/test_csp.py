"""The Content-Security-Policy in real Chromium: nothing on any page is blocked.

Chromium reports every blocked script, style or attribute as a
``securitypolicyviolation`` event and on the console; both are collected, on
every page of the app, the admin, and through the whole write-off flow.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from billing.factories import UserFactory
from tests.browser.support import htmx_settled
from tests.test_permissions_matrix import EXPECTED, ROLES, SU, make_ledgers, project_routes, url_for
from writeoffs.models import DisputeHold, WriteOff

pytestmark = pytest.mark.django_db(transaction=True)

# Runs before any page script, in every document: the event also catches what a
# console filter could miss (a violation in a frame, a report-only style).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(
    `Content Security Policy violation: ${event.violatedDirective} blocked ` +
    `${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


@pytest.fixture
def watched(page: Page, csp_violations) -> tuple[Page, list[str]]:
    page.add_init_script(REPORT_VIOLATIONS)
    return page, csp_violations


def test_a_blocked_inline_style_is_seen_so_an_empty_list_means_something(
    watched, live_server, sign_in, clerk
):
    page, violations = watched
    sign_in(page, "clerk")
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.evaluate("() => new Promise(requestAnimationFrame)")
    expect(page.locator("body")).to_be_visible()
    page.wait_for_timeout(200)
    assert any("style-src" in text for text in violations), violations


def test_full_writeoff_and_dispute_flow_has_no_csp_violations(
    watched, live_server, sign_in, clerk, account, invoice, expense_code, shot
):
    page, violations = watched
    sign_in(page, "clerk")
    # Signing in lands on the home page; the accounts list is one click away.
    page.get_by_role("navigation", name="Top bar").get_by_role("link", name="Accounts").click()
    page.get_by_role("link", name="5001", exact=True).click()
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Write-Offs").click()

    page.get_by_role("link", name="Create a Write-off").click()
    page.get_by_role("dialog", name="Create a Write-off").get_by_role("link", name="10023").click()
    entry = page.get_by_role("dialog", name=re.compile("Invoice 10023"))
    entry.get_by_label("Amount (USD)").fill("500")  # over the balance: an error in the drawer
    entry.get_by_label("Reason code").select_option(label="0 · Bad Debt")
    entry.get_by_label("Comments").fill("Uncollectable.")
    entry.get_by_role("button", name="Create Write-Off").click()
    expect(entry.locator("#id_amount_error")).to_contain_text("is more than the balance due")
    entry.get_by_role("button", name="Full balance").click()
    expect(entry.get_by_label("Amount (USD)")).to_have_value("120.00")
    entry.get_by_label("Amount (USD)").fill("20")
    entry.get_by_label("Revenue-impacting").uncheck()
    entry.get_by_label("Accounting code").select_option(index=1)
    entry.get_by_role("button", name="Create Write-Off").click()
    popout = page.get_by_role("dialog", name="Review: Create a Write-off")
    popout.get_by_role("button", name="Cancel").click()
    entry.get_by_role("button", name="Create Write-Off").click()
    popout.get_by_role("button", name="Create Write-Off").click()
    expect(popout).to_be_hidden()
    expect(page.get_by_role("status")).to_contain_text("created on invoice 10023")
    shot(page, "csp-writeoff-created")
    htmx_settled(page)  # the table refresh that ledgerChanged triggered

    page.get_by_role("tab", name="Disputes").click()
    expect(page.get_by_role("tab", name="Disputes")).to_have_attribute("aria-selected", "true")
    htmx_settled(page)
    page.get_by_role("link", name="Create a Dispute Hold").click()
    picker = page.get_by_role("dialog", name="Create a Dispute Hold")
    expect(picker).to_be_visible()
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    page.get_by_role("link", name="Create a Dispute Hold").click()
    page.get_by_role("dialog", name="Create a Dispute Hold").get_by_role(
        "link", name="10023"
    ).click()
    entry = page.get_by_role("dialog", name=re.compile("Invoice 10023"))
    # As a user sees it: the drawer has settled and focused its first field.
    expect(entry.get_by_label("Amount (USD)")).to_be_focused()
    entry.get_by_label("Expire hold days").fill("45")
    expect(entry.get_by_text(re.compile(r"Expires on .* \(45 days\)"))).to_be_visible()
    entry.get_by_role("button", name="Full balance").click()  # an empty amount is refused
    entry.get_by_label("Comments").fill("Disputed.")
    entry.get_by_role("button", name="Create Dispute Hold").click()
    popout = page.get_by_role("dialog", name="Review: Create a Dispute Hold")
    popout.get_by_role("button", name="Create Dispute Hold").click()
    expect(popout).to_be_hidden()
    expect(page.get_by_role("status")).to_contain_text("Dispute hold")
    shot(page, "csp-dispute-created")

    assert WriteOff.objects.get().amount_minor == 2000
    assert DisputeHold.objects.get().amount_minor == 10000
    assert violations == []


# Routes that answer with a file (Content-Disposition: attachment) at a URL that does
# not end in .csv: the browser downloads them instead of showing a page.
DOWNLOADS = {"case_attachment_download", "report_job_download"}


def test_every_page_and_the_admin_load_without_csp_violations(watched, live_server, sign_in, db):
    page, violations = watched
    users = {SU: UserFactory(username="csp-root", is_superuser=True, is_staff=True)}
    from billing.roles import SUPERVISOR

    users["supervisor"] = UserFactory(username="m-supervisor", groups=[SUPERVISOR])
    own, _ = make_ledgers(users)
    sign_in(page, "csp-root")
    visited = []
    for route in project_routes():
        expect_row = EXPECTED[route.name]
        if expect_row.api or expect_row.get[ROLES.index(SU)] != 200:
            continue
        url = url_for(route, own)
        if url.endswith(".csv") or route.name in DOWNLOADS:
            continue  # a download, not a page
        page.goto(f"{live_server.url}{url}")
        visited.append(url)
    for url in (
        "/admin/",
        "/admin/writeoffs/writeoff/",
        f"/admin/writeoffs/writeoff/{own.writeoff_id}/change/",
        f"/admin/writeoffs/writeoff/{own.writeoff_id}/history/",
        "/admin/writeoffs/disputehold/",
        f"/admin/writeoffs/disputehold/{own.dispute_hold_id}/change/",
        "/admin/billing/invoice/",
        "/admin/billing/payment/",
        "/admin/auth/user/add/",
    ):
        page.goto(f"{live_server.url}{url}")
        expect(page.locator("#content")).to_be_visible()
        visited.append(url)
    # Admin's own JavaScript runs: the changelist's select-all checkbox works.
    page.goto(f"{live_server.url}/admin/writeoffs/writeoff/")
    page.locator("#action-toggle").check()
    expect(page.locator("input.action-select").first).to_be_checked()
    assert len(visited) >= 15
    assert violations == []


def test_an_expired_form_and_the_favicon_raise_no_csp_error_or_404(
    watched, live_server, sign_in, clerk
):
    """A form sent after its CSRF cookie is gone (signed out in another tab, a restart
    of the browser) gets the app's page; Django's own has a <style> the CSP blocks.
    And the icon the page links to is there (headless Chromium does not fetch it)."""
    page, violations = watched
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    sign_in(page, "clerk")
    page.goto(f"{live_server.url}/accounts/")
    icon = page.evaluate(
        """async () => {
          const href = document.querySelector('link[rel="icon"]').href;
          const answer = await fetch(href);
          return [new URL(href).pathname, answer.status, answer.headers.get("content-type")];
        }"""
    )
    assert icon[:2] == ["/favicon.ico", 200] and "icon" in icon[2]

    page.context.clear_cookies(name="csrftoken")
    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    page.wait_for_timeout(200)
    assert violations == []
    assert [url for url in failed if not url.endswith("/logout/")] == []
