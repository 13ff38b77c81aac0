"""A voided recovery payment is not "Recovered": the write-off analysis and the home
page net the void in the month it posts (issue 26, finding 2)."""

import datetime

import pytest

from billing.factories import InvoiceFactory
from billing.receivables.payments import payment_record, payment_remove
from billing.rules import today
from writeoffs import reports
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.recovery import recovery_record

pytestmark = pytest.mark.django_db


def recovered_invoice(account, actor, recovered_on: datetime.date):
    """1,000.00 billed, 400.00 bad debt, 600.00 paid, then a recovery payment of
    300.00 on ``recovered_on`` that reinstates 300.00."""
    invoice = InvoiceFactory(
        account=account,
        total_minor=1000_00,
        bill_date=recovered_on - datetime.timedelta(days=30),
    )
    writeoff_create(
        invoice_id=invoice.pk,
        amount="400.00",
        reason_code=0,
        comments="Bad debt",
        actor=actor,
        writeoff_date=recovered_on - datetime.timedelta(days=5),
    )
    payment_record(
        invoice_id=invoice.pk,
        amount="600.00",
        actor=actor,
        paid_on=recovered_on - datetime.timedelta(days=5),
    )
    return recovery_record(
        invoice_id=invoice.pk, amount="300.00", actor=actor, paid_on=recovered_on
    )


def recovered_by_month(start: datetime.date) -> dict[datetime.date, int]:
    analysis = reports.writeoff_analysis(start, today())
    return {m.month: m.recovered_minor for m in analysis.months if m.recovered_minor}


def test_a_recovery_voided_in_its_own_month_is_not_recovered(account, supervisor_actor):
    on = today()
    recovery = recovered_invoice(account, supervisor_actor, on)
    assert recovered_by_month(on.replace(day=1)) == {on.replace(day=1): 300_00}

    payment_remove(payment_id=recovery.pk, reason="Bounced", actor=supervisor_actor)

    assert recovered_by_month(on.replace(day=1)) == {}
    home = reports.home_figures(on, reports.writeoff_analysis(on.replace(day=1), on))
    assert [(c.currency, c.recovered_minor) for c in home.currencies] == [("USD", 0)]


def test_a_void_in_a_later_month_nets_the_recovery_in_the_month_it_posts(account, supervisor_actor):
    this_month = today().replace(day=1)
    last_month_day = this_month - datetime.timedelta(days=10)
    recovery = recovered_invoice(account, supervisor_actor, last_month_day)
    payment_remove(payment_id=recovery.pk, reason="Bounced", actor=supervisor_actor)

    start = last_month_day - datetime.timedelta(days=40)
    assert recovered_by_month(start) == {
        last_month_day.replace(day=1): 300_00,
        this_month: -300_00,
    }
    home = reports.home_figures(today(), reports.writeoff_analysis(this_month, today()))
    assert [(c.currency, c.recovered_minor) for c in home.currencies] == [("USD", -300_00)]


def test_a_plain_payment_and_its_void_recover_nothing(account, supervisor_actor):
    invoice = InvoiceFactory(account=account, total_minor=100_00)
    payment = payment_record(invoice_id=invoice.pk, amount="40.00", actor=supervisor_actor)
    payment_remove(payment_id=payment.pk, reason="Wrong invoice", actor=supervisor_actor)

    assert recovered_by_month(today() - datetime.timedelta(days=60)) == {}
