"""The entry drawer and the review pop-out show the net and tax parts of a write-off
on a taxed invoice (templates/writeoffs/page.html, writeoffs/tax/parts.py)."""

from __future__ import annotations

import pytest

from billing.factories import InvoiceFactory
from tests.writeoffs.test_views import HTMX, step_url, writeoff_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def taxed_invoice(account):
    return InvoiceFactory(account=account, invoice_no=10023, total_minor=12000, tax_minor=2000)


def test_the_entry_drawer_shows_the_invoices_net_and_tax(client, clerk, taxed_invoice):
    client.force_login(clerk)
    text = client.get(step_url("writeoff", "entry", invoice_no=10023), **HTMX).content.decode()

    assert "of which net" in text and "100.00" in text
    assert "of which tax" in text and "20.00" in text
    assert "split between net and tax in the same proportion" in text


def test_the_review_shows_the_net_and_tax_parts_of_a_revenue_impacting_writeoff(
    client, clerk, taxed_invoice
):
    client.force_login(clerk)
    review = client.post(
        step_url("writeoff", "entry", invoice_no=10023), writeoff_input(amount="60.00"), **HTMX
    ).content.decode()

    assert "Of which net" in review and "50.00 USD" in review
    assert "Of which tax" in review and "10.00 USD" in review
    assert "Taken off tax payable." in review


def test_the_review_of_a_bad_debt_says_its_tax_waits_for_relief(
    client, clerk, taxed_invoice, expense_code
):
    client.force_login(clerk)
    data = writeoff_input(amount="60.00", reason_code="0", accounting_code=str(expense_code.pk))
    del data["revenue_impacting"]
    review = client.post(
        step_url("writeoff", "entry", invoice_no=10023), data, **HTMX
    ).content.decode()

    assert "10.00 USD" in review
    assert "Held as tax relief pending until" in review


def test_an_untaxed_invoices_review_shows_no_split(client, clerk, invoice):
    client.force_login(clerk)
    review = client.post(
        step_url("writeoff", "entry", invoice_no=10023), writeoff_input(), **HTMX
    ).content.decode()

    assert "Of which tax" not in review
