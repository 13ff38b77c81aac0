"""The credit note's print-ready page (writeoffs/web/credit_notes.py), and where the
notes show: the invoice page and the Write-Offs table."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.reverse import writeoff_reverse

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def writeoff(account, supervisor_actor):
    invoice = InvoiceFactory(account=account, invoice_no=60001, total_minor=12000, tax_minor=2000)
    return writeoff_create(
        invoice_id=invoice.pk,
        amount="60.00",
        reason_code=1,
        comments="Goodwill for the outage.",
        actor=supervisor_actor,
    )


def note_url(writeoff, acct_no: int = 5001) -> str:
    return reverse(
        "credit_note_detail", kwargs={"acct_no": acct_no, "credit_note_no": writeoff.credit_note_no}
    )


def test_the_page_shows_customer_invoice_lines_net_tax_gross_reason_and_date(
    client, viewer, writeoff
):
    client.force_login(viewer)
    response = client.get(note_url(writeoff))

    assert response.status_code == 200
    text = response.content.decode()
    assert f"Credit note {writeoff.credit_note_no}" in text
    assert "Acme Corp" in text and "Account 5001" in text
    assert "60001" in text
    assert "Standard rate 20%" in text
    for amount in ("50.00", "10.00", "60.00"):
        assert amount in text
    assert "Good Will: Goodwill for the outage." in text
    assert "<html" in text
    assert "HX-Request" in response["Vary"]


def test_an_htmx_request_gets_the_document_partial_only(client, viewer, writeoff):
    client.force_login(viewer)
    response = client.get(note_url(writeoff), **HTMX)

    text = response.content.decode()
    assert "<html" not in text
    assert 'class="card card-body shadow-sm credit-note"' in text
    assert "HX-Request" in response["Vary"]


def test_a_cancelled_note_says_so(client, viewer, writeoff, supervisor_actor):
    writeoff_reverse(writeoff_id=writeoff.pk, reason="Wrong invoice.", actor=supervisor_actor)
    client.force_login(viewer)

    assert "Cancelled" in client.get(note_url(writeoff)).content.decode()


def test_anonymous_is_sent_to_sign_in(client, writeoff):
    response = client.get(note_url(writeoff))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_user_without_the_view_permission_gets_403(client, writeoff):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(note_url(writeoff)).status_code == 403


def test_post_is_not_allowed(client, viewer, writeoff):
    client.force_login(viewer)
    assert client.post(note_url(writeoff)).status_code == 405


def test_another_accounts_note_is_404(client, viewer, writeoff):
    AccountFactory(acct_no=5002)
    client.force_login(viewer)
    assert client.get(note_url(writeoff, acct_no=5002)).status_code == 404


def test_the_invoice_page_lists_its_credit_notes_and_its_net_and_tax(client, viewer, writeoff):
    client.force_login(viewer)
    response = client.get(reverse("invoice_detail", kwargs={"acct_no": 5001, "invoice_no": 60001}))

    text = response.content.decode()
    assert "Credit notes" in text
    assert writeoff.credit_note_no in text
    assert note_url(writeoff) in text
    assert "Net" in text and "100.00 USD" in text and "20.00 USD" in text


def test_the_writeoffs_table_links_each_row_to_its_credit_note(client, viewer, writeoff):
    client.force_login(viewer)
    response = client.get(reverse("writeoff_page", kwargs={"acct_no": 5001}))

    assert note_url(writeoff) in response.content.decode()
