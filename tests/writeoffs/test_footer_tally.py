"""The Write-offs page's footers from AccountWriteoffTally (writeoffs/footers.py):
the same figures as the sums over the account's write-offs and holds they replace,
after every kind of change; and a drifted tally is reported and repaired."""

import pytest
from django.db.models import F, Sum

from billing import tallies
from billing.factories import InvoiceFactory
from billing.ledger.aggregates import TALLY_DRIFT, rebuild_aggregates, verify_aggregates
from billing.models import AgingTally
from billing.money import from_minor
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.recovery import recovery_record
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import AccountWriteoffTally, DisputeHold, WriteOff
from writeoffs.selectors import active_writeoffs_totals, open_holds_total

pytestmark = pytest.mark.django_db


def summed_from_rows(account):
    """The footers as they were computed before the tally: sums over the rows."""
    active = WriteOff.objects.filter(account=account, status=WriteOff.Status.ACTIVE)
    sums = active.aggregate(gross=Sum("amount_minor"), recovered=Sum("recovered_minor"))
    held = DisputeHold.objects.filter(account=account, status=DisputeHold.Status.OPEN).aggregate(
        total=Sum("amount_minor")
    )["total"]
    gross, recovered = sums["gross"] or 0, sums["recovered"] or 0
    return (
        from_minor(gross, account.currency),
        from_minor(recovered, account.currency),
        from_minor(gross - recovered, account.currency),
        from_minor(held or 0, account.currency),
    )


def shown(account):
    totals = active_writeoffs_totals(account)
    return totals.written_off, totals.recovered, totals.net, open_holds_total(account)


def test_the_footers_equal_the_sums_over_the_rows_after_each_change(
    account, clerk_actor, supervisor_actor
):
    assert shown(account) == summed_from_rows(account)
    invoice = InvoiceFactory(account=account, total_minor=500_00)
    other = InvoiceFactory(account=account, total_minor=200_00)
    first = writeoff_create(
        invoice_id=invoice.pk, amount="50.00", reason_code=0, comments="Bad", actor=clerk_actor
    )
    assert shown(account) == summed_from_rows(account)
    assert shown(account)[0] == from_minor(50_00, account.currency)
    writeoff_create(
        invoice_id=invoice.pk, amount="20.00", reason_code=0, comments="Bad", actor=clerk_actor
    )
    hold = dispute_hold_create(
        invoice_id=other.pk, amount="30.00", comments="Disputed", actor=clerk_actor
    )
    dispute_hold_create(invoice_id=invoice.pk, amount="5.00", comments="Also", actor=clerk_actor)
    assert shown(account) == summed_from_rows(account)
    assert shown(account)[3] == from_minor(35_00, account.currency)
    recovery_record(invoice_id=invoice.pk, amount="10.00", actor=clerk_actor)
    assert shown(account) == summed_from_rows(account)
    writeoff_reverse(writeoff_id=first.pk, reason="Paid after all", actor=supervisor_actor)
    assert shown(account) == summed_from_rows(account)
    dispute_hold_settle(dispute_hold_id=hold.pk, action="convert", actor=supervisor_actor)
    assert shown(account) == summed_from_rows(account)
    assert shown(account)[3] == from_minor(5_00, account.currency)
    assert tallies.drift(AccountWriteoffTally, _footer_source()) == (0, [])


def _footer_source():
    from writeoffs.footers import footer_tally_source

    return footer_tally_source()


def test_a_drifted_tally_is_reported_then_rebuilt_once(account, clerk_actor):
    invoice = InvoiceFactory(account=account, total_minor=500_00)
    writeoff_create(
        invoice_id=invoice.pk, amount="50.00", reason_code=0, comments="Bad", actor=clerk_actor
    )
    assert verify_aggregates(10).ok
    AccountWriteoffTally.objects.filter(pk=AccountWriteoffTally.objects.first().pk).update(
        active_gross_minor=F("active_gross_minor") + 1
    )
    AgingTally.objects.filter(pk=AgingTally.objects.first().pk).update(held_minor=7)

    result = verify_aggregates(10)

    assert result.failed == {TALLY_DRIFT: 2}
    messages = " ".join(failure.message for failure in result.failures)
    assert f"write-off footer tally of ({account.pk},) stores" in messages
    assert "'active_gross_minor': 5001" in messages and "'active_gross_minor': 5000" in messages
    assert "aging tally of" in messages
    assert shown(account) != summed_from_rows(account)
    assert rebuild_aggregates().tally_keys == 2
    assert verify_aggregates(10).ok
    assert shown(account) == summed_from_rows(account)
    assert rebuild_aggregates().tally_keys == 0
    assert verify_aggregates(10).ok
