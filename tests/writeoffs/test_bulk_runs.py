"""Bulk small-balance write-off runs: criteria, preview, approval, execution, cancel, resume.

The worker's code path (``bulk_run_execute``) runs here in-process; the
exactly-once test with a real worker process and SIGKILL is test_bulk_worker.py.
"""

from __future__ import annotations

import datetime
import io
from collections import Counter
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from billing.actors import Actor
from billing.errors import (
    BULK_RUN_EMPTY,
    BULK_RUN_INVALID_CRITERIA,
    BULK_RUN_INVALID_STATE,
    BULK_RUN_OVER_LIMIT,
    INVALID_ACCOUNTING_CODE,
    INVOICE_NOT_OPEN,
    INVOICE_VOID,
    OVER_AVAILABLE,
    PERIOD_CLOSED,
    PERMISSION_DENIED,
    BillingError,
)
from billing.factories import AccountFactory, UserFactory
from billing.ledger.close import lock_date_move
from billing.models import Account, AccountingPeriodLock, Invoice
from billing.receivables.invoices import invoice_void
from billing.receivables.payments import payment_record
from billing.roles import CLERK, CONTROLLER, SUPERVISOR
from billing.rules import lock_invoice, today
from tests.ledger import assert_ledger_consistent
from tests.writeoffs.bulk_support import criteria, small_invoice
from writeoffs.bulk.execute import (
    bulk_run_execute,
    bulk_run_progress,
    write_next_item,
)
from writeoffs.bulk.log import bulk_run_log_rows
from writeoffs.bulk.preview import bulk_run_preview, bulk_run_preview_invoices
from writeoffs.bulk.runs import (
    bulk_run_cancel,
    bulk_run_create,
    bulk_run_exclude,
)
from writeoffs.bulk.tasks import resume_bulk_run, resume_stalled_bulk_runs, start_bulk_run
from writeoffs.lifecycle.create import (
    bulk_idempotency_key,
    writeoff_create,
    writeoff_create_in_run,
)
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import BulkRun, BulkRunItem, Source, WriteOff

pytestmark = pytest.mark.django_db


def figures(run: BulkRun) -> dict[str, tuple[int, int]]:
    return {f.currency: (f.count, f.total_minor) for f in bulk_run_preview(run)}


@pytest.fixture
def usd(db):
    return AccountFactory(acct_no=7001, currency="USD")


@pytest.fixture
def eur(db):
    return AccountFactory(acct_no=7002, currency="EUR")


def task_runs() -> Counter[int]:
    """How many tasks are enqueued for each run."""
    stored = DBTaskResult.objects.values_list("args_kwargs", flat=True)
    return Counter(args_kwargs["args"][0] for args_kwargs in stored)


def started(actor: Actor, **overrides) -> BulkRun:
    run = bulk_run_create(actor=actor, **criteria(**overrides))
    return start_bulk_run(run_id=run.pk, actor=actor)


# --- criteria -------------------------------------------------------------------------


def test_preview_counts_and_totals_each_currency_up_to_its_largest_balance(clerk_actor, usd, eur):
    small_invoice(usd, 100)
    small_invoice(usd, 500)
    small_invoice(usd, 501)  # above 5.00
    small_invoice(eur, 300)
    small_invoice(eur, 301)  # above EUR's 3.00
    run = bulk_run_create(actor=clerk_actor, **criteria(max_balance={"USD": "5.00", "EUR": "3.00"}))
    assert figures(run) == {"USD": (2, 600), "EUR": (1, 300)}


def test_preview_leaves_out_settled_draft_and_void_invoices(clerk_actor, usd, supervisor_actor):
    small_invoice(usd, 200)
    paid = small_invoice(usd, 200)
    payment_record(invoice_id=paid.pk, amount="2.00", actor=supervisor_actor)
    small_invoice(usd, 200, status=Invoice.Status.DRAFT)
    small_invoice(usd, 200, status=Invoice.Status.VOID)
    run = bulk_run_create(actor=clerk_actor, **criteria())
    assert figures(run) == {"USD": (1, 200)}


def test_the_balance_counted_is_what_is_left_after_payments(clerk_actor, usd, supervisor_actor):
    invoice = small_invoice(usd, 12000)
    payment_record(invoice_id=invoice.pk, amount="119.00", actor=supervisor_actor)
    run = bulk_run_create(actor=clerk_actor, **criteria())
    assert figures(run) == {"USD": (1, 100)}


def test_only_invoices_at_least_the_given_days_past_their_aging_date_are_chosen(clerk_actor, usd):
    small_invoice(usd, 100, days_past_aging=90)
    small_invoice(usd, 100, days_past_aging=89)
    run = bulk_run_create(actor=clerk_actor, **criteria(older_than_days=90))
    assert figures(run) == {"USD": (1, 100)}


def test_account_status_is_a_criterion_and_defaults_to_active(clerk_actor, usd):
    small_invoice(usd, 100)
    suspended = AccountFactory(acct_no=7003, status=Account.Status.SUSPENDED)
    small_invoice(suspended, 200)
    default = bulk_run_create(actor=clerk_actor, **criteria())
    both = bulk_run_create(actor=clerk_actor, **criteria(account_statuses=["active", "suspended"]))
    only_suspended = bulk_run_create(actor=clerk_actor, **criteria(account_statuses=["suspended"]))
    assert figures(default) == {"USD": (1, 100)}
    assert figures(both) == {"USD": (2, 300)}
    assert figures(only_suspended) == {"USD": (1, 200)}


def test_invoices_with_open_holds_are_left_out_by_default(clerk_actor, usd):
    small_invoice(usd, 100)
    held = small_invoice(usd, 400)
    dispute_hold_create(invoice_id=held.pk, amount="1.00", comments="Disputed", actor=clerk_actor)
    default = bulk_run_create(actor=clerk_actor, **criteria())
    with_held = bulk_run_create(actor=clerk_actor, **criteria(exclude_held=False))
    assert figures(default) == {"USD": (1, 100)}
    # SPEC Part 3: every open hold is worked in a case, and an invoice with an open case
    # is in dispute, left out of bulk runs whatever the criteria.
    assert figures(with_held) == {"USD": (1, 100)}


def test_an_invoice_whose_case_closed_comes_back_into_bulk_runs(clerk_actor, supervisor_actor, usd):
    from writeoffs.cases.resolution import case_reject

    held = small_invoice(usd, 400)
    hold = dispute_hold_create(
        invoice_id=held.pk, amount="1.00", comments="Disputed", actor=clerk_actor
    )
    hold.refresh_from_db()
    case_reject(case_id=hold.case_id, reason="Not a dispute.", actor=supervisor_actor)
    assert figures(bulk_run_create(actor=clerk_actor, **criteria())) == {"USD": (1, 400)}


def test_a_largest_balance_above_the_creators_limit_is_refused(clerk_actor):
    with pytest.raises(BillingError) as refused:
        bulk_run_create(actor=clerk_actor, **criteria(max_balance={"USD": "500.01"}))
    assert refused.value.code == BULK_RUN_INVALID_CRITERIA
    assert refused.value.field == "max_balance_usd"
    assert "500.00" in refused.value.message
    assert BulkRun.objects.count() == 0


def test_a_largest_balance_at_the_creators_limit_is_accepted(clerk_actor):
    run = bulk_run_create(actor=clerk_actor, **criteria(max_balance={"USD": "500.00"}))
    assert run.max_balance_minor == {"USD": 50000}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"max_balance": {}}, "max_balance"),
        ({"max_balance": {"dollars": "5"}}, "max_balance"),
        ({"max_balance": {"USD": "-1"}}, "max_balance_usd"),
        ({"max_balance": {"USD": "5.001"}}, "max_balance_usd"),
        ({"max_balance": {"GBP": "5.00"}}, "max_balance_gbp"),  # no limit row: limit 0
        ({"older_than_days": -1}, "older_than_days"),
        ({"older_than_days": "ninety"}, "older_than_days"),
        ({"account_statuses": []}, "account_statuses"),
        ({"account_statuses": ["dormant"]}, "account_statuses"),
    ],
)
def test_invalid_criteria_are_refused_next_to_their_field(clerk_actor, overrides, field):
    with pytest.raises(BillingError) as refused:
        bulk_run_create(actor=clerk_actor, **criteria(**overrides))
    assert refused.value.code == BULK_RUN_INVALID_CRITERIA
    assert refused.value.field == field


def test_the_reason_comments_and_expense_code_are_checked_as_for_one_writeoff(
    clerk_actor, expense_code
):
    with pytest.raises(BillingError) as refused:
        bulk_run_create(actor=clerk_actor, **criteria(reason_code=9999))
    assert refused.value.field == "reason_code"
    with pytest.raises(BillingError) as refused:
        bulk_run_create(actor=clerk_actor, **criteria(comments=" "))
    assert refused.value.field == "comments"
    with pytest.raises(BillingError) as refused:
        bulk_run_create(actor=clerk_actor, **criteria(revenue_impacting=False))
    assert refused.value.code == INVALID_ACCOUNTING_CODE
    run = bulk_run_create(
        actor=clerk_actor,
        **criteria(revenue_impacting=False, accounting_code_id=expense_code.pk),
    )
    assert run.accounting_code == expense_code


def test_a_viewer_cannot_create_a_run(viewer):
    with pytest.raises(BillingError) as refused:
        bulk_run_create(actor=Actor.for_user(viewer), **criteria())
    assert refused.value.code == PERMISSION_DENIED


def test_excluded_invoices_are_counted_apart_and_can_be_put_back(clerk_actor, usd):
    keep = small_invoice(usd, 100)
    leave = small_invoice(usd, 200)
    run = bulk_run_create(actor=clerk_actor, **criteria())
    bulk_run_exclude(run_id=run.pk, invoice_id=leave.pk, excluded=True, actor=clerk_actor)
    [usd_figures] = bulk_run_preview(run)
    assert (usd_figures.count, usd_figures.total_minor) == (1, 100)
    assert (usd_figures.excluded_count, usd_figures.excluded_total_minor) == (1, 200)
    bulk_run_exclude(run_id=run.pk, invoice_id=leave.pk, excluded=False, actor=clerk_actor)
    assert figures(run) == {"USD": (2, 300)}
    assert keep.pk in set(bulk_run_preview_invoices(run, "USD").values_list("pk", flat=True))


def test_only_an_invoice_the_run_selects_can_be_excluded(clerk_actor, usd, eur):
    """An exclusion names an invoice of the run: one of another currency, over the
    largest balance or too young is refused and leaves no row in the run's log."""
    other_currency = small_invoice(eur, 100)
    too_large = small_invoice(usd, 501)
    too_young = small_invoice(usd, 100, days_past_aging=10)
    run = bulk_run_create(actor=clerk_actor, **criteria())
    for invoice in (other_currency, too_large, too_young):
        with pytest.raises(BillingError) as refused:
            bulk_run_exclude(run_id=run.pk, invoice_id=invoice.pk, excluded=True, actor=clerk_actor)
        assert refused.value.code == BULK_RUN_INVALID_CRITERIA
        assert f"Invoice {invoice.pk} is not in bulk run {run.pk}" in refused.value.message
    with pytest.raises(BillingError):
        bulk_run_exclude(run_id=run.pk, invoice_id=999_999, excluded=True, actor=clerk_actor)
    assert not BulkRunItem.objects.filter(run=run).exists()


def test_only_the_creator_edits_a_draft(clerk_actor, supervisor_actor, usd):
    invoice = small_invoice(usd, 100)
    run = bulk_run_create(actor=clerk_actor, **criteria())
    with pytest.raises(BillingError) as refused:
        bulk_run_exclude(
            run_id=run.pk, invoice_id=invoice.pk, excluded=True, actor=supervisor_actor
        )
    assert refused.value.code == PERMISSION_DENIED


# --- start: freeze and approval ----------------------------------------------------------


def test_start_freezes_invoices_amounts_date_and_enqueues_one_task(clerk_actor, usd):
    a = small_invoice(usd, 100)
    b = small_invoice(usd, 250)
    excluded = small_invoice(usd, 300)
    run = bulk_run_create(actor=clerk_actor, **criteria())
    bulk_run_exclude(run_id=run.pk, invoice_id=excluded.pk, excluded=True, actor=clerk_actor)
    run = start_bulk_run(run_id=run.pk, actor=clerk_actor)
    assert run.status == BulkRun.Status.RUNNING
    assert run.writeoff_date == today()
    assert run.aging_cutoff == today() - datetime.timedelta(days=90)
    assert run.totals == {"USD": {"count": 2, "total_minor": 350}}
    assert run.approved_by == clerk_actor.user
    assert run.approval_limits == {"USD": 50000}
    items = {i.invoice_id: i.amount_minor for i in run.items.filter(excluded=False)}
    assert items == {a.pk: 100, b.pk: 250}
    assert run.items.filter(excluded=True).get().invoice_id == excluded.pk
    [task] = DBTaskResult.objects.all()
    assert task.task_path == "writeoffs.bulk.tasks.execute_bulk_run"
    assert task.args_kwargs["args"] == [run.pk]
    assert WriteOff.objects.count() == 0  # nothing is written in the request


def test_a_clerk_cannot_start_a_run_whose_total_is_above_their_limit(clerk_actor, usd):
    for _ in range(3):
        small_invoice(usd, 20000)  # 3 x 200.00 = 600.00 > 500.00
    run = bulk_run_create(actor=clerk_actor, **criteria(max_balance={"USD": "200.00"}))
    with pytest.raises(BillingError) as refused:
        start_bulk_run(run_id=run.pk, actor=clerk_actor)
    assert refused.value.code == BULK_RUN_OVER_LIMIT
    assert "600.00 USD is above your limit of 500.00 USD" in refused.value.message
    run.refresh_from_db()
    assert run.status == BulkRun.Status.DRAFT
    assert not run.items.exists()
    assert not DBTaskResult.objects.exists()


def test_a_supervisor_whose_limit_covers_it_approves_and_starts_a_clerks_run(
    clerk_actor, supervisor_actor, usd
):
    for _ in range(3):
        small_invoice(usd, 20000)
    run = bulk_run_create(actor=clerk_actor, **criteria(max_balance={"USD": "200.00"}))
    run = start_bulk_run(run_id=run.pk, actor=supervisor_actor)
    assert run.approved_by == supervisor_actor.user
    assert run.created_by == clerk_actor.user
    assert run.approval_limits == {"USD": 500000}
    bulk_run_execute(run.pk)
    # Written as the run's creator, never pending, though above the creator's own limit.
    assert set(WriteOff.objects.values_list("created_by", flat=True)) == {clerk_actor.user.pk}
    assert WriteOff.objects.filter(status=WriteOff.Status.ACTIVE).count() == 3


def test_an_approver_whose_limit_does_not_cover_the_total_is_refused(clerk_actor, usd):
    for _ in range(3):
        small_invoice(usd, 20000)
    run = bulk_run_create(actor=clerk_actor, **criteria(max_balance={"USD": "200.00"}))
    low = UserFactory(username="low-supervisor", groups=[SUPERVISOR])
    from writeoffs.models import ApprovalLimit

    ApprovalLimit.objects.filter(role="supervisor", currency="USD").update(limit_minor=50000)
    with pytest.raises(BillingError) as refused:
        start_bulk_run(run_id=run.pk, actor=Actor.for_user(low))
    assert refused.value.code == BULK_RUN_OVER_LIMIT


def test_the_creator_never_approves_their_own_run_over_their_limit_even_as_an_approver(usd):
    """Four eyes: a supervisor's own run above the supervisor limit needs someone else."""
    from writeoffs.models import ApprovalLimit

    ApprovalLimit.objects.filter(role="supervisor", currency="USD").update(limit_minor=30000)
    creator = Actor.for_user(UserFactory(username="sup-creator", groups=[SUPERVISOR]))
    for _ in range(2):
        small_invoice(usd, 20000)  # 400.00 > the supervisor's 300.00
    run = bulk_run_create(actor=creator, **criteria(max_balance={"USD": "200.00"}))
    with pytest.raises(BillingError) as refused:
        start_bulk_run(run_id=run.pk, actor=creator)
    assert refused.value.code == BULK_RUN_OVER_LIMIT
    controller = Actor.for_user(UserFactory(username="controller", groups=[CONTROLLER]))
    run = start_bulk_run(run_id=run.pk, actor=controller)
    assert run.approved_by == controller.user
    assert run.approval_limits == {"USD": None}


def test_a_clerk_cannot_approve_another_clerks_run(clerk_actor, usd):
    small_invoice(usd, 100)
    run = bulk_run_create(actor=clerk_actor, **criteria())
    other = Actor.for_user(UserFactory(username="clerk-2", groups=[CLERK]))
    with pytest.raises(BillingError) as refused:
        start_bulk_run(run_id=run.pk, actor=other)
    assert refused.value.code == PERMISSION_DENIED


def test_a_run_with_nothing_to_write_cannot_start(clerk_actor, usd):
    run = bulk_run_create(actor=clerk_actor, **criteria())
    with pytest.raises(BillingError) as refused:
        start_bulk_run(run_id=run.pk, actor=clerk_actor)
    assert refused.value.code == BULK_RUN_EMPTY


def test_a_run_starts_once(clerk_actor, usd):
    small_invoice(usd, 100)
    run = started(clerk_actor)
    with pytest.raises(BillingError) as refused:
        start_bulk_run(run_id=run.pk, actor=clerk_actor)
    assert refused.value.code == BULK_RUN_INVALID_STATE
    assert run.items.count() == 1


def test_a_started_run_is_frozen_against_exclusions(clerk_actor, usd):
    invoice = small_invoice(usd, 100)
    run = started(clerk_actor)
    with pytest.raises(BillingError) as refused:
        bulk_run_exclude(run_id=run.pk, invoice_id=invoice.pk, excluded=True, actor=clerk_actor)
    assert refused.value.code == BULK_RUN_INVALID_STATE


# --- execution ---------------------------------------------------------------------------


def test_execution_writes_each_invoice_with_the_frozen_values_as_the_creator(
    clerk_actor, usd, expense_code
):
    invoices = [small_invoice(usd, minor) for minor in (100, 250, 499)]
    run = started(
        clerk_actor,
        reason_code=1,
        comments="Good will clean-up",
        revenue_impacting=False,
        accounting_code_id=expense_code.pk,
    )
    run = bulk_run_execute(run.pk)
    assert run.status == BulkRun.Status.COMPLETED
    assert run.finished_at is not None
    rows = WriteOff.objects.order_by("invoice_id")
    assert [(w.invoice_id, w.amount_minor) for w in rows] == [
        (i.pk, i.total_minor) for i in invoices
    ]
    for writeoff in rows:
        assert writeoff.bulk_run_id == run.pk
        assert writeoff.source == Source.BULK
        assert writeoff.writeoff_date == run.writeoff_date
        assert (writeoff.reason_code, writeoff.comments) == (1, "Good will clean-up")
        assert (writeoff.revenue_impacting, writeoff.accounting_code) == (False, expense_code)
        assert writeoff.created_by == clerk_actor.user
        assert writeoff.idempotency_key == f"run-{run.pk}-{writeoff.invoice_id}"
        assert writeoff.bulk_run_item.state == BulkRunItem.State.WRITTEN
        assert_ledger_consistent(writeoff.invoice_id)
    assert all(Invoice.objects.get(pk=i.pk).available_minor == 0 for i in invoices)


# One written item, statement by statement (SQLite; PostgreSQL adds the shared period
# lock, pg_advisory_xact_lock_shared, before the lock date): the claim; the lock date;
# the split rule's sum of the creator's write-offs on the invoice in the window (not
# read for a run approved by an unlimited approver); the write-off and its history row;
# the invoice and its history row; the journal entry and its lines; the invoice's
# AR-control balance (the aggregate posting keeps, one UPDATE of a delta); the journal's
# tallies (the month tally and the write-off analysis's two, one INSERT ... SELECT
# each); the feed's next event id (one UPDATE ... RETURNING) and the event; the item.
# The other two are the test's own savepoint around the item's transaction. No lookup
# of the idempotency key and no savepoint of the write's own: the first try leaves both
# to the key's unique constraint and to a redo (see write_next_item).
# (A worker's first item also loads its creator's permissions, once per worker.)
STATEMENTS_PER_WRITTEN_ITEM = 18


@pytest.mark.parametrize("revenue_impacting", [True, False])
def test_one_step_reads_the_invoice_once_in_its_claim_and_never_the_run(
    clerk_actor, usd, expense_code, revenue_impacting
):
    """The claim loads the whole invoice, locked, with its revenue code: a field it left
    out would cost each item a SELECT of its own, and the write-off is made on that row
    instead of locking and reading the invoice again. The run was read once, before the
    first item; only the claim's join reads its status (to stop when it is cancelled),
    and neither the run nor the expense code it posts to is read or locked again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for minor in (100, 200, 300):
        small_invoice(usd, minor)
    code = {} if revenue_impacting else {"accounting_code_id": expense_code.pk}
    run = started(clerk_actor, revenue_impacting=revenue_impacting, **code)
    # What bulk_run_execute reads once, before its first item.
    run = BulkRun.objects.select_related("created_by", "approved_by", "accounting_code").get(
        pk=run.pk
    )
    creator = Actor.for_user(run.created_by)
    write_next_item(run, creator, "test")
    extra = 1 if connection.vendor == "postgresql" else 0  # the shared period lock
    # A revenue-impacting write-off issues its credit note: the year's next number (one
    # UPDATE ... RETURNING), the invoice's lines, the note and its lines.
    extra += 4 if revenue_impacting else 0
    for _ in range(2):  # every item after the worker's first: the same statements
        with CaptureQueriesContext(connection) as queries:
            item = write_next_item(run, creator, "test")
        assert item is not None and item.state == BulkRunItem.State.WRITTEN, item
        statements = [q["sql"] for q in queries]
        assert len(statements) == STATEMENTS_PER_WRITTEN_ITEM + extra, statements
        [claim] = [sql for sql in statements if sql.startswith('SELECT "writeoffs_bulkrunitem"')]
        invoice_reads = [sql for sql in statements if '"billing_invoice"."total_minor"' in sql]
        assert invoice_reads == [claim]
        run_reads = [sql for sql in statements if '"writeoffs_bulkrun"' in sql]
        assert run_reads == [claim]
        assert '"writeoffs_bulkrun"."status" = ' in claim  # joined, never locked:
        assert '"writeoffs_bulkrun"' not in claim.partition(" FOR UPDATE")[2]
        assert not [sql for sql in statements if sql.startswith('SELECT "billing_accountingcode"')]
    assert WriteOff.objects.filter(bulk_run=run).count() == 3


def test_executing_again_writes_nothing_more(clerk_actor, usd):
    small_invoice(usd, 100)
    small_invoice(usd, 200)
    run = started(clerk_actor)
    bulk_run_execute(run.pk)
    bulk_run_execute(run.pk)
    assert WriteOff.objects.count() == 2


def test_a_writeoff_already_made_under_the_runs_key_is_not_made_again(clerk_actor, usd):
    """The idempotency key is the second guard: if an item's write-off exists, it is replayed."""
    invoice = small_invoice(usd, 100)
    run = started(clerk_actor)
    with transaction.atomic():
        first = writeoff_create_in_run(
            run=run, invoice=lock_invoice(invoice.pk), amount_minor=100, actor=clerk_actor
        )
    assert first.idempotency_key == bulk_idempotency_key(run.pk, invoice.pk)
    bulk_run_execute(run.pk)
    assert list(WriteOff.objects.values_list("pk", flat=True)) == [first.pk]
    assert run.items.get().writeoff_id == first.pk


def test_the_writeoff_date_stays_frozen_when_the_run_resumes_after_midnight(clerk_actor, usd):
    small_invoice(usd, 100)
    run = started(clerk_actor)
    tomorrow = today() + datetime.timedelta(days=1)
    with mock.patch("django.utils.timezone.localdate", return_value=tomorrow):
        bulk_run_execute(run.pk)
    [writeoff] = WriteOff.objects.all()
    assert writeoff.writeoff_date == run.writeoff_date == tomorrow - datetime.timedelta(days=1)


def _skipped_rule(run: BulkRun, invoice: Invoice) -> str:
    item = run.items.get(invoice=invoice)
    assert item.state == BulkRunItem.State.SKIPPED
    assert item.writeoff is None
    return item.skip_rule


def test_invoices_that_changed_since_the_freeze_are_skipped_with_their_rule(
    clerk_actor, supervisor_actor, usd
):
    untouched = small_invoice(usd, 400)
    paid = small_invoice(usd, 400)
    disputed = small_invoice(usd, 400)
    partly_written = small_invoice(usd, 400)
    voided = small_invoice(usd, 400)
    reaged = small_invoice(usd, 400)
    run = started(clerk_actor)

    payment_record(invoice_id=paid.pk, amount="1.00", actor=supervisor_actor)
    dispute_hold_create(invoice_id=disputed.pk, amount="1.00", comments="No", actor=clerk_actor)
    writeoff_create(
        invoice_id=partly_written.pk, amount="0.50", reason_code=0, comments="x", actor=clerk_actor
    )
    invoice_void(invoice_id=voided.pk, reason="Issued in error", actor=supervisor_actor)
    Invoice.objects.filter(pk=reaged.pk).update(aging_date=today())

    run = bulk_run_execute(run.pk)
    assert run.status == BulkRun.Status.COMPLETED
    assert run.items.get(invoice=untouched).state == BulkRunItem.State.WRITTEN
    assert _skipped_rule(run, paid) == BulkRunItem.SkipRule.PAID
    assert _skipped_rule(run, disputed) == BulkRunItem.SkipRule.DISPUTED
    assert _skipped_rule(run, partly_written) == BulkRunItem.SkipRule.BELOW_FROZEN
    assert _skipped_rule(run, voided) == BulkRunItem.SkipRule.NOT_OPEN
    assert _skipped_rule(run, reaged) == BulkRunItem.SkipRule.REAGED
    assert WriteOff.objects.filter(bulk_run=run).count() == 1
    progress = bulk_run_progress(run)
    assert (progress.written, progress.skipped, progress.failed, progress.percent) == (1, 5, 0, 100)
    assert progress.skipped_by_rule == {
        "paid": 1,
        "disputed": 1,
        "below_frozen": 1,
        "not_open": 1,
        "reaged": 1,
    }


def test_an_invoice_whose_dispute_was_released_since_is_still_written(clerk_actor, usd):
    """Disputed and released again: nothing held, nothing paid, available unchanged."""
    invoice = small_invoice(usd, 400)
    run = started(clerk_actor)
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="1.00", comments="x", actor=clerk_actor
    )
    supervisor = Actor.for_user(UserFactory(username="sup", groups=[SUPERVISOR]))
    dispute_hold_settle(dispute_hold_id=hold.pk, action="release", actor=supervisor)
    bulk_run_execute(run.pk)
    assert run.items.get().state == BulkRunItem.State.WRITTEN


def test_an_account_whose_status_changed_since_is_skipped(clerk_actor, usd):
    small_invoice(usd, 400)
    run = started(clerk_actor)
    Account.objects.filter(pk=usd.pk).update(status=Account.Status.CLOSED)
    bulk_run_execute(run.pk)
    assert run.items.get().skip_rule == BulkRunItem.SkipRule.ACCOUNT_STATUS


def test_a_refused_writeoff_fails_its_item_with_the_error_code_and_the_run_goes_on(
    clerk_actor, usd, expense_code
):
    small_invoice(usd, 100)
    small_invoice(usd, 200)
    run = started(clerk_actor, revenue_impacting=False, accounting_code_id=expense_code.pk)
    expense_code.active = False
    expense_code.save()
    run = bulk_run_execute(run.pk)
    assert run.status == BulkRun.Status.COMPLETED
    failed = list(run.items.values_list("state", "error_code"))
    assert failed == [("failed", INVALID_ACCOUNTING_CODE)] * 2
    assert bulk_run_progress(run).failed_by_code == {INVALID_ACCOUNTING_CODE: 2}
    assert not WriteOff.objects.exists()


def test_cancel_stops_between_invoices_and_says_how_far_it_got(clerk_actor, usd):
    for minor in (100, 200, 300, 400, 450):
        small_invoice(usd, minor)
    run = started(clerk_actor)
    seen = []

    def cancel_after_two(item):
        seen.append(item.pk)
        if len(seen) == 2:
            bulk_run_cancel(run_id=run.pk, actor=clerk_actor)

    run = bulk_run_execute(run.pk, on_item=cancel_after_two)
    assert run.status == BulkRun.Status.CANCELLED
    assert run.cancelled_by == clerk_actor.user
    progress = bulk_run_progress(run)
    assert (progress.written, progress.pending, progress.total) == (2, 3, 5)
    assert WriteOff.objects.count() == 2
    # A cancelled run never writes its remaining items, even if a worker runs it again.
    bulk_run_execute(run.pk)
    assert WriteOff.objects.count() == 2


def test_a_finished_run_cannot_be_cancelled(clerk_actor, usd):
    small_invoice(usd, 100)
    run = started(clerk_actor)
    bulk_run_execute(run.pk)
    with pytest.raises(BillingError) as refused:
        bulk_run_cancel(run_id=run.pk, actor=clerk_actor)
    assert refused.value.code == BULK_RUN_INVALID_STATE


def test_a_viewer_cannot_cancel(clerk_actor, viewer, usd):
    small_invoice(usd, 100)
    run = started(clerk_actor)
    with pytest.raises(BillingError) as refused:
        bulk_run_cancel(run_id=run.pk, actor=Actor.for_user(viewer))
    assert refused.value.code == PERMISSION_DENIED


def test_a_write_in_a_run_is_refused_unless_the_run_runs_and_the_actor_created_it(
    clerk_actor, supervisor_actor, usd
):
    """A run's approval stands in for the limit only for its creator and while it runs.
    (writeoff_create takes no run at all: no other caller can borrow a run's approval.)"""
    invoice = small_invoice(usd, 100)
    small_invoice(usd, 200)
    draft = bulk_run_create(actor=clerk_actor, **criteria())
    running = started(clerk_actor)
    for run, actor in ((draft, clerk_actor), (running, supervisor_actor)):
        with pytest.raises(BillingError) as refused, transaction.atomic():
            writeoff_create_in_run(
                run=run, invoice=lock_invoice(invoice.pk), amount_minor=100, actor=actor
            )
        assert refused.value.code == BULK_RUN_INVALID_STATE
    assert not WriteOff.objects.exists()


def test_a_write_in_a_run_checks_the_invoice_the_amount_and_the_lock_date_again(clerk_actor, usd):
    """The frozen values are not parsed again, but the rules that depend on the invoice
    and on the day are checked on the locked invoice like any write-off's."""
    invoice = small_invoice(usd, 100)
    run = started(clerk_actor)

    def write(amount_minor: int) -> None:
        with transaction.atomic():
            writeoff_create_in_run(
                run=run,
                invoice=lock_invoice(invoice.pk),
                amount_minor=amount_minor,
                actor=clerk_actor,
            )

    with pytest.raises(BillingError) as refused:
        write(101)
    assert (refused.value.code, refused.value.message) == (
        OVER_AVAILABLE,
        f"Write-off amount 1.01 is more than the 1.00 available on invoice {invoice.invoice_no}.",
    )
    AccountingPeriodLock.objects.create(locked_through=run.writeoff_date, reason="Closed")
    with pytest.raises(BillingError) as refused:
        write(100)
    assert refused.value.code == PERIOD_CLOSED
    AccountingPeriodLock.objects.all().delete()
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.DRAFT)
    with pytest.raises(BillingError) as refused:
        write(100)
    assert refused.value.code == INVOICE_NOT_OPEN
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.SENT)
    invoice_void(invoice_id=invoice.pk, reason="Issued in error", actor=Actor.for_system())
    with pytest.raises(BillingError) as refused:
        write(100)
    assert refused.value.code == INVOICE_VOID
    assert not WriteOff.objects.exists()


# --- stalled runs -----------------------------------------------------------------------


def test_a_run_is_stalled_when_its_heartbeat_is_over_five_minutes_old(clerk_actor, usd):
    small_invoice(usd, 100)
    run = started(clerk_actor)
    beat = run.heartbeat_at
    assert not run.is_stalled(beat + datetime.timedelta(minutes=5))
    assert run.is_stalled(beat + datetime.timedelta(minutes=5, seconds=1))


def test_resume_enqueues_a_stalled_run_again_and_refuses_a_live_one(clerk_actor, usd):
    small_invoice(usd, 100)
    run = started(clerk_actor)
    with pytest.raises(BillingError) as refused:
        resume_bulk_run(run_id=run.pk, actor=clerk_actor)
    assert refused.value.code == BULK_RUN_INVALID_STATE
    later = timezone.now() + datetime.timedelta(minutes=6)
    run = resume_bulk_run(run_id=run.pk, actor=clerk_actor, now=later)
    assert (run.resume_count, run.heartbeat_at) == (1, later)
    assert DBTaskResult.objects.count() == 2


def test_resume_stalled_enqueues_only_running_runs_with_an_old_heartbeat(clerk_actor, usd):
    small_invoice(usd, 100)
    stalled = started(clerk_actor)
    small_invoice(usd, 200)
    finished = started(clerk_actor)  # takes the second invoice; the first is stalled's
    bulk_run_execute(finished.pk)
    fresh_time = timezone.now() + datetime.timedelta(minutes=6)
    BulkRun.objects.filter(pk=stalled.pk).update(
        heartbeat_at=fresh_time - datetime.timedelta(minutes=10)
    )
    small_invoice(usd, 300)
    fresh = started(clerk_actor)
    BulkRun.objects.filter(pk=fresh.pk).update(heartbeat_at=fresh_time)
    assert resume_stalled_bulk_runs(now=fresh_time) == [stalled.pk]
    # Idempotent: resuming refreshed the heartbeat, so a second pass finds nothing.
    assert resume_stalled_bulk_runs(now=fresh_time) == []
    # Each run was enqueued when it started; only the stalled one once more.
    assert task_runs() == Counter({stalled.pk: 2, finished.pk: 1, fresh.pk: 1})


def test_the_daily_run_enqueues_each_stalled_run_again(clerk_actor, usd):
    small_invoice(usd, 100)
    run = started(clerk_actor)
    BulkRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - BulkRun.STALL_AFTER - datetime.timedelta(seconds=1)
    )
    out = io.StringIO()
    call_command("run_daily", stdout=out)
    assert f"Bulk run {run.pk} was stalled: enqueued again." in out.getvalue()
    assert task_runs() == Counter({run.pk: 2})


def test_the_log_has_one_row_per_invoice_with_its_outcome(clerk_actor, supervisor_actor, usd):
    written = small_invoice(usd, 100)
    paid = small_invoice(usd, 200)
    excluded = small_invoice(usd, 300)
    run = bulk_run_create(actor=clerk_actor, **criteria())
    bulk_run_exclude(run_id=run.pk, invoice_id=excluded.pk, excluded=True, actor=clerk_actor)
    run = start_bulk_run(run_id=run.pk, actor=clerk_actor)
    payment_record(invoice_id=paid.pk, amount="1.00", actor=supervisor_actor)
    bulk_run_execute(run.pk)
    rows = {row[1]: row for row in bulk_run_log_rows(run)}
    # The amount is a number; the CSV writer writes it as 1.00 (tests/test_csv_exports.py).
    assert rows[written.invoice_no][4:6] == [Decimal("1.00"), "written"]
    assert rows[written.invoice_no][10] == run.writeoff_date.isoformat()
    assert rows[paid.invoice_no][5:7] == ["skipped", "paid"]
    assert rows[excluded.invoice_no][5] == "excluded"


def test_a_draft_can_be_cancelled_before_it_starts(clerk_actor, usd):
    small_invoice(usd, 100)
    run = bulk_run_create(actor=clerk_actor, **criteria())
    run = bulk_run_cancel(run_id=run.pk, actor=clerk_actor)
    assert run.status == BulkRun.Status.CANCELLED
    with pytest.raises(BillingError) as refused:
        start_bulk_run(run_id=run.pk, actor=clerk_actor)
    assert refused.value.code == BULK_RUN_INVALID_STATE


# --- runs and closing the books ----------------------------------------------------------


def test_an_abandoned_draft_run_does_not_block_moving_the_lock_date(
    clerk_actor, controller_actor, usd
):
    """Issue 26: a draft posts nothing and has no write-off date, yet it blocked every
    lock-date move until someone cancelled it."""
    small_invoice(usd, 100)
    bulk_run_create(actor=clerk_actor, **criteria())
    through = today() - datetime.timedelta(days=1)
    move = lock_date_move(locked_through=through, reason="Month end", actor=controller_actor)
    assert move.locked_through == through


def test_a_started_run_blocks_closing_through_its_writeoff_date_until_it_finishes(
    clerk_actor, controller_actor, usd
):
    small_invoice(usd, 100)
    run = started(clerk_actor)
    # The run writes on its frozen date, today: a close through yesterday is not held up.
    lock_date_move(
        locked_through=today() - datetime.timedelta(days=2), reason="Older", actor=controller_actor
    )
    AccountingPeriodLock.objects.all().delete()
    tomorrow = today() + datetime.timedelta(days=1)
    with mock.patch("django.utils.timezone.localdate", return_value=tomorrow):
        with pytest.raises(BillingError) as refused:
            lock_date_move(locked_through=run.writeoff_date, reason="x", actor=controller_actor)
        assert f"Bulk run {run.pk} is running: finish or cancel it first." in (
            refused.value.message
        )
        bulk_run_execute(run.pk)
        lock_date_move(locked_through=run.writeoff_date, reason="x", actor=controller_actor)


def test_a_first_try_that_meets_the_runs_key_is_redone_and_replays_that_writeoff(
    clerk_actor, supervisor_actor, usd
):
    """The first try at an item neither looks for its key nor takes a savepoint: the
    key's unique constraint finds the write-off made under it (here reversed, so the
    balance is back and no skip rule fires), and the item, done again as every
    write-off is, replays it instead of writing another."""
    invoice = small_invoice(usd, 100)
    run = started(clerk_actor)
    with transaction.atomic():
        first = writeoff_create_in_run(
            run=run, invoice=lock_invoice(invoice.pk), amount_minor=100, actor=clerk_actor
        )
    writeoff_reverse(writeoff_id=first.pk, reason="Posted in error", actor=supervisor_actor)
    assert Invoice.objects.get(pk=invoice.pk).available_minor == 100

    bulk_run_execute(run.pk)

    assert list(WriteOff.objects.values_list("pk", flat=True)) == [first.pk]
    item = run.items.get()
    assert (item.state, item.writeoff_id) == (BulkRunItem.State.WRITTEN, first.pk)
    assert_ledger_consistent(invoice.pk)
