"""The split of write-offs, conversions, recoveries and reversals between net and tax
(SPEC Part 3, "Tax on write-offs"), as the journal shows it."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import Sum

from billing.factories import InvoiceFactory
from billing.models import JournalEntry, JournalEvent, JournalLine
from billing.rules import today
from billing.verification import verify_ledger
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.recovery import recovery_record
from writeoffs.lifecycle.reverse import writeoff_reverse

pytestmark = pytest.mark.django_db


def entry_lines(event: JournalEvent, source_id: int) -> dict[str, tuple[int, int]]:
    """``event``'s entry for ``source_id``: (debits, credits) per code."""
    entry = JournalEntry.objects.get(event=event, source_id=source_id)
    lines: dict[str, tuple[int, int]] = {}
    for line in entry.lines.select_related("accounting_code"):
        debit, credit = lines.get(line.accounting_code.code, (0, 0))
        lines[line.accounting_code.code] = (debit + line.debit_minor, credit + line.credit_minor)
    return lines


def balance(code: str) -> int:
    """Debits minus credits on ``code``, all entries."""
    totals = JournalLine.objects.filter(accounting_code__code=code).aggregate(
        d=Sum("debit_minor", default=0), c=Sum("credit_minor", default=0)
    )
    return totals["d"] - totals["c"]


@pytest.fixture
def taxed_invoice(account):
    """100.00 net + 20.00 tax at STD20, due ten days ago: relief not due for months."""
    return InvoiceFactory(account=account, invoice_no=20001, total_minor=12000, tax_minor=2000)


@pytest.fixture
def old_taxed_invoice(account):
    """The same, due more than six months ago: bad-debt relief is due."""
    bill = today() - datetime.timedelta(days=260)
    return InvoiceFactory(
        account=account,
        invoice_no=20002,
        total_minor=12000,
        tax_minor=2000,
        bill_date=bill,
        due_date=bill + datetime.timedelta(days=30),
    )


def bad_debt(invoice, actor, expense_code, amount="60.00"):
    return writeoff_create(
        invoice_id=invoice.pk,
        amount=amount,
        reason_code=0,
        comments="Customer bankrupt.",
        revenue_impacting=False,
        accounting_code_id=expense_code.pk,
        actor=actor,
    )


def test_a_taxed_invoice_posts_ar_gross_revenue_net_and_tax_payable(taxed_invoice):
    assert entry_lines(JournalEvent.INVOICE_SENT, taxed_invoice.pk) == {
        "1200": (12000, 0),
        "4000": (0, 10000),
        "2200": (0, 2000),
    }
    assert verify_ledger(limit=10).ok


def test_an_untaxed_invoice_posts_as_before(invoice):
    assert entry_lines(JournalEvent.INVOICE_SENT, invoice.pk) == {
        "1200": (12000, 0),
        "4000": (0, 12000),
    }


def test_revenue_impacting_writeoff_of_60_on_100_plus_20_debits_revenue_50_and_tax_10(
    taxed_invoice, supervisor_actor
):
    writeoff = writeoff_create(
        invoice_id=taxed_invoice.pk,
        amount="60.00",
        reason_code=1,
        comments="Goodwill.",
        actor=supervisor_actor,
    )

    assert entry_lines(JournalEvent.WRITEOFF, writeoff.pk) == {
        "4000": (5000, 0),
        "2200": (1000, 0),
        "1200": (0, 6000),
    }
    assert not writeoff.tax_relief_pending
    assert verify_ledger(limit=10).ok


def test_bad_debt_before_relief_is_due_debits_tax_relief_pending(
    taxed_invoice, supervisor_actor, expense_code
):
    writeoff = bad_debt(taxed_invoice, supervisor_actor, expense_code)

    assert entry_lines(JournalEvent.WRITEOFF, writeoff.pk) == {
        "6100": (5000, 0),
        "2210": (1000, 0),
        "1200": (0, 6000),
    }
    writeoff.refresh_from_db()
    assert writeoff.tax_relief_pending
    # Six months after the due date (the 31st of a shorter month is its last day).
    due, relief = taxed_invoice.due_date, writeoff.tax_relief_due_on
    assert (relief.year * 12 + relief.month) - (due.year * 12 + due.month) == 6
    assert relief.day == due.day or (due.day > 28 and relief.day < due.day)
    assert verify_ledger(limit=10).ok


def test_bad_debt_once_relief_is_due_debits_tax_payable(
    old_taxed_invoice, supervisor_actor, expense_code
):
    writeoff = bad_debt(old_taxed_invoice, supervisor_actor, expense_code)

    assert entry_lines(JournalEvent.WRITEOFF, writeoff.pk) == {
        "6100": (5000, 0),
        "2200": (1000, 0),
        "1200": (0, 6000),
    }
    writeoff.refresh_from_db()
    assert not writeoff.tax_relief_pending
    assert verify_ledger(limit=10).ok


def test_bad_debt_under_the_allowance_method_debits_the_allowance_for_the_net(
    old_taxed_invoice, supervisor_actor, expense_code, settings
):
    settings.ALLOWANCE_METHOD = True
    writeoff = bad_debt(old_taxed_invoice, supervisor_actor, expense_code)

    assert entry_lines(JournalEvent.WRITEOFF, writeoff.pk) == {
        "1290": (5000, 0),
        "2200": (1000, 0),
        "1200": (0, 6000),
    }


def test_the_rounding_remainder_falls_on_the_net_and_the_parts_add_up(
    taxed_invoice, supervisor_actor
):
    # 0.07 of 120.00: the exact shares are 5.83 net and 1.17 tax cents.
    writeoff = writeoff_create(
        invoice_id=taxed_invoice.pk,
        amount="0.07",
        reason_code=1,
        comments="Rounding.",
        actor=supervisor_actor,
    )

    assert entry_lines(JournalEvent.WRITEOFF, writeoff.pk) == {
        "4000": (6, 0),
        "2200": (1, 0),
        "1200": (0, 7),
    }


def test_reversing_a_taxed_writeoff_restores_every_code(
    taxed_invoice, supervisor_actor, expense_code
):
    before = {code: balance(code) for code in ("1200", "4000", "2200", "2210", "6100")}
    writeoff = bad_debt(taxed_invoice, supervisor_actor, expense_code)
    writeoff_reverse(writeoff_id=writeoff.pk, reason="Entered in error.", actor=supervisor_actor)

    assert {code: balance(code) for code in before} == before
    assert verify_ledger(limit=10).ok


def test_a_recovery_repays_the_relief_in_proportion(
    old_taxed_invoice, supervisor_actor, expense_code
):
    bad_debt(old_taxed_invoice, supervisor_actor, expense_code, amount="120.00")
    payment = recovery_record(
        invoice_id=old_taxed_invoice.pk, amount="30.00", actor=supervisor_actor
    )

    assert entry_lines(JournalEvent.RECOVERY, payment.pk) == {
        "1200": (3000, 3000),
        "6100": (0, 2500),
        "2200": (0, 500),
        "1000": (3000, 0),
    }
    # Charged 20.00, relieved 20.00, repaid 5.00: 5.00 is owed again.
    assert balance("2200") == -500
    assert verify_ledger(limit=10).ok


def test_a_recovery_while_relief_is_pending_credits_the_pending_code(
    taxed_invoice, supervisor_actor, expense_code
):
    bad_debt(taxed_invoice, supervisor_actor, expense_code, amount="120.00")
    recovery_record(invoice_id=taxed_invoice.pk, amount="30.00", actor=supervisor_actor)

    assert balance("2210") == 2000 - 500
    assert balance("2200") == -2000
    assert verify_ledger(limit=10).ok


def test_a_conversion_splits_like_the_writeoff_it_makes(taxed_invoice, supervisor_actor):
    hold = dispute_hold_create(
        invoice_id=taxed_invoice.pk, amount="60.00", comments="Disputed.", actor=supervisor_actor
    )
    dispute_hold_settle(
        dispute_hold_id=hold.pk, action="convert", reason_code=1, actor=supervisor_actor
    )
    writeoff = hold.conversion_writeoffs.get()

    assert entry_lines(JournalEvent.DISPUTE_CONVERSION, writeoff.pk) == {
        "4000": (5000, 0),
        "2200": (1000, 0),
        "1200": (0, 6000),
    }
    assert verify_ledger(limit=10).ok
