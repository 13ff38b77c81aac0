"""The tax part in the reports: the write-off analysis splits net and tax, and the
trial balance shows the tax codes (from the journal)."""

from __future__ import annotations

import pytest

from billing.factories import InvoiceFactory
from billing.ledger.books import trial_balance
from billing.rules import today
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.reports.analysis import writeoff_analysis

pytestmark = pytest.mark.django_db


@pytest.fixture
def writeoffs(account, supervisor_actor):
    taxed = InvoiceFactory(account=account, invoice_no=80001, total_minor=12000, tax_minor=2000)
    plain = InvoiceFactory(account=account, invoice_no=80002, total_minor=5000)
    made = [
        writeoff_create(
            invoice_id=invoice.pk,
            amount=amount,
            reason_code=1,
            comments="Goodwill.",
            actor=supervisor_actor,
        )
        for invoice, amount in ((taxed, "60.00"), (taxed, "12.00"), (plain, "10.00"))
    ]
    writeoff_reverse(writeoff_id=made[1].pk, reason="Error.", actor=supervisor_actor)
    return made


def test_the_analysis_splits_the_net_written_off_into_net_of_tax_and_tax(writeoffs):
    day = today()
    month = writeoff_analysis(day.replace(day=1), day).months[0]

    assert month.net_minor == 6000 + 1000  # the reversed 12.00 nets out
    assert month.tax_minor == 1000
    assert month.net_of_tax_minor == 5000 + 1000


def test_the_trial_balance_shows_tax_payable(writeoffs):
    rows = {row.code: row for row in trial_balance(start=None, end=today()).rows}

    assert (rows["2200"].name, rows["2200"].kind) == ("Output tax payable", "liability")
    # Charged 20.00; 10.00 given up on the write-off (the reversed 2.00 came back).
    assert rows["2200"].closing_minor == -1000
