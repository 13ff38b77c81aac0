"""The journal's tallies (billing/ledger/journal_tallies.py): fed by the one posting
path (the services' ``post_entry`` and the bulk posting), read by the trial balance
for the open months, compacted, checked and rebuilt."""

import datetime
import io

import pytest
from django.core.management import call_command

from billing import tallies
from billing.factories import InvoiceFactory
from billing.ledger.aggregates import TALLY_DRIFT, rebuild_aggregates, verify_aggregates
from billing.ledger.books import trial_balance
from billing.ledger.close import lock_date_move
from billing.models import JournalLine, MonthTally
from billing.receivables.payments import payment_record, payment_remove
from billing.rules import today
from tests.billing.ledger.test_aggregates import from_trial_balance, history, lines_only
from tests.clock import clock_at

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def month_tally() -> dict:
    return tallies.figures(MonthTally)


def lines_by_month() -> dict:
    """(month, code id, currency) -> (debits, credits), from every line, in Python."""
    sums: dict = {}
    for line in JournalLine.objects.all():
        key = (line.entry_date.replace(day=1), line.accounting_code_id, line.currency)
        debits, credits = sums.get(key, (0, 0))
        sums[key] = (debits + line.debit_minor, credits + line.credit_minor)
    return sums


def test_each_service_posting_adds_its_lines_to_their_month(invoice, clerk_actor, supervisor_actor):
    assert month_tally() == lines_by_month() != {}
    rows = MonthTally.objects.count()
    payment = payment_record(invoice_id=invoice.pk, amount="20.00", actor=clerk_actor)
    # Insert-only: the payment's two lines are two new rows, no row changed.
    assert MonthTally.objects.count() == rows + 2
    assert month_tally() == lines_by_month()
    payment_remove(payment_id=payment.pk, reason="Bounced", actor=supervisor_actor)
    assert month_tally() == lines_by_month()
    assert verify_aggregates(10).ok


def test_postings_on_past_days_go_to_their_own_months(account, clerk_actor):
    history(account, clerk_actor, months=4)
    months = {key[0] for key in month_tally()}
    assert len(months) >= 4
    assert month_tally() == lines_by_month()


def test_the_bulk_posting_of_the_seed_feeds_the_tallies_and_the_seed_compacts_them(settings):
    settings.DEBUG = True
    seed = ["--accounts", "6", "--invoices-per-account", "15", "--as-of", "2026-06-30"]
    call_command("seed_billing", *seed, stdout=io.StringIO())
    assert month_tally() == lines_by_month() != {}
    # Compacted at the seed's end: one row a key.
    assert MonthTally.objects.count() == len(month_tally())
    # A second seed adds a batch of deltas on top of the compacted rows.
    call_command("seed_billing", *seed, "--seed", "7", stdout=io.StringIO())
    assert month_tally() == lines_by_month()
    assert verify_aggregates(10).ok


def test_the_trial_balance_of_the_year_reads_the_tally_and_agrees_with_the_lines(
    account, clerk_actor, controller_actor
):
    history(account, clerk_actor, months=5)
    year_start = today().replace(month=1, day=1)
    starts = (None, year_start, today().replace(day=1), today() - 40 * DAY, today() - 3 * DAY)
    for start in starts:
        assert from_trial_balance(start, today()) == lines_only(start, today()), start
    # Close through last month: the closed months from the period balances, this
    # month from the tally.
    month_end = today().replace(day=1) - DAY
    lock_date_move(locked_through=month_end, reason="Closed", actor=controller_actor)
    for start in starts:
        assert from_trial_balance(start, today()) == lines_only(start, today()), start
    # Ranges ending before the last line of their month read that part-month's lines.
    for start, end in [(None, today() - 50 * DAY), (today() - 80 * DAY, today() - 20 * DAY)]:
        assert from_trial_balance(start, end) == lines_only(start, end), (start, end)


def test_a_part_month_with_lines_outside_the_range_is_read_from_its_lines(account, clerk_actor):
    first = (today().replace(day=1) - 45 * DAY).replace(day=1)
    for day in (first + 2 * DAY, first + 10 * DAY, first + 20 * DAY):
        with clock_at(day):
            invoice = InvoiceFactory(account=account, total_minor=5000, bill_date=day)
            payment_record(invoice_id=invoice.pk, amount="10.00", actor=clerk_actor)
    for start, end in [
        (first + 5 * DAY, first + 15 * DAY),
        (first + 2 * DAY, first + 25 * DAY),
        (first, first + 12 * DAY),
        (first + 11 * DAY, today()),
    ]:
        assert from_trial_balance(start, end) == lines_only(start, end), (start, end)


def test_a_drifted_tally_is_reported_and_rebuilt_and_a_second_rebuild_changes_nothing(
    invoice, clerk_actor
):
    payment_record(invoice_id=invoice.pk, amount="20.00", actor=clerk_actor)
    code_id = JournalLine.objects.values_list("accounting_code_id", flat=True).first()
    month = today().replace(day=1)
    # A delta no posting wrote: the tally no longer adds up to the lines.
    currency = invoice.currency
    tallies.add(
        MonthTally,
        [{"month": month, "accounting_code_id": code_id, "currency": currency, "debit_minor": 7}],
    )
    check = verify_aggregates(10)
    assert check.failed == {TALLY_DRIFT: 1}
    assert "month tally" in check.failures[0].message
    # This month's trial balance is the tally's: it shows the stray 7.
    debits = sum(debits for _opening, debits, _credits in lines_only(month, today()).values())
    assert trial_balance(start=month, end=today()).totals[currency].debit_minor == debits + 7

    rebuilt = rebuild_aggregates()
    assert rebuilt.tally_keys == 1
    assert verify_aggregates(10).ok
    assert month_tally() == lines_by_month()
    assert MonthTally.objects.count() == len(month_tally())  # compacted too
    assert rebuild_aggregates().tally_keys == 0
    out = io.StringIO()
    call_command("rebuild_aggregates", stdout=out)
    assert "Nothing to rebuild" in out.getvalue()


def test_compaction_folds_the_deltas_and_keeps_every_figure(account, clerk_actor):
    history(account, clerk_actor, months=3)
    before = month_tally()
    rows = MonthTally.objects.count()
    assert tallies.compact(MonthTally) == (rows, len(before))
    assert MonthTally.objects.count() == len(before) < rows
    assert month_tally() == before == lines_by_month()
