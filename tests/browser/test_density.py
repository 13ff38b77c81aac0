"""Issue 15: tables a clerk reads all day. Rows per 900 px screen, columns that fit
at 1280 px, and a card layout at 390 px."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import Page, expect

from billing.factories import InvoiceFactory
from writeoffs.services import dispute_hold_create, writeoff_create, writeoff_reverse

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
            actor=clerk_actor,
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
    assert visible >= 15, f"{visible} rows at {width}x900 (average {height:.1f} px)"
