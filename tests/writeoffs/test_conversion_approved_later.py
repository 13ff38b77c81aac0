"""A conversion over the requester's limit that is approved later posts its write-off
and settles its hold on one date, the write-off's, so aging as of any day between the
request and the approval never shows a negative bucket (issue 26, finding 3)."""

import datetime

import pytest

from billing.factories import InvoiceFactory
from billing.rules import today
from tests.clock import clock_at
from tests.ledger import assert_ledger_consistent
from writeoffs import reports
from writeoffs.approvals.decisions import writeoff_approve
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.models import DisputeHold, WriteOff

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def negative_cells(as_of: datetime.date) -> list[tuple]:
    report = reports.aging_report(as_of)
    return [
        (row.acct_no, key, amount)
        for row in report.accounts
        for key, amount in (*row.buckets.items(), *row.outside.items())
        if amount < 0
    ]


def test_a_conversion_approved_later_settles_its_hold_on_the_writeoff_date(
    account, supervisor_actor, controller_actor
):
    requested_on = today() - 10 * DAY
    with clock_at(requested_on - 5 * DAY):
        invoice = InvoiceFactory(account=account, total_minor=7000_00)
        hold = dispute_hold_create(
            invoice_id=invoice.pk, amount="7000.00", comments="Disputed", actor=supervisor_actor
        )
    with clock_at(requested_on):
        # 7,000.00 is over the supervisor's 5,000.00: the conversion waits for approval.
        dispute_hold_settle(dispute_hold_id=hold.pk, action="convert", actor=supervisor_actor)
    writeoff = WriteOff.objects.get(origin_dispute=hold)
    assert writeoff.status == WriteOff.Status.PENDING

    writeoff_approve(writeoff_id=writeoff.pk, actor=controller_actor)

    hold.refresh_from_db()
    writeoff.refresh_from_db()
    assert hold.status == DisputeHold.Status.WRITTEN_OFF
    assert hold.settled_on == writeoff.writeoff_date == requested_on
    for day in range(-6, 11):
        as_of = requested_on + day * DAY
        assert negative_cells(as_of) == [], as_of
        assert reports.aging_report(as_of).agrees
    assert_ledger_consistent(invoice.pk)
