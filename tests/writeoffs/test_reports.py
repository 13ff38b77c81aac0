"""The reports' figures against the hand-computed ledger in reports_fixture.py, on
whichever database the suite runs (SQLite by default, PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import F
from django.urls import reverse

from billing import tallies
from billing.models import Invoice, JournalLine
from tests.writeoffs.reports_fixture import DAY, build_report_ledger
from writeoffs import reports
from writeoffs.models import DisputeHold, ReasonCode

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(clerk, supervisor, settings):
    return build_report_ledger(clerk, supervisor, settings)


def buckets(row) -> dict[str, int]:
    return {key: amount for key, amount in row.buckets.items() if amount}


def by_account(report) -> dict[tuple[int, str], tuple[dict, int]]:
    return {
        (row.acct_no, row.currency): (buckets(row), row.outside["held"]) for row in report.accounts
    }


def test_aging_today_puts_each_invoice_in_its_bucket_with_holds_outside(ledger):
    report = reports.aging_report(ledger.today)
    assert by_account(report) == {
        (5001, "USD"): ({"current": 3000, "d1_30": 5000, "d61_90": 7000}, 2000),
        (6001, "EUR"): ({"d31_60": 15000}, 0),
        (7001, "USD"): ({"current": 6000}, 0),
    }
    assert buckets(report.totals["USD"]) == {"current": 9000, "d1_30": 5000, "d61_90": 7000}
    assert report.totals["USD"].outside == {"held": 2000, "pending": 0}
    assert report.totals["USD"].total_minor == 23000
    assert buckets(report.totals["EUR"]) == {"d31_60": 15000}


def test_aging_as_of_a_past_date_reads_that_dates_balances_holds_and_aging_dates(ledger):
    report = reports.aging_report(ledger.today - 10 * DAY)
    assert by_account(report) == {
        (5001, "USD"): ({"current": 5000, "d31_60": 7000, "over_90": 3000}, 5000),
        (6001, "EUR"): ({"d1_30": 17500}, 0),
    }
    assert report.totals["USD"].total_minor == 20000
    assert report.totals["EUR"].total_minor == 17500


def test_a_reage_counts_only_from_its_settlement_date(ledger):
    """I3 was re-aged on T-3: at T-3 it is current, the day before it is 169 days past
    (all of it still held then: the hold covered its whole balance due)."""
    i3 = ledger.invoices["I3"]
    on_reage = reports.aging_invoices(ledger.today - 3 * DAY, currency="USD", column="current")
    before = reports.aging_invoices(ledger.today - 4 * DAY, currency="USD", column="held")
    assert i3.pk in {invoice.pk for invoice in on_reage}
    assert [invoice.pk for invoice in before] == [i3.pk]
    assert before[0].aging_on == i3.due_date
    assert before[0].bucket == reports.BUCKET_KEYS.index("over_90")


def test_each_currency_total_agrees_with_the_trial_balance_ar_control(ledger):
    for as_of in (ledger.today, ledger.today - 10 * DAY, ledger.today - 365 * DAY):
        report = reports.aging_report(as_of)
        assert report.agrees
        assert {c.currency: c.ar_control_minor for c in report.checks} == {
            currency: total.total_minor for currency, total in report.totals.items()
        }
    assert {c.currency: c.aging_minor for c in reports.aging_report(ledger.today).checks} == {
        "EUR": 15000,
        "USD": 23000,
    }


def test_the_check_shows_a_disagreement(ledger, settings):
    """An AR line posted in a currency other than its invoice's (written here behind
    the journal's back, its tallies then rebuilt as a posting would have kept them)
    puts the books and the aging apart, and the check says so."""
    line = JournalLine.objects.filter(
        invoice=ledger.invoices["I1"], accounting_code__code=settings.AR_CONTROL_CODE
    ).first()
    JournalLine.objects.filter(pk=line.pk).update(currency="EUR")
    tallies.rebuild_all()
    report = reports.aging_report(ledger.today)
    assert not report.agrees
    usd = next(check for check in report.checks if check.currency == "USD")
    assert (usd.aging_minor, usd.agrees) == (23000, False)


def test_as_of_today_the_check_compares_the_invoices_stored_balances_too(ledger, client, viewer):
    """The journal agreeing with itself proves nothing about the invoices: as of today
    the aging's total is also compared with the balance due the invoices store, which
    the services keep apart from the journal (issue 26)."""
    report = reports.aging_report(ledger.today)
    assert {c.currency: c.stored_minor for c in report.checks} == {"EUR": 15000, "USD": 23000}
    assert report.agrees
    # A past date has no stored balances to compare with.
    assert {c.stored_minor for c in reports.aging_report(ledger.today - 10 * DAY).checks} == {None}
    # An invoice whose stored figures drifted from its journal lines (written here
    # behind the services' back): the journal still agrees with itself, the check not.
    Invoice.objects.filter(pk=ledger.invoices["I1"].pk).update(paid_minor=F("paid_minor") + 100)
    report = reports.aging_report(ledger.today)
    usd = next(check for check in report.checks if check.currency == "USD")
    assert (usd.aging_minor, usd.ar_control_minor, usd.stored_minor) == (23000, 23000, 22900)
    assert not usd.agrees and not report.agrees
    client.force_login(viewer)
    page = client.get(reverse("report_aging")).content.decode()
    assert "Balance due (invoices)" in page
    assert "Does not agree" in page


def test_a_currency_filter_keeps_only_that_currency(ledger):
    report = reports.aging_report(ledger.today, currency="EUR")
    assert list(report.totals) == ["EUR"]
    assert [row.acct_no for row in report.accounts] == [6001]


def test_drill_down_lists_the_invoices_behind_a_cell(ledger):
    i = ledger.invoices
    cell = reports.aging_invoices(ledger.today, currency="USD", column="current", acct_no=5001)
    assert [(inv.pk, inv.balance_at, inv.held_at, inv.bucketed_at) for inv in cell] == [
        (i["I2"].pk, 5000, 2000, 3000)
    ]
    total_cell = reports.aging_invoices(ledger.today, currency="USD", column="current")
    assert {inv.pk for inv in total_cell} == {i["I2"].pk, i["I6"].pk}
    held = reports.aging_invoices(ledger.today - 10 * DAY, currency="USD", column="held")
    assert [(inv.pk, inv.held_at) for inv in held] == [(i["I3"].pk, 5000)]


def test_drill_down_cells_add_up_to_the_report(ledger):
    as_of = ledger.today - 10 * DAY
    report = reports.aging_report(as_of)
    for currency, total in report.totals.items():
        for key in reports.BUCKET_KEYS:
            cell = reports.aging_invoices(as_of, currency=currency, column=key)
            assert sum(inv.bucketed_at for inv in cell) == total.buckets[key]


def test_writeoff_analysis_nets_a_reversal_in_the_month_it_posts(ledger):
    t = ledger.today
    analysis = reports.writeoff_analysis(t - 400 * DAY, t)
    expected: dict[tuple, list[int]] = {}

    def add(day, currency, reason, revenue, written, reversed_):
        key = (day.replace(day=1), currency, reason, revenue, "clerk")
        totals = expected.setdefault(key, [0, 0])
        totals[0] += written
        totals[1] += reversed_

    add(t - 5 * DAY, "USD", ReasonCode.BAD_DEBT, True, 3000, 0)
    add(t - 30 * DAY, "EUR", ReasonCode.BILLING_ERROR, False, 2500, 0)
    add(t, "EUR", ReasonCode.BILLING_ERROR, False, 0, 2500)
    got = {
        (r.month, r.currency, r.reason_code, r.revenue_impacting, r.user): [
            r.written_off_minor,
            r.reversed_minor,
        ]
        for r in analysis.rows
    }
    assert got == expected
    usd = [m for m in analysis.months if m.currency == "USD"]
    assert [(m.month, m.net_minor, m.revenue_minor, m.expense_minor) for m in usd] == [
        ((t - 5 * DAY).replace(day=1), 3000, 3000, 0)
    ]
    eur_net = sum(m.net_minor for m in analysis.months if m.currency == "EUR")
    assert eur_net == 0
    assert sum(m.expense_minor for m in analysis.months if m.currency == "EUR") == 0
    assert {(u.user, u.currency): u.net_minor for u in analysis.users} == {
        ("clerk", "USD"): 3000,
        ("clerk", "EUR"): 0,
    }
    assert all(m.recovered_minor == 0 for m in analysis.months)


def test_writeoff_analysis_range_leaves_out_what_posted_outside_it(ledger):
    t = ledger.today
    # Only the reversal (today) is in range: the EUR month shows it reversed, net negative.
    analysis = reports.writeoff_analysis(t, t)
    assert [(r.currency, r.written_off_minor, r.reversed_minor) for r in analysis.rows] == [
        ("EUR", 0, 2500)
    ]
    assert analysis.months[0].by_reason == {ReasonCode.BILLING_ERROR: -2500}


def test_a_dispute_conversion_counts_as_written_off_under_its_reason(ledger, supervisor_actor):
    from writeoffs.lifecycle.holds import dispute_hold_settle

    hold = DisputeHold.objects.get(invoice=ledger.invoices["I2"], status="open")
    dispute_hold_settle(
        dispute_hold_id=hold.pk, action="convert", actor=supervisor_actor, reason_code=5
    )
    analysis = reports.writeoff_analysis(ledger.today, ledger.today)
    assert {(r.currency, r.reason_code, r.user, r.written_off_minor) for r in analysis.rows} >= {
        ("USD", ReasonCode.OTHER, "supervisor", 2000)
    }


def test_worklist_filters_open_holds_by_expiry(ledger, clerk_actor):
    from writeoffs.lifecycle.holds import dispute_hold_create

    t = ledger.today
    soon = dispute_hold_create(
        invoice_id=ledger.invoices["I6"].pk, amount="5.00", comments="Soon", actor=clerk_actor
    )
    late = dispute_hold_create(
        invoice_id=ledger.invoices["I6"].pk, amount="5.00", comments="Late", actor=clerk_actor
    )
    DisputeHold.objects.filter(pk=soon.pk).update(expires_on=t + 7 * DAY)
    DisputeHold.objects.filter(pk=late.pk).update(expires_on=t - DAY)
    i2_hold = DisputeHold.objects.get(invoice=ledger.invoices["I2"])
    assert [h.pk for h in reports.open_holds("all", t)] == [late.pk, soon.pk, i2_hold.pk]
    assert [h.pk for h in reports.open_holds("week", t)] == [soon.pk]
    assert [h.pk for h in reports.open_holds("expired", t)] == [late.pk]


def test_home_figures_sum_the_running_totals_of_sent_invoices(ledger):
    t = ledger.today
    month = reports.writeoff_analysis(t.replace(day=1), t)
    figures = reports.home_figures(t, month)
    by_currency = {f.currency: f for f in figures.currencies}
    assert by_currency["USD"].receivable_minor == 23000
    assert by_currency["USD"].held_minor == 2000
    assert by_currency["EUR"].receivable_minor == 15000
    this_month = {
        "USD": 3000 if (t - 5 * DAY).month == t.month else 0,
        "EUR": (2500 if (t - 30 * DAY).month == t.month else 0) - 2500,
    }
    assert {c: by_currency[c].written_off_minor for c in ("USD", "EUR")} == this_month
    assert figures.pending_approvals == 0
    assert figures.expiring_this_week == 0


def test_month_starts_cover_the_range():
    assert reports.month_starts(datetime.date(2026, 11, 15), datetime.date(2027, 2, 1)) == [
        datetime.date(2026, 11, 1),
        datetime.date(2026, 12, 1),
        datetime.date(2027, 1, 1),
        datetime.date(2027, 2, 1),
    ]


def test_a_write_off_pending_approval_has_its_own_column_until_it_is_decided(
    ledger, clerk, supervisor
):
    from billing.actors import Actor
    from writeoffs.approvals.decisions import writeoff_approve
    from writeoffs.lifecycle.create import writeoff_create
    from writeoffs.models import ApprovalLimit, WriteOff

    ApprovalLimit.objects.filter(role="clerk", currency="USD").update(limit_minor=10_00)
    before = reports.aging_report(ledger.today).totals["USD"]
    pending = writeoff_create(
        invoice_id=ledger.invoices["I2"].pk,
        amount="25.00",
        reason_code=ReasonCode.BAD_DEBT,
        comments="Over the clerk's limit",
        actor=Actor.for_user(clerk),
    )
    assert pending.status == WriteOff.Status.PENDING

    waiting = reports.aging_report(ledger.today)
    # Still due (nothing posted), so the total is unchanged; it leaves its bucket.
    assert waiting.totals["USD"].outside["pending"] == 2500
    assert waiting.totals["USD"].total_minor == before.total_minor
    assert waiting.totals["USD"].bucketed_minor == before.bucketed_minor - 2500
    assert waiting.agrees

    writeoff_approve(writeoff_id=pending.pk, actor=Actor.for_user(supervisor))
    approved = reports.aging_report(ledger.today)
    assert approved.totals["USD"].outside["pending"] == 0
    assert approved.totals["USD"].total_minor == before.total_minor - 2500
    assert approved.agrees
