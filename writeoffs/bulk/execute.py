"""Executing a started run on the task worker: claim the next item, write it through
the write-off create core in its own transaction, or skip it with its rule.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from billing.actors import Actor
from billing.errors import BULK_RUN_INVALID_STATE, BULK_RUN_OVER_LIMIT, BillingError
from billing.models import AccountingCode, Invoice
from writeoffs.lifecycle.create import bulk_idempotency_key, writeoff_create_in_run
from writeoffs.models import BulkRun, BulkRunItem, WriteOff

# How often a working worker refreshes the run's heartbeat (it is stalled after 5 minutes).
HEARTBEAT_EVERY = datetime.timedelta(seconds=10)


@dataclass
class CurrencyAmounts:
    """One currency of a run: how many items and how much, in minor units, by outcome."""

    currency: str
    written: int = 0
    written_minor: int = 0
    skipped: int = 0
    skipped_minor: int = 0
    failed: int = 0
    failed_minor: int = 0


@dataclass
class Progress:
    total: int = 0
    written: int = 0
    skipped: int = 0
    failed: int = 0
    skipped_by_rule: dict[str, int] = field(default_factory=dict)
    failed_by_code: dict[int, int] = field(default_factory=dict)
    by_currency: dict[str, CurrencyAmounts] = field(default_factory=dict)

    @property
    def amounts(self) -> list[CurrencyAmounts]:
        return [self.by_currency[c] for c in sorted(self.by_currency)]

    @property
    def done(self) -> int:
        return self.written + self.skipped + self.failed

    @property
    def pending(self) -> int:
        return self.total - self.done

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.done * 100 // self.total


def bulk_run_progress(run: BulkRun) -> Progress:
    """Counts by state, skips by rule and failures by error code, and each currency's
    counts and amounts by state: one GROUP BY."""
    progress = Progress()
    rows = (
        BulkRunItem.objects.filter(run=run, excluded=False)
        .values("state", "skip_rule", "error_code", "currency")
        .annotate(n=Count("pk"), minor=Sum("amount_minor"))
        .order_by()
    )
    for row in rows:
        progress.total += row["n"]
        state = row["state"]
        amounts = progress.by_currency.setdefault(
            row["currency"], CurrencyAmounts(currency=row["currency"])
        )
        minor = row["minor"] or 0
        if state == BulkRunItem.State.WRITTEN:
            progress.written += row["n"]
            amounts.written += row["n"]
            amounts.written_minor += minor
        elif state == BulkRunItem.State.SKIPPED:
            progress.skipped += row["n"]
            amounts.skipped += row["n"]
            amounts.skipped_minor += minor
            rule = row["skip_rule"]
            progress.skipped_by_rule[rule] = progress.skipped_by_rule.get(rule, 0) + row["n"]
        elif state == BulkRunItem.State.FAILED:
            progress.failed += row["n"]
            amounts.failed += row["n"]
            amounts.failed_minor += minor
            code = row["error_code"]
            assert code is not None  # bulkrunitem_failed_has_code
            progress.failed_by_code[code] = progress.failed_by_code.get(code, 0) + row["n"]
    return progress


def bulk_run_execute(
    run_id: int,
    *,
    on_item: Callable[[BulkRunItem], None] | None = None,
    processed_by: str = "",
) -> BulkRun:
    """Write the run's pending items until none is left or the run is cancelled.

    Safe to run in several workers at once (PostgreSQL): each claims its next
    item with ``SKIP LOCKED``. The last worker to find nothing pending marks the
    run completed.
    """
    pause = settings.BULK_RUN_PAUSE_SECONDS
    # What the run writes is frozen, so it is read once (with its creator, its approver,
    # whom each write-off names, and its expense code); only its status is read again,
    # in each item's claim.
    run = BulkRun.objects.select_related("created_by", "approved_by", "accounting_code").get(
        pk=run_id
    )
    creator = Actor.for_user(run.created_by)
    _beat(run_id)
    last_beat = time.monotonic()
    while True:
        item = write_next_item(run, creator, processed_by)
        if item is None:
            if not _waiting_on_an_invoice_lock(run):
                break
            time.sleep(0.2)
            continue
        if on_item is not None:
            on_item(item)
        if time.monotonic() - last_beat >= HEARTBEAT_EVERY.total_seconds():
            _beat(run_id)
            last_beat = time.monotonic()
        if pause:
            time.sleep(pause)
    with transaction.atomic():
        run = locked_run(run_id)
        pending = run.items.filter(excluded=False, state=BulkRunItem.State.PENDING).exists()
        if run.status == BulkRun.Status.RUNNING and not pending:
            run.status = BulkRun.Status.COMPLETED
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "finished_at"])
    return run


# What the claim reads: the item; its whole invoice with the revenue code, which the
# write-off is checked against, saves (its history row copies every field) and posts
# to; and the account's status, for the skip rules. A field left out here would cost
# each item a SELECT of its own.
_CLAIM_FIELDS = (
    "id",
    "run_id",
    "invoice_id",
    "currency",
    "amount_minor",
    "frozen_paid_minor",
    "frozen_held_minor",
    "state",
    "skip_rule",
    "error_code",
    "message",
    "writeoff_id",
    "heartbeat_at",
    "processed_by",
    *(f"invoice__{f.name}" for f in Invoice._meta.concrete_fields if not f.is_relation),
    *(f"invoice__revenue_code__{f.name}" for f in AccountingCode._meta.concrete_fields),
    "invoice__account__status",
    # What the write-off's event names (billing.events): read here, not per item.
    "invoice__account__acct_no",
    "invoice__account__external_id",
)


class _Redo(Exception):
    """An item's first try met a refusal or a constraint: its transaction rolls back
    whole (claim included) and the item is claimed and written again."""


def write_next_item(run: BulkRun, creator: Actor, processed_by: str) -> BulkRunItem | None:
    """Claim, check and write one item, all in one transaction.

    The claim reads the run's status in the same statement: a cancelled run
    claims nothing, so cancelling stops the run before its next invoice. Nothing
    else reads the run: the write takes its frozen values from ``run``.

    Almost every item is written: its first try writes without a savepoint or a
    look for an earlier write-off under its key (the key's unique constraint is the
    look). Anything else, a refusal or a constraint, rolls that try back whole and
    the item is done again the way every write-off is, so what is recorded for it
    never depends on the shortcut.
    """
    try:
        return _claim_and_write(run, creator, processed_by, first_try=True)
    except _Redo:
        return _claim_and_write(run, creator, processed_by, first_try=False)


def _claim_and_write(
    run: BulkRun, creator: Actor, processed_by: str, *, first_try: bool
) -> BulkRunItem | None:
    with transaction.atomic():
        # One statement claims the item and locks its invoice, the lock the write-off
        # is made under, with the account's status for the rules. An item whose invoice
        # another transaction holds is passed over for now and claimed on a later turn.
        item = (
            BulkRunItem.objects.select_related("invoice__account", "invoice__revenue_code")
            .only(*_CLAIM_FIELDS)
            .select_for_update(skip_locked=True, of=("self", "invoice"))
            .filter(
                run_id=run.pk,
                run__status=BulkRun.Status.RUNNING,
                excluded=False,
                state=BulkRunItem.State.PENDING,
            )
            .order_by("id")
            .first()
        )
        if item is None:
            return None
        item.heartbeat_at = timezone.now()
        item.processed_by = processed_by
        invoice = item.invoice
        rule = _skip_rule(run, item, invoice)
        if rule is not None and _written_by_run(run, creator, item):
            # The invoice changed because this run already wrote it (its write-off
            # committed without its item, which one transaction should never allow):
            # replaying through the idempotency key records it instead of skipping it.
            rule = None
            first_try = False
        if rule is not None:
            item.state = BulkRunItem.State.SKIPPED
            item.skip_rule = rule
            item.message = BulkRunItem.SkipRule(rule).label
        else:
            _write(run, creator, item, first_try=first_try)
        # A plain UPDATE: the item has no history or signals to feed, and the worker's
        # hot path is cheaper without save()'s machinery.
        BulkRunItem.objects.filter(pk=item.pk).update(
            state=item.state,
            skip_rule=item.skip_rule,
            error_code=item.error_code,
            message=item.message,
            writeoff=item.writeoff,
            heartbeat_at=item.heartbeat_at,
            processed_by=item.processed_by,
        )
    return item


def _waiting_on_an_invoice_lock(run: BulkRun) -> bool:
    """Whether a pending item is free but its invoice is locked by another transaction
    (PostgreSQL; the claim skipped it). Items other workers hold are not waited for."""
    with transaction.atomic():
        free = (
            BulkRunItem.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                run_id=run.pk,
                run__status=BulkRun.Status.RUNNING,
                excluded=False,
                state=BulkRunItem.State.PENDING,
            )
            .values_list("pk", flat=True)[:1]
        )
        return bool(list(free))


def _write(run: BulkRun, creator: Actor, item: BulkRunItem, *, first_try: bool) -> None:
    assert item.amount_minor is not None  # only excluded items lack one (bulkrunitem_amount_gt_0)
    try:
        # The frozen minor units and the invoice the claim locked, straight to the core.
        writeoff = writeoff_create_in_run(
            run=run,
            invoice=item.invoice,
            amount_minor=item.amount_minor,
            actor=creator,
            first_try=first_try,
        )
    except IntegrityError as error:
        if first_try:
            raise _Redo from error
        raise
    except BillingError as error:
        if first_try:
            # Whatever it wrote before refusing goes with the whole transaction.
            raise _Redo from error
        if error.code == BULK_RUN_OVER_LIMIT:
            # The split rule, which only the create core can check (it counts the
            # creator's write-offs under the invoice lock): skipped with its rule.
            item.state = BulkRunItem.State.SKIPPED
            item.skip_rule = BulkRunItem.SkipRule.OVER_LIMIT
            item.message = error.message
            return
        item.state = BulkRunItem.State.FAILED
        item.error_code = error.code
        item.message = error.message
        return
    item.state = BulkRunItem.State.WRITTEN
    item.writeoff = writeoff
    item.message = f"Write-off {writeoff.pk}"


def _written_by_run(run: BulkRun, creator: Actor, item: BulkRunItem) -> bool:
    return WriteOff.objects.filter(
        idempotency_scope=creator.idempotency_scope,
        idempotency_key=bulk_idempotency_key(run.pk, item.invoice_id),
    ).exists()


def _skip_rule(run: BulkRun, item: BulkRunItem, invoice: Invoice) -> str | None:
    """Why the invoice changed too much since the freeze to be written, if it did."""
    rules = BulkRunItem.SkipRule
    # Starting the run froze these on every item it writes (the excluded have none),
    # and a started run has its aging cutoff (bulkrun_started_is_approved).
    assert item.amount_minor is not None
    assert item.frozen_held_minor is not None and item.frozen_paid_minor is not None
    assert run.aging_cutoff is not None
    if invoice.status != Invoice.Status.SENT:
        return rules.NOT_OPEN
    if invoice.held_minor > item.frozen_held_minor:
        return rules.DISPUTED
    if invoice.paid_minor > item.frozen_paid_minor:
        return rules.PAID
    if invoice.available_minor < item.amount_minor:
        return rules.BELOW_FROZEN
    if invoice.aging_date > run.aging_cutoff:
        return rules.REAGED
    if invoice.account.status not in run.account_statuses:
        return rules.ACCOUNT_STATUS
    return None


def _beat(run_id: int) -> None:
    """Tell stall detection this run's worker is alive (its own short write)."""
    BulkRun.objects.filter(pk=run_id, status=BulkRun.Status.RUNNING).update(
        heartbeat_at=timezone.now()
    )


def locked_run(run_id: object) -> BulkRun:
    try:
        # Whatever the caller passed: a bad id raises one of the errors caught below.
        return BulkRun.objects.select_for_update().get(pk=cast("int", run_id))
    except (BulkRun.DoesNotExist, ValueError, TypeError):
        raise BillingError(BULK_RUN_INVALID_STATE, f"Bulk run {run_id} does not exist.") from None
