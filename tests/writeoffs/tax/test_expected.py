"""verify_ledger checks the split of every write-off (writeoffs/tax/expected.py)."""

from __future__ import annotations

import pytest
from django.conf import settings

from billing.factories import InvoiceFactory
from billing.models import AccountingCode, JournalEvent, JournalLine
from billing.verification import verify_ledger
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.models import WriteOff
from writeoffs.tax.checks import TAX_RELIEF_STATE, WRITEOFF_TAX_SPLIT, verify_tax_split
from writeoffs.tax.expected import TaxedLine, expected_tax
from writeoffs.verification import WRONG_POSTINGS

pytestmark = pytest.mark.django_db


def test_expected_tax_is_the_floor_of_each_share_with_the_remainder_on_the_largest_net():
    lines = [TaxedLine(10000, 2000, 7), TaxedLine(333, 0, None)]
    # 100.00 of 123.33: 81.08 + 16.21 tax + 2.70: floors 8108, 1621, 270 = 9999.
    assert expected_tax(10000, lines, pending_code_id=None) == {7: 1621}
    assert expected_tax(10000, lines, pending_code_id=9) == {9: 1621}


@pytest.fixture
def revenue_writeoff(account, supervisor_actor):
    invoice = InvoiceFactory(account=account, invoice_no=20011, total_minor=12000, tax_minor=2000)
    return writeoff_create(
        invoice_id=invoice.pk,
        amount="60.00",
        reason_code=1,
        comments="Goodwill.",
        actor=supervisor_actor,
    )


def test_a_writeoff_whose_tax_part_was_posted_to_revenue_is_reported(revenue_writeoff):
    assert verify_ledger(limit=10).ok
    tax_line = JournalLine.objects.get(
        entry__event=JournalEvent.WRITEOFF,
        entry__source_id=revenue_writeoff.pk,
        accounting_code__code=settings.TAX_PAYABLE_CODE,
    )
    # Drift on purpose: a journal line is never edited by the code.
    JournalLine.objects.filter(pk=tax_line.pk).update(
        accounting_code=AccountingCode.objects.get(code="4000")
    )

    result = verify_ledger(limit=10)

    assert result.failed.get(WRONG_POSTINGS) == 1
    assert any(
        f"writeoffs.writeoff {revenue_writeoff.pk}" in m
        for m in (f.message for f in result.failures)
    )


def test_a_writeoff_marked_pending_whose_tax_sits_on_tax_payable_is_reported(
    revenue_writeoff,
):
    WriteOff.objects.filter(pk=revenue_writeoff.pk).update(
        tax_relief_pending=True, tax_relief_due_on=revenue_writeoff.writeoff_date
    )

    assert verify_ledger(limit=10).failed.get(WRONG_POSTINGS) == 1


def test_the_split_check_names_the_writeoff_whose_tax_drifted(revenue_writeoff):
    JournalLine.objects.filter(
        entry__source_id=revenue_writeoff.pk,
        entry__event=JournalEvent.WRITEOFF,
        accounting_code__code=settings.TAX_PAYABLE_CODE,
    ).update(accounting_code=AccountingCode.objects.get(code=settings.TAX_RELIEF_PENDING_CODE))

    result = verify_tax_split(limit=10)

    assert result.failed == {WRITEOFF_TAX_SPLIT: 1}
    assert result.failures[0].message.startswith(f"Write-off {revenue_writeoff.pk} has ")


def test_a_revenue_impacting_writeoff_waiting_for_relief_is_reported(revenue_writeoff):
    WriteOff.objects.filter(pk=revenue_writeoff.pk).update(
        tax_relief_pending=True, tax_relief_due_on=revenue_writeoff.writeoff_date
    )

    assert verify_tax_split(limit=10).failed.get(TAX_RELIEF_STATE) == 1


def test_the_split_check_counts_the_writeoffs_on_taxed_invoices(revenue_writeoff, invoice):
    result = verify_tax_split(limit=10)
    assert result.ok
    assert result.checked["writeoff_tax_splits"] == 1
