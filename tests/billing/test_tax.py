"""Tax rates, taxed invoice lines (invoice_line_add), and the split of an amount
between nets and taxes (billing/ledger/tax.py)."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from billing.actors import Actor
from billing.errors import INVALID_AMOUNT, INVALID_INPUT, MISSING_INPUT, BillingError
from billing.factories import InvoiceFactory
from billing.ledger.tax import LinePart, add_months, shares, split
from billing.models import AccountingCode, Invoice, InvoiceLine, JournalEntry, TaxRate
from billing.receivables.invoices import invoice_line_add, invoice_send

pytestmark = pytest.mark.django_db


def test_the_migration_starts_with_std20_payable_to_2200_and_the_pending_code_2210():
    rate = TaxRate.objects.get(code="STD20")
    assert rate.name == "Standard rate 20%"
    assert rate.rate == 20
    assert rate.payable_code.code == settings.TAX_PAYABLE_CODE == "2200"
    assert rate.payable_code.name == "Output tax payable"
    assert rate.relief_after_months == 6
    pending = AccountingCode.objects.get(code=settings.TAX_RELIEF_PENDING_CODE)
    assert (pending.code, pending.name) == ("2210", "Tax relief pending")


def test_a_rate_of_100_percent_or_more_is_refused_by_the_database():
    payable = AccountingCode.objects.get(code="2200")
    with pytest.raises(IntegrityError), transaction.atomic():
        TaxRate.objects.create(code="BAD", name="Bad", rate=100, payable_code=payable)


def test_shares_add_up_exactly_with_the_remainder_on_the_largest_weight():
    assert shares(7, [10000, 2000]) == [6, 1]
    assert shares(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(shares(99_999, [3, 7, 11, 13])) == 99_999


def test_an_untaxed_invoice_splits_into_net_only():
    assert split(500, [LinePart(1000, 0, None, 0)], relief_pending=False) == (500, ())


def test_a_pending_split_puts_every_tax_part_on_the_pending_code():
    parts = [LinePart(10000, 2000, 1, 6), LinePart(5000, 500, 2, 6)]
    pending = AccountingCode.objects.get(code="2210").pk
    result = split(8750, parts, relief_pending=True)
    assert result.net_minor + result.tax_minor == 8750
    assert [part.accounting_code_id for part in result.tax] == [pending]


def test_add_months_keeps_the_day_or_takes_the_last_of_a_shorter_month():
    assert add_months(datetime.date(2026, 1, 15), 6) == datetime.date(2026, 7, 15)
    assert add_months(datetime.date(2026, 8, 31), 6) == datetime.date(2027, 2, 28)
    assert add_months(datetime.date(2026, 12, 1), 1) == datetime.date(2027, 1, 1)


@pytest.fixture
def draft(account):
    return InvoiceFactory(account=account, invoice_no=30001, total_minor=0, status="draft")


def test_a_taxed_line_adds_net_plus_tax_to_the_total_and_posts_when_sent(draft):
    system = Actor.for_system()
    invoice_line_add(
        invoice_id=draft.pk,
        description="Seats",
        amount="100.00",
        tax_code="STD20",
        tax_amount="20.00",
        actor=system,
    )
    invoice_line_add(invoice_id=draft.pk, description="Setup", amount="5.00", actor=system)
    invoice_send(invoice_id=draft.pk, actor=system)

    draft.refresh_from_db()
    assert (draft.total_minor, draft.tax_minor, draft.net_minor) == (12500, 2000, 10500)
    entry = JournalEntry.objects.get(source_id=draft.pk, event="invoice_sent")
    assert sorted(
        (line.accounting_code.code, line.debit_minor, line.credit_minor)
        for line in entry.lines.all()
    ) == [("1200", 12500, 0), ("2200", 0, 2000), ("4000", 0, 10500)]


def test_a_tax_code_without_an_amount_is_taxed_at_its_rate_half_up(draft):
    line = invoice_line_add(
        invoice_id=draft.pk,
        description="Usage",
        amount="10.03",
        tax_code="STD20",
        actor=Actor.for_system(),
    )
    assert line.tax_minor == 201  # 2.006


@pytest.mark.parametrize(
    ("tax_code", "tax_amount", "code", "field"),
    [
        ("NOPE", "1.00", INVALID_INPUT, "tax_code"),
        ("", "1.00", MISSING_INPUT, "tax_code"),
        ("STD20", "100.00", INVALID_AMOUNT, "tax_amount"),
        ("STD20", "1,00", 1016, "tax_amount"),
    ],
)
def test_bad_tax_input_is_refused_with_its_field_and_nothing_is_written(
    draft, tax_code, tax_amount, code, field
):
    with pytest.raises(BillingError) as refused:
        invoice_line_add(
            invoice_id=draft.pk,
            description="Seats",
            amount="100.00",
            tax_code=tax_code,
            tax_amount=tax_amount,
            actor=Actor.for_system(),
        )
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not InvoiceLine.objects.filter(invoice=draft).exists()
    assert Invoice.objects.get(pk=draft.pk).total_minor == 0


def test_a_line_is_not_added_to_a_sent_invoice(invoice):
    with pytest.raises(BillingError, match="draft only"):
        invoice_line_add(
            invoice_id=invoice.pk, description="More", amount="1.00", actor=Actor.for_system()
        )


def test_sending_an_invoice_whose_totals_disagree_with_its_lines_is_refused(draft):
    invoice_line_add(
        invoice_id=draft.pk,
        description="Seats",
        amount="100.00",
        tax_code="STD20",
        actor=Actor.for_system(),
    )
    Invoice.objects.filter(pk=draft.pk).update(tax_minor=0)
    with pytest.raises(BillingError, match="do not match its lines"):
        invoice_send(invoice_id=draft.pk, actor=Actor.for_system())


def test_tax_on_a_line_without_a_rate_is_refused_by_the_database(draft):
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.create(invoice=draft, description="x", amount_minor=100, tax_minor=5)
