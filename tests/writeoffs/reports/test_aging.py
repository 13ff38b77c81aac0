"""Today's aging from the aggregates (writeoffs/reports/aging.py) against the
journal's aging as of today, on the hand-worked ledger of reports_fixture.py."""

from __future__ import annotations

import pytest
from django.db.models import F

from billing.ledger.aggregates import AR_BALANCE_DRIFT, verify_aggregates
from billing.models import Invoice
from tests.writeoffs.reports_fixture import DAY, build_report_ledger
from writeoffs import reports

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(clerk, supervisor, settings):
    return build_report_ledger(clerk, supervisor, settings)


def test_today_from_the_aggregates_equals_today_from_the_journal(ledger):
    ours = reports.aging_report(ledger.today)
    journal = reports.aging_report(ledger.today, from_journal=True)
    assert ours.accounts == journal.accounts
    assert ours.totals == journal.totals
    assert ours.checks == journal.checks and ours.agrees
    usd = ours.totals["USD"]
    assert (usd.buckets["current"], usd.buckets["d1_30"], usd.buckets["d61_90"]) == (
        9000,
        5000,
        7000,
    )
    assert usd.outside["held"] == 2000


def test_the_home_pages_totals_are_the_reports_totals(ledger):
    assert (
        reports.aging_totals_today(ledger.today).totals == reports.aging_report(ledger.today).totals
    )
    with pytest.raises(ValueError):
        reports.aging_totals_today(ledger.today - DAY)


def test_a_drifted_aggregate_shows_in_the_check_against_the_journal(ledger):
    """An AR balance changed behind posting's back: today's aging (from it) and the
    trial balance's AR control (from the lines) disagree, and verify names it."""
    Invoice.objects.filter(pk=ledger.invoices["I1"].pk).update(
        ar_balance_minor=F("ar_balance_minor") + 100
    )
    report = reports.aging_report(ledger.today)
    usd = next(check for check in report.checks if check.currency == "USD")
    assert (usd.aging_minor, usd.ar_control_minor) == (23100, 23000)
    assert not report.agrees
    assert verify_aggregates(10).failed == {AR_BALANCE_DRIFT: 1}


def test_a_page_of_todays_accounts_reads_the_tally_and_that_pages_open_items_only(
    ledger, django_assert_num_queries
):
    """The account rows are paged from AccountTally; a slice splits only its own
    accounts into buckets: two queries, whatever the slice, each slice the journal's."""
    journal = reports.aging_report(ledger.today, from_journal=True).accounts
    ours = reports.aging_report(ledger.today).accounts
    assert len(journal) >= 2
    assert len(ours) == len(journal)
    for start in range(len(journal)):
        with django_assert_num_queries(2):
            page = ours[start : start + 1]
        assert page == journal[start : start + 1]
    assert ours[len(journal) :] == []
    assert list(ours) == journal


def test_a_currency_filter_pages_that_currencys_accounts_only(ledger):
    for currency in ("USD", "EUR"):
        ours = reports.aging_report(ledger.today, currency=currency)
        journal = reports.aging_report(ledger.today, currency=currency, from_journal=True)
        assert list(ours.accounts) == journal.accounts
        assert {row.currency for row in ours.accounts} == {currency}
        assert ours.totals == journal.totals
