"""A bulk run against the per-invoice split rule, and the approver its write-offs name.

Issue 26, findings 6 and 7: a run's approval covers its total, not what its creator
already wrote off by hand on the same invoices; and the second person who starts a
run over its creator's limit is each write-off's approver, in the journal too.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.factories import AccountFactory
from billing.ledger.export import EXPORT_HEADER, journal_export_rows
from billing.models import Invoice, JournalEntry, JournalLine
from tests.ledger import assert_ledger_consistent
from tests.writeoffs.bulk_support import criteria, small_invoice
from writeoffs.bulk.execute import bulk_run_execute, bulk_run_progress
from writeoffs.bulk.log import bulk_run_log_rows
from writeoffs.bulk.preview import bulk_run_preview_invoices
from writeoffs.bulk.runs import bulk_run_create
from writeoffs.bulk.tasks import start_bulk_run
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.models import BulkRun, BulkRunItem, WriteOff

pytestmark = pytest.mark.django_db


@pytest.fixture
def usd(db):
    return AccountFactory(acct_no=7101, currency="USD")


def half_written_off(usd, clerk_actor) -> Invoice:
    """An invoice of 900.00 on which the clerk (limit 500.00) wrote off 450.00 by hand."""
    invoice = small_invoice(usd, 900_00)
    manual = writeoff_create(
        invoice_id=invoice.pk, amount="450.00", reason_code=0, comments="By hand", actor=clerk_actor
    )
    assert manual.status == WriteOff.Status.ACTIVE
    return invoice


def run_of(actor, **overrides) -> BulkRun:
    overrides.setdefault("max_balance", {"USD": "450.00"})
    return bulk_run_create(actor=actor, **criteria(**overrides))


def test_a_bulk_item_over_the_creators_limit_with_their_manual_writeoff_is_skipped(
    clerk_actor, usd
):
    """The audit's case: 450.00 by hand, then 450.00 by the clerk's own run: 900.00 on one
    invoice within 30 days is over the clerk's 500.00, and nobody approved it."""
    invoice = half_written_off(usd, clerk_actor)
    other = small_invoice(usd, 40_00)
    run = start_bulk_run(run_id=run_of(clerk_actor).pk, actor=clerk_actor)
    assert run.approved_by == clerk_actor.user  # 490.00 is within the clerk's limit
    run = bulk_run_execute(run.pk)

    item = run.items.get(invoice=invoice)
    assert item.state == BulkRunItem.State.SKIPPED
    assert item.skip_rule == BulkRunItem.SkipRule.OVER_LIMIT
    assert "900.00 USD is above the run's approval limit of 500.00 USD" in item.message
    assert run.items.get(invoice=other).state == BulkRunItem.State.WRITTEN
    assert Invoice.objects.get(pk=invoice.pk).written_off_minor == 450_00
    assert not WriteOff.objects.filter(bulk_run=run, invoice=invoice).exists()
    progress = bulk_run_progress(run)
    assert (progress.written, progress.skipped, progress.failed) == (1, 1, 0)
    assert progress.skipped_by_rule == {"over_limit": 1}
    rows = {row[1]: row for row in bulk_run_log_rows(run)}
    assert rows[invoice.invoice_no][5:7] == ["skipped", "over_limit"]
    assert_ledger_consistent(invoice.pk)


def test_a_bulk_item_counts_the_creators_pending_writeoffs_and_earlier_runs(clerk_actor, usd):
    """Pending write-offs reserve against the rule as active ones do, and so does what an
    earlier run of the same creator wrote on the invoice."""
    pending_on = small_invoice(usd, 800_00)
    pending = writeoff_create(
        invoice_id=pending_on.pk, amount="501.00", reason_code=0, comments="x", actor=clerk_actor
    )
    assert pending.status == WriteOff.Status.PENDING  # 299.00 is still available
    run = start_bulk_run(
        run_id=run_of(clerk_actor, max_balance={"USD": "300.00"}).pk, actor=clerk_actor
    )
    bulk_run_execute(run.pk)
    assert run.items.get(invoice=pending_on).skip_rule == BulkRunItem.SkipRule.OVER_LIMIT


def test_an_item_within_the_creators_limit_with_their_manual_writeoff_is_written(clerk_actor, usd):
    """400.00 by hand plus 100.00 by the run is 500.00: exactly the clerk's limit."""
    invoice = small_invoice(usd, 500_00)
    writeoff_create(
        invoice_id=invoice.pk, amount="400.00", reason_code=0, comments="x", actor=clerk_actor
    )
    run = start_bulk_run(run_id=run_of(clerk_actor).pk, actor=clerk_actor)
    bulk_run_execute(run.pk)
    [writeoff] = WriteOff.objects.filter(bulk_run=run)
    assert writeoff.status == WriteOff.Status.ACTIVE
    assert (writeoff.limit_applied_minor, writeoff.checked_minor) == (500_00, 500_00)


def test_another_persons_writeoffs_and_older_ones_do_not_count(clerk_actor, supervisor_actor, usd):
    """The rule counts the requester's own write-offs in the window, as for a manual one."""
    by_other = small_invoice(usd, 900_00)
    writeoff_create(
        invoice_id=by_other.pk, amount="450.00", reason_code=0, comments="x", actor=supervisor_actor
    )
    first = start_bulk_run(run_id=run_of(clerk_actor).pk, actor=clerk_actor)
    bulk_run_execute(first.pk)
    assert first.items.get().state == BulkRunItem.State.WRITTEN

    old = half_written_off(usd, clerk_actor)
    WriteOff.objects.filter(invoice=old, bulk_run=None).update(
        created_at=timezone.now() - datetime.timedelta(days=31)
    )
    second = start_bulk_run(run_id=run_of(clerk_actor).pk, actor=clerk_actor)
    bulk_run_execute(second.pk)
    assert second.items.get().invoice_id == old.pk
    assert second.items.get().state == BulkRunItem.State.WRITTEN


def test_a_run_approved_by_a_higher_limit_covers_the_creators_earlier_writeoffs(
    clerk_actor, supervisor_actor, usd
):
    """The limit is the one that approved the run: a supervisor's 5,000.00 covers the
    clerk's 450.00 by hand plus the run's 450.00 on the same invoice."""
    invoice = half_written_off(usd, clerk_actor)
    small_invoice(usd, 100_00)  # 550.00 in all: above the clerk's own limit
    run = start_bulk_run(run_id=run_of(clerk_actor).pk, actor=supervisor_actor)
    bulk_run_execute(run.pk)
    writeoff = WriteOff.objects.get(bulk_run=run, invoice=invoice)
    assert writeoff.status == WriteOff.Status.ACTIVE
    assert (writeoff.limit_applied_minor, writeoff.checked_minor) == (5_000_00, 900_00)
    assert Invoice.objects.get(pk=invoice.pk).balance_due_minor == 0


def test_the_preview_flags_an_invoice_the_split_rule_would_skip(clerk_actor, usd):
    flagged = half_written_off(usd, clerk_actor)
    clean = small_invoice(usd, 300_00)
    run = run_of(clerk_actor)
    rows = {i.pk: i.creator_window_minor for i in bulk_run_preview_invoices(run, "USD")}
    assert rows == {flagged.pk: 450_00, clean.pk: 0}


def test_the_preview_page_says_which_invoices_are_over_the_creators_limit(
    client, clerk, clerk_actor, usd
):
    flagged = half_written_off(usd, clerk_actor)
    clean = small_invoice(usd, 300_00)
    run = run_of(clerk_actor)
    client.force_login(clerk)
    page = client.get(reverse("bulk_run_detail", args=[run.pk])).content.decode()
    row = page.split(f'data-invoice="{flagged.invoice_no}"')[1].split("</tr>")[0]
    assert "Over the limit with earlier write-offs" in row
    assert "450.00" in row
    clean_row = page.split(f'data-invoice="{clean.invoice_no}"')[1].split("</tr>")[0]
    assert "Over the limit" not in clean_row


# --- finding 7: the run's approver on each write-off and in the journal ---------------


def test_each_writeoff_of_a_run_started_by_a_second_person_names_them(
    clerk_actor, supervisor_actor, usd
):
    for _ in range(3):
        small_invoice(usd, 200_00)  # 600.00: above the clerk's limit
    run = start_bulk_run(
        run_id=run_of(clerk_actor, max_balance={"USD": "200.00"}).pk, actor=supervisor_actor
    )
    run = bulk_run_execute(run.pk)
    writeoffs = list(WriteOff.objects.filter(bulk_run=run))
    assert len(writeoffs) == 3
    for writeoff in writeoffs:
        assert writeoff.requested_by == clerk_actor.user
        assert writeoff.approved_by == supervisor_actor.user
        assert writeoff.approved_by_label == "supervisor"
        assert writeoff.approved_at == run.approved_at
    entries = JournalEntry.objects.filter(
        source_type="writeoffs.writeoff", source_id__in=[w.pk for w in writeoffs]
    )
    assert sorted(entries.values_list("approved_by_label", flat=True)) == ["supervisor"] * 3
    lines = JournalLine.objects.filter(entry__in=entries).order_by("pk")
    approver = EXPORT_HEADER.index("Approver")
    assert {row[approver] for row in journal_export_rows(lines)} == {"supervisor"}


def test_a_run_its_creator_started_within_their_limit_names_no_second_approver(clerk_actor, usd):
    """As a write-off within its requester's limit: four eyes never name the requester."""
    small_invoice(usd, 100_00)
    run = start_bulk_run(run_id=run_of(clerk_actor).pk, actor=clerk_actor)
    bulk_run_execute(run.pk)
    [writeoff] = WriteOff.objects.filter(bulk_run=run)
    assert (writeoff.approved_by, writeoff.approved_by_label, writeoff.approved_at) == (
        None,
        "",
        None,
    )
    assert writeoff.amount == Decimal("100.00")
