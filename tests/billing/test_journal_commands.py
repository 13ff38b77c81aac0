"""The journal's commands: seed_billing posts what it makes and refuses once the books
are closed; backfill_journal posts an existing database on its own dates, once."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum

from billing.models import AccountingPeriodLock, Invoice, JournalEntry, JournalLine, Payment
from writeoffs.models import WriteOff


@pytest.fixture(autouse=True)
def _local_demo_database(settings):
    """Seeding runs as a developer's does, with DEBUG on (pytest turns it off);
    tests/billing/test_seed_safety.py covers DEBUG off."""
    settings.DEBUG = True

AS_OF = "2026-06-30"
SMALL = ["--accounts", "4", "--invoices-per-account", "30", "--as-of", AS_OF]

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def journal_digest() -> list:
    return list(
        JournalEntry.objects.order_by("source_type", "source_id", "event").values_list(
            "source_type", "source_id", "event", "entry_date", "currency"
        )
    ), list(
        JournalLine.objects.order_by(
            "entry__source_type", "entry__source_id", "entry__event", "accounting_code__code"
        ).values_list(
            "entry__source_type",
            "entry__source_id",
            "entry__event",
            "accounting_code__code",
            "debit_minor",
            "credit_minor",
            "entry_date",
        )
    )


def test_seeding_posts_an_entry_for_every_money_event_and_verify_ledger_agrees():
    run("seed_billing", *SMALL)
    sent = Invoice.objects.filter(status=Invoice.Status.SENT).count()
    assert JournalEntry.objects.filter(event="invoice_sent").count() == sent
    assert JournalEntry.objects.filter(event="payment").count() == Payment.objects.count()
    assert JournalEntry.objects.filter(event="payment_void").count() == (
        Payment.objects.filter(status=Payment.Status.REMOVED).count()
    )
    assert JournalEntry.objects.filter(event__in=["writeoff", "dispute_conversion"]).count() == (
        WriteOff.objects.count()
    )
    totals = JournalLine.objects.aggregate(d=Sum("debit_minor"), c=Sum("credit_minor"))
    assert totals["d"] == totals["c"] > 0
    assert "the journal agrees" in run("verify_ledger")


def test_seed_billing_refuses_once_a_lock_date_is_set():
    AccountingPeriodLock.objects.create(locked_through=datetime.date(2026, 5, 31), reason="May")
    with pytest.raises(CommandError, match="closed through 2026-05-31"):
        run("seed_billing", *SMALL)
    assert not Invoice.objects.exists()


def test_seed_reset_also_deletes_the_journal():
    run("seed_billing", *SMALL)
    first = JournalEntry.objects.count()
    run("seed_billing", "--reset", "--noinput", *SMALL)
    assert JournalEntry.objects.count() == first
    assert "the journal agrees" in run("verify_ledger")


def test_backfill_posts_every_row_on_its_own_dates_as_seeding_does():
    run("seed_billing", *SMALL)
    seeded = journal_digest()
    JournalLine.objects.all().delete()
    JournalEntry.objects.all().delete()
    with pytest.raises(CommandError):
        run("verify_ledger")
    out = run("backfill_journal")
    assert "Posted" in out
    assert journal_digest() == seeded
    assert "the journal agrees" in run("verify_ledger")


def test_backfill_run_again_posts_nothing():
    run("seed_billing", *SMALL)
    JournalLine.objects.filter(entry__event="payment_void").delete()
    JournalEntry.objects.filter(event="payment_void").delete()
    run("backfill_journal")
    count = JournalEntry.objects.count()
    assert "0 invoices sent, 0 payments, 0 payment voids" in run("backfill_journal")
    assert JournalEntry.objects.count() == count


def test_backfill_refuses_once_a_lock_date_is_set():
    AccountingPeriodLock.objects.create(locked_through=datetime.date(2026, 5, 31), reason="May")
    with pytest.raises(CommandError, match="closed through 2026-05-31"):
        run("backfill_journal")
