"""The journal's commands on one small seeded ledger, seeded once for this module
(tests/billing/seeded.py): seed_billing posts what it makes, backfill_journal posts
it again on its own dates, and a later small seed keeps or rebuilds the journal's
indexes. Each test's changes are rolled back before the next."""

import pytest
from django.core.management.base import CommandError
from django.db.models import Sum

from billing.models import Invoice, JournalEntry, JournalLine, Payment
from tests.billing.seeded import run, seed_once
from tests.billing.test_journal_commands import (
    AS_OF,
    SMALL,
    ddl_of,
    journal_digest,
    journal_index_columns,
)
from writeoffs.models import WriteOff

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The small ledger's seed output; its rows stay until the module ends."""
    with seed_once(django_db_blocker, *SMALL) as output:
        yield output


@pytest.fixture(autouse=True)
def _local_demo_database(settings):
    """A second seed runs as a developer's does, with DEBUG on (pytest turns it off)."""
    settings.DEBUG = True


def test_seeding_posts_an_entry_for_every_money_event_and_verify_ledger_agrees(seeded):
    # A void invoice was sent, then voided: it carries both entries.
    sent = Invoice.objects.exclude(status=Invoice.Status.DRAFT).count()
    void = Invoice.objects.filter(status=Invoice.Status.VOID).count()
    assert void > 0
    assert JournalEntry.objects.filter(event="invoice_sent").count() == sent
    assert JournalEntry.objects.filter(event="invoice_void").count() == void
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


def test_seed_reset_also_deletes_the_journal(seeded):
    first = JournalEntry.objects.count()
    run("seed_billing", "--reset", "--noinput", *SMALL)
    assert JournalEntry.objects.count() == first
    assert "the journal agrees" in run("verify_ledger")


def test_backfill_posts_every_row_on_its_own_dates_as_seeding_does(seeded):
    posted = journal_digest()
    JournalLine.objects.all().delete()
    JournalEntry.objects.all().delete()
    with pytest.raises(CommandError):
        run("verify_ledger")
    out = run("backfill_journal")
    assert "Posted" in out
    assert journal_digest() == posted
    assert "the journal agrees" in run("verify_ledger")


def test_backfill_run_again_posts_nothing(seeded):
    JournalLine.objects.filter(entry__event="payment_void").delete()
    JournalEntry.objects.filter(event="payment_void").delete()
    run("backfill_journal")
    count = JournalEntry.objects.count()
    again = run("backfill_journal")  # nothing to do: exit 0, and says so
    assert "Nothing to backfill: every invoice, payment and write-off already has" in again
    assert JournalEntry.objects.count() == count


def test_a_small_seed_into_a_larger_database_keeps_the_indexes(seeded):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        run("seed_billing", "--accounts", "1", "--invoices-per-account", "5", "--as-of", AS_OF)
    assert ddl_of(queries) == []
    assert "the journal agrees" in run("verify_ledger")


def test_the_next_seed_builds_an_index_a_killed_run_left_missing(seeded):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute('DROP INDEX "journal_line_date_amounts_idx"')
    assert "journal_line_date_amounts_idx" not in journal_index_columns()
    # A small seed into the larger database: it drops nothing, but builds what is missing.
    run("seed_billing", "--accounts", "1", "--invoices-per-account", "5", "--as-of", AS_OF)
    assert journal_index_columns()["journal_line_date_amounts_idx"] == [
        "entry_date",
        "accounting_code_id",
        "currency",
        "debit_minor",
        "credit_minor",
    ]
