"""The write-off analysis's tallies (writeoffs/models/analysis.py): every posting of
a write-off, reversal, recovery or void feeds them, the seed's bulk posting too, and
the analysis read from them equals the one read from the journal's lines."""

import datetime
import io
from dataclasses import asdict

import pytest
from django.core.management import call_command

from billing import tallies
from billing.factories import InvoiceFactory
from billing.ledger.aggregates import TALLY_DRIFT, verify_aggregates
from billing.receivables.payments import payment_record, payment_remove
from billing.rules import today
from tests.writeoffs.reports_fixture import build_report_ledger
from tests.writeoffs.test_recovered_reports import recovered_invoice
from writeoffs import reports
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import AnalysisMonthTally, AnalysisTally, WriteOff

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
AS_OF = datetime.date(2026, 6, 30)


def twelve_months(end: datetime.date) -> datetime.date:
    """The home page's twelve months: from the first day of the month eleven before."""
    return (end.replace(day=1) - datetime.timedelta(days=335)).replace(day=1)


def assert_as_the_journal(start: datetime.date, end: datetime.date) -> None:
    tallied = reports.writeoff_analysis(start, end)
    journal = reports.writeoff_analysis(start, end, from_journal=True)
    assert asdict(tallied) == asdict(journal), (start, end)


def ranges(end: datetime.date) -> list[tuple[datetime.date, datetime.date]]:
    """Whole months, part-months at either end, one part-month, ranges ending today."""
    month = end.replace(day=1)
    return [
        (twelve_months(end), end),
        (month, end),
        (twelve_months(end) + 9 * DAY, end - 17 * DAY),
        (month - 70 * DAY, month - 40 * DAY),
        ((month - 60 * DAY).replace(day=1), month - DAY),
        (month - 300 * DAY, month - 290 * DAY),
        (end - 800 * DAY, end),
    ]


def test_the_seed_feeds_the_tallies_and_the_analysis_equals_the_journals(settings):
    settings.DEBUG = True
    call_command(
        "seed_billing",
        *["--accounts", "12", "--invoices-per-account", "20", "--as-of", AS_OF.isoformat()],
        stdout=io.StringIO(),
    )
    assert WriteOff.objects.filter(status=WriteOff.Status.REVERSED).exists()
    assert WriteOff.objects.filter(invoice__tax_minor__gt=0).exists()
    assert tallies.figures(AnalysisTally)
    assert verify_aggregates(10).ok
    for start, end in ranges(AS_OF) + ranges(today()):
        assert_as_the_journal(start, end)


def test_each_service_posting_adds_a_row_of_its_change(
    account, clerk_actor, supervisor_actor, expense_code
):
    invoice = InvoiceFactory(account=account, total_minor=500_00, bill_date=today() - 40 * DAY)
    rows = AnalysisTally.objects.count()
    writeoff = writeoff_create(
        invoice_id=invoice.pk,
        amount="120.00",
        reason_code=0,
        comments="Bad debt",
        actor=supervisor_actor,
        writeoff_date=today() - 2 * DAY,
        revenue_impacting=False,
        accounting_code_id=expense_code.pk,
    )
    assert AnalysisTally.objects.count() == rows + 1
    month = (today() - 2 * DAY).replace(day=1)
    key = (month, invoice.currency, 0, False, writeoff.created_by_label)
    assert tallies.figures(AnalysisTally)[key][0] == 120_00
    writeoff_reverse(writeoff_id=writeoff.pk, reason="Paid after all", actor=supervisor_actor)
    assert AnalysisTally.objects.count() == rows + 2
    # A plain payment feeds neither analysis tally.
    other_rows = AnalysisMonthTally.objects.count()
    payment_record(invoice_id=invoice.pk, amount="10.00", actor=clerk_actor)
    assert (AnalysisTally.objects.count(), AnalysisMonthTally.objects.count()) == (
        rows + 2,
        other_rows,
    )
    assert verify_aggregates(10).ok


def test_recoveries_and_their_voids_feed_the_recovered_tally(account, supervisor_actor):
    recovery = recovered_invoice(account, supervisor_actor, today() - 35 * DAY)
    month = (today() - 35 * DAY).replace(day=1)
    assert tallies.figures(AnalysisMonthTally)[(month, "USD")] == (0, 300_00)
    payment_remove(payment_id=recovery.pk, reason="Bounced", actor=supervisor_actor)
    recovered = {key: sums[1] for key, sums in tallies.figures(AnalysisMonthTally).items()}
    assert sum(recovered.values()) == 0
    assert verify_aggregates(10).ok
    for start, end in ranges(today()):
        assert_as_the_journal(start, end)


def test_the_report_ledger_reads_the_same_from_the_tallies_and_the_journal(
    clerk, supervisor, settings
):
    build_report_ledger(clerk, supervisor, settings)
    assert verify_aggregates(10).ok
    for start, end in ranges(today()):
        assert_as_the_journal(start, end)


def test_the_month_cut_from_twelve_months_is_the_months_own_analysis(clerk, supervisor, settings):
    build_report_ledger(clerk, supervisor, settings)
    on = today()
    year = reports.writeoff_analysis(twelve_months(on), on)
    month = year.month_of(on.replace(day=1))
    own = reports.writeoff_analysis(on.replace(day=1), on)
    assert asdict(month) == asdict(own)
    assert month.months  # the reversal of today is this month's
    with pytest.raises(ValueError):
        year.month_of(twelve_months(on) - DAY)


def test_a_drifted_analysis_tally_is_reported_and_rebuilt(account, supervisor_actor):
    recovered_invoice(account, supervisor_actor, today() - 3 * DAY)
    tallies.add(
        AnalysisTally,
        [{"month": today().replace(day=1), "currency": "USD", "reason_code": 0,
          "revenue_impacting": True, "user_label": "someone", "written_minor": 5}],
    )  # fmt: skip
    check = verify_aggregates(10)
    assert check.failed == {TALLY_DRIFT: 1}
    assert "analysis tally" in check.failures[0].message
    out = io.StringIO()
    call_command("rebuild_aggregates", stdout=out)
    assert "the tallies' figures of 1 keys" in out.getvalue()
    assert verify_aggregates(10).ok
    for start, end in ranges(today()):
        assert_as_the_journal(start, end)
