"""The home page and the reports in real Chromium: the charts draw (a Chart.js chart
on each canvas), nothing is logged as an error or blocked by the CSP, a drill-down
from an aging cell lands on that cell's invoices, a settlement from the worklist
goes through the Write-Offs page's pop-out, and axe finds nothing serious.
Screenshots of each report go to tests/browser/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import htmx_settled
from tests.browser.test_csp import REPORT_VIOLATIONS
from tests.writeoffs.reports_fixture import build_report_ledger
from writeoffs.models import DisputeHold

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def watched(page: Page) -> tuple[Page, list[str]]:
    """The page, and every console error (CSP violations included) it logs."""
    errors: list[str] = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


@pytest.fixture
def ledger(clerk, supervisor, settings):
    return build_report_ledger(clerk, supervisor, settings)


def drawn_charts(page: Page) -> int:
    """Canvases on which Chart.js has drawn a chart of non-zero size."""
    return page.evaluate(
        """() => [...document.querySelectorAll("canvas[data-chart]")].filter(c => {
            const chart = Chart.getChart(c);
            return chart && c.width > 0 && c.height > 0 && chart.data.datasets.length > 0;
        }).length"""
    )


def test_home_charts_render_without_console_errors_or_csp_violations(
    watched, live_server, sign_in, ledger, shot, viewer
):
    page, errors = watched
    sign_in(page, "supervisor")
    expect(page.get_by_role("heading", name="Receivables at a glance")).to_be_visible()
    expect(page.locator("canvas[data-chart]")).to_have_count(4)  # aging and write-offs, USD and EUR
    page.wait_for_function(
        "() => document.querySelectorAll('canvas[data-chart-drawn]').length === 4"
    )
    assert drawn_charts(page) == 4
    expect(page.get_by_text(re.compile("Aging today")).first).to_be_visible()
    shot(page, "home")
    assert errors == []


def test_a_drill_down_from_an_aging_cell_lands_on_its_invoices(
    watched, live_server, sign_in, ledger, shot, viewer
):
    page, errors = watched
    sign_in(page, "viewer")
    page.get_by_role("navigation", name="Top bar").get_by_role("link", name="Aging").click()
    expect(page.get_by_role("heading", name="Aging", exact=True)).to_be_visible()
    expect(page.get_by_text("Agrees")).to_have_count(2)
    assert drawn_charts(page) == 2
    shot(page, "aging")

    # Acme's 61-90 cell: invoice 10001 only.
    accounts = page.get_by_role("region", name="Per account")
    acme = accounts.get_by_role("row", name=re.compile("5001"))
    acme.get_by_role("link", name="70.00").click()
    expect(
        page.get_by_role("heading", name=re.compile("Aging: 61\u201390, USD, account 5001"))
    ).to_be_visible()
    invoices = page.get_by_role("region", name=re.compile("Invoices in"))
    expect(invoices.get_by_role("row")).to_have_count(2)  # the header and 10001
    expect(invoices.get_by_role("link", name="10001")).to_be_visible()
    shot(page, "aging-drill-down")

    # Back, then an earlier date through the form (htmx swaps the report).
    page.get_by_role("link", name=re.compile("Back to the aging report")).click()
    page.get_by_role("textbox", name="As of").fill((ledger.today - 10 * ledger_day()).isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("region", name=re.compile("Aging as of"))).to_contain_text("175.00")
    page.wait_for_function(
        "() => document.querySelectorAll('canvas[data-chart-drawn]').length === 2"
    )
    assert drawn_charts(page) == 2
    assert errors == []


def ledger_day():
    import datetime

    return datetime.timedelta(days=1)


def test_writeoff_analysis_draws_its_stacked_chart_beside_the_table(
    watched, live_server, sign_in, ledger, shot, viewer
):
    page, errors = watched
    sign_in(page, "viewer")
    page.goto(f"{live_server.url}/reports/write-offs/")
    expect(page.get_by_role("heading", name="Write-off analysis")).to_be_visible()
    page.wait_for_function(
        "() => document.querySelectorAll('canvas[data-chart-drawn]').length === 2"
    )
    assert drawn_charts(page) == 2
    stacked = page.evaluate(
        "() => Chart.getChart(document.querySelector('canvas[data-chart]'))"
        ".options.scales.x.stacked"
    )
    assert stacked is True
    shot(page, "writeoff-analysis")
    assert errors == []


def test_worklist_settles_a_hold_through_the_writeoffs_pop_out(
    watched, live_server, sign_in, ledger, shot, viewer
):
    page, errors = watched
    sign_in(page, "supervisor")
    page.get_by_role("navigation", name="Top bar").get_by_role(
        "link", name="Disputes worklist"
    ).click()
    worklist = page.get_by_role("region", name="Open dispute holds")
    expect(worklist.get_by_text("Disputed")).to_be_visible()
    shot(page, "disputes-worklist")

    hold = DisputeHold.objects.get(status="open")
    worklist.get_by_role("link", name=f"Release dispute hold {hold.pk}").click()
    popout = page.get_by_role("dialog")
    expect(popout).to_be_visible()
    popout.get_by_role("button", name=re.compile("Release")).click()
    expect(popout).to_be_hidden()
    htmx_settled(page)
    expect(worklist.get_by_text("No open dispute hold right now.")).to_be_visible()
    assert DisputeHold.objects.get(pk=hold.pk).status == "released"

    worklist.get_by_role("link", name="Expired").click()
    htmx_settled(page)
    expect(page).to_have_url(re.compile(r"view=expired"))
    assert errors == []


def test_axe_finds_nothing_serious_on_the_reports(new_context, live_server, ledger, axe):
    page = new_context(bypass_csp=True).new_page()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("supervisor")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Receivables at a glance").wait_for()
    assert axe(page, "home") == []
    screens = {
        "aging": "/reports/aging/",
        "aging drill-down": "/reports/aging/invoices/?currency=USD&column=current",
        "write-off analysis": "/reports/write-offs/",
        "disputes worklist": "/worklists/disputes/",
    }
    for screen, path in screens.items():
        page.goto(f"{live_server.url}{path}")
        page.get_by_role("heading", level=1).first.wait_for()
        assert axe(page, screen) == [], screen
