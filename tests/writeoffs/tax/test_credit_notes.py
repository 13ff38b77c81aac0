"""Credit notes (writeoffs/tax/credit_notes.py): every active revenue-impacting
write-off and conversion issues one, numbered gap-free per year; reversing the
write-off cancels it and its number is never reused."""

from __future__ import annotations

import pytest

from billing.factories import InvoiceFactory
from billing.rules import today
from writeoffs.approvals.decisions import writeoff_approve
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import CreditNote

pytestmark = pytest.mark.django_db


@pytest.fixture
def taxed_invoice(account):
    return InvoiceFactory(account=account, invoice_no=40001, total_minor=12000, tax_minor=2000)


def goodwill(invoice, actor, amount="60.00"):
    return writeoff_create(
        invoice_id=invoice.pk, amount=amount, reason_code=1, comments="Goodwill.", actor=actor
    )


def test_a_revenue_impacting_writeoff_issues_a_numbered_note_with_net_tax_and_gross(
    taxed_invoice, supervisor_actor
):
    writeoff = goodwill(taxed_invoice, supervisor_actor)

    note = CreditNote.objects.get(writeoff=writeoff)
    assert note.number == f"CN-{today().year}-000001"
    assert (note.net_minor, note.tax_minor, note.gross_minor) == (5000, 1000, 6000)
    assert note.invoice == taxed_invoice
    assert note.account_id == taxed_invoice.account_id
    assert note.issued_on == writeoff.writeoff_date
    assert note.reason == "Good Will"
    assert [(line.description, line.net_minor, line.tax_minor) for line in note.lines.all()] == [
        ("Subscription", 5000, 1000)
    ]
    assert note.lines.get().tax_rate.code == "STD20"


def test_numbers_follow_one_another_within_the_year(taxed_invoice, supervisor_actor):
    first = goodwill(taxed_invoice, supervisor_actor, "10.00")
    second = goodwill(taxed_invoice, supervisor_actor, "10.00")

    assert first.credit_note.sequence + 1 == second.credit_note.sequence
    assert second.credit_note.number.endswith("000002")


def test_a_bad_debt_writeoff_issues_no_note(taxed_invoice, supervisor_actor, expense_code):
    writeoff = writeoff_create(
        invoice_id=taxed_invoice.pk,
        amount="60.00",
        reason_code=0,
        comments="Bankrupt.",
        revenue_impacting=False,
        accounting_code_id=expense_code.pk,
        actor=supervisor_actor,
    )
    assert not CreditNote.objects.filter(writeoff=writeoff).exists()


def test_a_pending_writeoff_issues_no_note_until_it_is_approved(
    account, clerk_actor, supervisor_actor
):
    invoice = InvoiceFactory(account=account, invoice_no=40002, total_minor=100000)
    # Over the clerk's 500.00 limit: pending, nothing posted, no note.
    writeoff = goodwill(invoice, clerk_actor, amount="900.00")
    assert writeoff.status == "pending"
    assert not CreditNote.objects.exists()

    writeoff_approve(writeoff_id=writeoff.pk, actor=supervisor_actor)

    note = CreditNote.objects.get(writeoff=writeoff)
    assert (note.gross_minor, note.issued_on) == (90000, writeoff.writeoff_date)


def test_reversing_cancels_the_note_and_its_number_is_never_reused(taxed_invoice, supervisor_actor):
    writeoff = goodwill(taxed_invoice, supervisor_actor, "10.00")
    writeoff_reverse(writeoff_id=writeoff.pk, reason="Entered in error.", actor=supervisor_actor)
    again = goodwill(taxed_invoice, supervisor_actor, "10.00")

    cancelled = CreditNote.objects.get(writeoff=writeoff)
    assert cancelled.status == CreditNote.Status.CANCELLED
    assert cancelled.cancelled_at is not None
    assert again.credit_note.sequence == cancelled.sequence + 1


def test_a_revenue_impacting_conversion_issues_a_note(taxed_invoice, supervisor_actor):
    hold = dispute_hold_create(
        invoice_id=taxed_invoice.pk, amount="30.00", comments="Disputed.", actor=supervisor_actor
    )
    dispute_hold_settle(
        dispute_hold_id=hold.pk, action="convert", reason_code=1, actor=supervisor_actor
    )

    note = CreditNote.objects.get(writeoff__origin_dispute=hold)
    assert (note.net_minor, note.tax_minor) == (2500, 500)


def test_an_untaxed_invoices_note_is_all_net(invoice, supervisor_actor):
    writeoff = goodwill(invoice, supervisor_actor, "12.34")
    assert (writeoff.credit_note.net_minor, writeoff.credit_note.tax_minor) == (1234, 0)
