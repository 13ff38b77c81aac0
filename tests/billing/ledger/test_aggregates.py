"""The journal's aggregates (billing/ledger/aggregates.py): kept by posting, written
when a month closes, read by the trial balance, verified and rebuilt."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db.models import F

from billing.actors import Actor
from billing.factories import InvoiceFactory
from billing.ledger.aggregates import (
    AR_BALANCE_DRIFT,
    PERIOD_BALANCE_DRIFT,
    closed_months_end,
    rebuild_aggregates,
    sums_between,
    verify_aggregates,
)
from billing.ledger.books import trial_balance
from billing.ledger.close import lock_date_move
from billing.models import AccountingPeriodLock, Invoice, JournalLine, PeriodBalance
from billing.receivables.payments import payment_record, payment_remove
from billing.rules import today
from tests.clock import clock_at

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
SYSTEM = Actor.for_system()


def ar_of(invoice: Invoice) -> int:
    return Invoice.objects.values_list("ar_balance_minor", flat=True).get(pk=invoice.pk)


def lines_only(start, end) -> dict:
    """The trial balance's figures computed from the lines alone, as before period
    balances: (code, currency) -> (opening, debits, credits)."""
    figures: dict = {}
    for line in JournalLine.objects.filter(entry_date__lte=end).select_related("accounting_code"):
        key = (line.accounting_code.code, line.currency)
        opening, debits, credits = figures.get(key, (0, 0, 0))
        if start is not None and line.entry_date < start:
            opening += line.debit_minor - line.credit_minor
        else:
            debits, credits = debits + line.debit_minor, credits + line.credit_minor
        figures[key] = (opening, debits, credits)
    return figures


def from_trial_balance(start, end) -> dict:
    balance = trial_balance(start=start, end=end)
    return {
        (row.code, row.currency): (row.opening_minor, row.debit_minor, row.credit_minor)
        for row in balance.rows
    }


def history(account, actor, months: int = 4) -> list[Invoice]:
    """Invoices sent and partly paid on days spread over the last ``months`` months."""
    invoices = []
    for n in range(months):
        day = today() - datetime.timedelta(days=30 * (months - n) - 3)
        with clock_at(day):
            invoice = InvoiceFactory(
                account=account, total_minor=10000 + n, bill_date=day, due_date=day + 30 * DAY
            )
            payment_record(invoice_id=invoice.pk, amount="25.00", actor=actor)
        invoices.append(invoice)
    return invoices


def test_every_posting_keeps_its_invoices_ar_balance(invoice, clerk_actor, supervisor_actor):
    assert ar_of(invoice) == 12000
    payment = payment_record(invoice_id=invoice.pk, amount="20.00", actor=clerk_actor)
    assert ar_of(invoice) == 10000
    payment_remove(payment_id=payment.pk, reason="Bounced", actor=supervisor_actor)
    assert ar_of(invoice) == 12000
    assert verify_aggregates(10).ok


def test_the_months_a_lock_date_closes_are_stored_and_the_trial_balance_agrees(
    account, clerk_actor, controller_actor
):
    history(account, clerk_actor)
    month_end = today().replace(day=1) - DAY
    before = {start: from_trial_balance(start, today()) for start in (None, month_end)}
    move = lock_date_move(locked_through=month_end, reason="Closed", actor=controller_actor)
    assert move.balances_before == month_end + DAY
    stored = PeriodBalance.objects.all()
    assert stored.exists()
    assert {row.month.day for row in stored} == {1}
    assert max(row.month for row in stored) < month_end + DAY
    for start in (
        None,
        month_end,
        month_end + DAY,
        today().replace(day=1, month=1),
        month_end - datetime.timedelta(days=40),
    ):
        assert from_trial_balance(start, today()) == lines_only(start, today()), start
    assert {s: from_trial_balance(s, today()) for s in before} == before
    assert verify_aggregates(10).ok


def test_a_range_inside_one_closed_month_reads_its_lines(account, clerk_actor, controller_actor):
    history(account, clerk_actor)
    month_end = today().replace(day=1) - DAY
    lock_date_move(locked_through=month_end, reason="Closed", actor=controller_actor)
    first = (month_end - datetime.timedelta(days=60)).replace(day=1)
    for start, end in [(first + 5 * DAY, first + 20 * DAY), (None, first + 3 * DAY)]:
        assert from_trial_balance(start, end) == lines_only(start, end)


def test_a_lock_date_mid_month_stores_only_the_months_before_it(
    account, clerk_actor, controller_actor
):
    history(account, clerk_actor)
    mid = today().replace(day=1) - datetime.timedelta(days=20)
    move = lock_date_move(locked_through=mid, reason="Closed", actor=controller_actor)
    assert move.balances_before == mid.replace(day=1) == closed_months_end(mid)
    assert not PeriodBalance.objects.filter(month__gte=mid.replace(day=1)).exists()


def test_moving_the_lock_date_back_drops_the_reopened_months(
    account, clerk_actor, controller_actor, django_user_model
):
    history(account, clerk_actor)
    month_end = today().replace(day=1) - DAY
    lock_date_move(locked_through=month_end, reason="Closed", actor=controller_actor)
    earlier = month_end.replace(day=1) - DAY
    superuser = django_user_model.objects.create_superuser("root", "r@example.com", "x")
    back = lock_date_move(locked_through=earlier, reason="Reopen", actor=Actor.for_user(superuser))
    assert back.balances_before == earlier + DAY
    assert not PeriodBalance.objects.filter(month__gt=earlier).exists()
    assert from_trial_balance(None, today()) == lines_only(None, today())
    assert verify_aggregates(10).ok


def test_a_lock_date_written_by_hand_stores_nothing_and_the_lines_are_read(
    account, clerk_actor, controller_actor
):
    history(account, clerk_actor)
    AccountingPeriodLock.objects.create(locked_through=today() - 10 * DAY, reason="By hand")
    assert sums_between(None, today()) == sums_between(None, today(), codes=None)
    assert from_trial_balance(None, today()) == lines_only(None, today())
    assert verify_aggregates(10).ok


def test_verify_reports_each_drifted_aggregate_and_the_rebuild_repairs_it_once(
    account, clerk_actor, controller_actor
):
    invoices = history(account, clerk_actor)
    month_end = today().replace(day=1) - DAY
    lock_date_move(locked_through=month_end, reason="Closed", actor=controller_actor)
    Invoice.objects.filter(pk=invoices[0].pk).update(ar_balance_minor=F("ar_balance_minor") + 7)
    PeriodBalance.objects.filter(pk=PeriodBalance.objects.first().pk).update(debit_minor=1)
    result = verify_aggregates(10)
    assert result.failed == {AR_BALANCE_DRIFT: 1, PERIOD_BALANCE_DRIFT: 1}
    assert f"Invoice {invoices[0].invoice_no} stores an AR-control balance" in (
        result.failures[0].message
    )
    rebuilt = rebuild_aggregates()
    assert rebuilt.ar_balances == 1 and rebuilt.period_balances >= 1
    assert verify_aggregates(10).ok
    again = rebuild_aggregates()
    assert (again.ar_balances, again.period_balances) == (0, 0)


def test_the_command_says_when_there_is_nothing_to_rebuild(invoice):
    out = io.StringIO()
    call_command("rebuild_aggregates", stdout=out)
    assert "Nothing to rebuild" in out.getvalue()
    Invoice.objects.filter(pk=invoice.pk).update(ar_balance_minor=0)
    out = io.StringIO()
    call_command("rebuild_aggregates", stdout=out)
    assert "Rebuilt 1 invoices' AR-control balances" in out.getvalue()
    assert ar_of(invoice) == 12000


def test_the_migration_builds_the_aggregates_of_an_existing_database(
    account, clerk_actor, controller_actor
):
    """billing 0017 on a database that has a journal and a lock date but no aggregates."""
    import importlib
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("billing.migrations.0017_journal_aggregates")
    history(account, clerk_actor)
    month_end = today().replace(day=1) - DAY
    lock_date_move(locked_through=month_end, reason="Closed", actor=controller_actor)
    expected = from_trial_balance(None, today())
    Invoice.objects.update(ar_balance_minor=0)
    PeriodBalance.objects.all().delete()
    AccountingPeriodLock.objects.update(balances_before=None)
    assert not verify_aggregates(10).ok

    # The data step reads only the schema editor's connection (the database migrated).
    migration.build_aggregates(apps, SimpleNamespace(connection=connection))

    assert verify_aggregates(10).ok
    assert AccountingPeriodLock.objects.get().balances_before == month_end + DAY
    assert PeriodBalance.objects.exists()
    assert from_trial_balance(None, today()) == expected
