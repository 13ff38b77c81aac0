"""The daily run's tax-relief step (writeoffs/lifecycle/tax_relief.py): on the day a
bad debt's relief is due its tax moves from 2210 "Tax relief pending" to 2200 tax
payable, once."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command
from django.db.models import Sum

from billing.factories import InvoiceFactory
from billing.models import AccountingPeriodLock, JournalEntry, JournalEvent, JournalLine
from billing.receivables.payments import payment_remove
from billing.rules import today
from billing.verification import verify_ledger
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.recovery import recovery_record
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.lifecycle.tax_relief import tax_relief_due
from writeoffs.models import WriteOff

pytestmark = pytest.mark.django_db


def balance(code: str) -> int:
    totals = JournalLine.objects.filter(accounting_code__code=code).aggregate(
        d=Sum("debit_minor", default=0), c=Sum("credit_minor", default=0)
    )
    return totals["d"] - totals["c"]


@pytest.fixture
def pending_bad_debt(account, supervisor_actor, expense_code):
    """A bad debt of all of a 100.00 + 20.00 invoice, its 20.00 tax pending relief."""
    invoice = InvoiceFactory(account=account, invoice_no=50001, total_minor=12000, tax_minor=2000)
    writeoff = writeoff_create(
        invoice_id=invoice.pk,
        amount="120.00",
        reason_code=0,
        comments="Bankrupt.",
        revenue_impacting=False,
        accounting_code_id=expense_code.pk,
        actor=supervisor_actor,
    )
    assert writeoff.tax_relief_pending
    return writeoff


def relief_due_today(writeoff: WriteOff) -> None:
    # The step takes no future run date: the test brings the relief day to today.
    WriteOff.objects.filter(pk=writeoff.pk).update(tax_relief_due_on=today())


def test_on_the_day_relief_is_due_the_tax_moves_from_pending_to_payable(pending_bad_debt):
    relief_due_today(pending_bad_debt)

    result = tax_relief_due()

    assert len(result.moved) == 1
    assert "20.00 USD tax relief due" in result.moved[0]
    assert (balance("2210"), balance("2200")) == (0, 0)  # charged 20.00, relieved 20.00
    entry = JournalEntry.objects.get(event=JournalEvent.RECLASSIFICATION)
    assert entry.entry_date == today()
    assert sorted(
        (line.accounting_code.code, line.debit_minor, line.credit_minor)
        for line in entry.lines.all()
    ) == [("2200", 2000, 0), ("2210", 0, 2000)]
    pending_bad_debt.refresh_from_db()
    assert not pending_bad_debt.tax_relief_pending
    assert verify_ledger(limit=10).ok


def test_running_it_again_moves_nothing_more(pending_bad_debt):
    relief_due_today(pending_bad_debt)
    tax_relief_due()

    again = tax_relief_due()

    assert again.moved == []
    assert "nothing to move" in again.summary()
    assert JournalEntry.objects.filter(event=JournalEvent.RECLASSIFICATION).count() == 1


def test_before_the_relief_day_nothing_moves(pending_bad_debt):
    assert tax_relief_due().moved == []
    assert balance("2210") == 2000


def test_a_reversed_writeoff_has_nothing_to_move(pending_bad_debt, supervisor_actor):
    writeoff_reverse(writeoff_id=pending_bad_debt.pk, reason="Error.", actor=supervisor_actor)
    relief_due_today(pending_bad_debt)

    assert tax_relief_due().moved == []
    assert verify_ledger(limit=10).ok


def test_a_recovery_made_while_pending_moves_with_its_writeoff_and_voids_cleanly(
    pending_bad_debt, supervisor_actor
):
    invoice_id = pending_bad_debt.invoice_id
    payment = recovery_record(invoice_id=invoice_id, amount="30.00", actor=supervisor_actor)
    assert balance("2210") == 2000 - 500
    relief_due_today(pending_bad_debt)

    tax_relief_due()

    # Relieved 20.00, repaid 5.00 of it: 5.00 owed again, nothing left pending.
    assert (balance("2210"), balance("2200")) == (0, -500)
    assert verify_ledger(limit=10).ok
    payment_remove(payment_id=payment.pk, reason="Bounced.", actor=supervisor_actor)
    assert (balance("2210"), balance("2200")) == (0, 0)
    assert verify_ledger(limit=10).ok
    writeoff_reverse(writeoff_id=pending_bad_debt.pk, reason="Error.", actor=supervisor_actor)
    assert (balance("2210"), balance("2200")) == (0, -2000)
    assert verify_ledger(limit=10).ok


def test_the_daily_run_reports_each_move(pending_bad_debt):
    relief_due_today(pending_bad_debt)
    out = io.StringIO()

    call_command("run_daily", stdout=out, stderr=io.StringIO())

    assert f"3/8 tax relief] Write-off {pending_bad_debt.pk} on invoice 50001" in out.getvalue()
    assert "1 write-off(s)' tax relief moved to tax payable." in out.getvalue()


def test_relief_due_inside_a_closed_period_moves_on_today_not_into_it(pending_bad_debt):
    # Relief came due a week ago, and the books are closed through yesterday since.
    WriteOff.objects.filter(pk=pending_bad_debt.pk).update(
        tax_relief_due_on=today() - datetime.timedelta(days=7)
    )
    AccountingPeriodLock.objects.create(
        locked_through=today() - datetime.timedelta(days=1), reason="Closed."
    )

    assert len(tax_relief_due().moved) == 1

    entry = JournalEntry.objects.get(event=JournalEvent.RECLASSIFICATION)
    assert entry.entry_date == today()
    assert balance("2210") == 0
