"""Collections pause: an invoice in an open case is in dispute and left out of bulk runs."""

import pytest

from billing.models import Event, EventType, Invoice
from writeoffs.cases.resolution import case_reject
from writeoffs.selectors import in_dispute, invoice_in_dispute, invoices_in_dispute

pytestmark = pytest.mark.django_db


def test_an_invoice_is_in_dispute_while_its_case_is_open(
    open_case, invoice, second_invoice, supervisor_actor
):
    assert not invoice_in_dispute(invoice)
    case = open_case()
    assert invoice_in_dispute(invoice)
    assert invoices_in_dispute({invoice.pk, second_invoice.pk}) == {invoice.pk, second_invoice.pk}
    assert set(Invoice.objects.filter(in_dispute()).values_list("pk", flat=True)) == {
        invoice.pk,
        second_invoice.pk,
    }
    case_reject(case_id=case.pk, reason="No.", actor=supervisor_actor)
    assert not invoice_in_dispute(invoice)


def test_the_pause_event_names_the_case_and_invoice(open_case, invoice):
    case = open_case()
    event = Event.objects.filter(type=EventType.COLLECTIONS_PAUSED, invoice=invoice).get()
    assert event.payload["object"] == {"kind": "case", "number": case.number}
    assert event.payload["details"]["case_no"] == case.number
    assert event.payload["invoice"]["invoice_no"] == invoice.invoice_no


def test_the_invoice_page_is_told_the_invoice_is_in_dispute(open_case, invoice, rf, clerk):
    from writeoffs.web.billing_pages import invoice_page_context

    request = rf.get("/")
    request.user = clerk
    assert invoice_page_context(request, invoice)["in_dispute"] is False
    open_case()
    assert invoice_page_context(request, invoice)["in_dispute"] is True
