"""ALLOWANCE_METHOD: on, a write-off that is not revenue-impacting debits the allowance
and a recovery credits it back; off, nothing changes. Switching it is refused while a
provision after the lock date was booked under the other method."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from billing.errors import INVALID_STATE, BillingError
from billing.factories import InvoiceFactory
from billing.models import AccountingPeriodLock, JournalEvent, JournalLine
from billing.rules import today
from billing.verification import verify_ledger
from tests.ledger import expired_days_ago
from writeoffs.allowance.provision import provision_run
from writeoffs.checks import check_allowance_method
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.expiry import dispute_holds_expire
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.lifecycle.recovery import recovery_record
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import WriteOff

pytestmark = pytest.mark.django_db


def net_on(code: str, event: JournalEvent) -> int:
    """Debits minus credits of ``event``'s lines on ``code``."""
    lines = JournalLine.objects.filter(accounting_code__code=code, entry__event=event)
    return sum(line.debit_minor - line.credit_minor for line in lines)


def expense_writeoff(invoice, actor, expense_code, amount="120.00"):
    return writeoff_create(
        invoice_id=invoice.pk,
        amount=amount,
        reason_code=0,
        comments="Bad debt",
        revenue_impacting=False,
        accounting_code_id=expense_code.pk,
        writeoff_date=timezone.localdate() - datetime.timedelta(days=1),
        actor=actor,
    )


def test_off_an_expense_writeoff_and_its_recovery_post_to_the_expense_code(
    invoice, supervisor_actor, expense_code, settings
):
    settings.ALLOWANCE_METHOD = False
    writeoff = expense_writeoff(invoice, supervisor_actor, expense_code)
    recovery_record(invoice_id=invoice.pk, amount="20.00", actor=supervisor_actor)

    assert writeoff.accounting_code.code == "6100"
    assert net_on("6100", JournalEvent.WRITEOFF) == 120_00
    assert net_on("6100", JournalEvent.RECOVERY) == -20_00
    assert not JournalLine.objects.filter(accounting_code__code="1290").exists()
    assert verify_ledger(limit=10).ok


def test_on_an_expense_writeoff_debits_the_allowance_and_a_recovery_credits_it_back(
    invoice, supervisor_actor, expense_code, settings
):
    settings.ALLOWANCE_METHOD = True
    writeoff = expense_writeoff(invoice, supervisor_actor, expense_code)
    recovery_record(invoice_id=invoice.pk, amount="20.00", actor=supervisor_actor)

    assert writeoff.accounting_code.code == "1290"
    assert net_on("1290", JournalEvent.WRITEOFF) == 120_00
    assert net_on("1290", JournalEvent.RECOVERY) == -20_00
    assert net_on("6100", JournalEvent.WRITEOFF) == 0
    assert verify_ledger(limit=10).ok


def test_on_a_reversal_credits_the_allowance_back(
    invoice, supervisor_actor, expense_code, settings
):
    settings.ALLOWANCE_METHOD = True
    writeoff = expense_writeoff(invoice, supervisor_actor, expense_code)
    writeoff_reverse(writeoff_id=writeoff.pk, reason="Mistake", actor=supervisor_actor)

    assert net_on("1290", JournalEvent.WRITEOFF_REVERSAL) == -120_00
    assert verify_ledger(limit=10).ok


def test_on_a_revenue_impacting_writeoff_still_debits_the_revenue_code(
    invoice, supervisor_actor, settings
):
    settings.ALLOWANCE_METHOD = True
    writeoff = writeoff_create(
        invoice_id=invoice.pk, amount="10.00", reason_code=0, comments="x", actor=supervisor_actor
    )
    assert writeoff.accounting_code_id == invoice.revenue_code_id
    assert not JournalLine.objects.filter(accounting_code__code="1290").exists()


def test_on_a_dispute_converted_by_expiry_debits_the_allowance(invoice, clerk_actor, settings):
    settings.ALLOWANCE_METHOD = True
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "convert"
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="50.00", comments="Disputed", actor=clerk_actor
    )
    hold = expired_days_ago(hold, 5)

    dispute_holds_expire(run_date=hold.expires_on + datetime.timedelta(days=1))

    writeoff = WriteOff.objects.get(origin_dispute=hold)
    assert writeoff.accounting_code.code == "1290"
    assert net_on("1290", JournalEvent.DISPUTE_CONVERSION) == 50_00
    assert verify_ledger(limit=10).ok


@pytest.fixture
def month_end() -> datetime.date:
    return today().replace(day=1) - datetime.timedelta(days=1)


@pytest.fixture
def provided(account, controller_actor, month_end, settings):
    """A provision at last month end, booked with the method off."""
    settings.ALLOWANCE_METHOD = False
    InvoiceFactory(
        account=account, total_minor=100_00, bill_date=month_end - datetime.timedelta(days=10)
    )
    run = provision_run(actor=controller_actor, month_end=month_end).posted
    assert run
    return run


def test_switching_the_method_after_an_open_months_provision_is_a_system_check_error(
    provided, settings
):
    assert check_allowance_method() == []
    settings.ALLOWANCE_METHOD = True
    errors = check_allowance_method()
    assert [error.id for error in errors] == ["writeoffs.E001"]
    assert "ALLOWANCE_METHOD is on" in errors[0].msg


def test_a_provision_run_under_a_switched_method_is_refused(
    provided, settings, controller_actor, month_end
):
    settings.ALLOWANCE_METHOD = True
    with pytest.raises(BillingError) as refused:
        provision_run(actor=controller_actor, month_end=month_end)
    assert refused.value.code == INVALID_STATE


def test_once_the_month_is_closed_the_method_may_switch(provided, settings, month_end):
    AccountingPeriodLock.objects.create(locked_through=month_end, reason="closed")
    settings.ALLOWANCE_METHOD = True
    assert check_allowance_method() == []
