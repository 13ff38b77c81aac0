"""Bulk small-balance write-off runs: every write and read a run needs.

A run is a draft (criteria, a live preview, exclusions), then it is started:
its invoices, each amount, one write-off date, the reason, comments and code
are frozen into the run and its items, and its total per currency is approved
once. A task worker (``writeoffs.tasks.execute_bulk_run``) then writes the
items one by one through ``writeoff_create``, each in its own transaction with
the item's new state, so a worker killed at any point leaves every item either
written (with its write-off) or pending (with nothing written). Resuming just
runs the pending items again; the idempotency key ``run-<run>-<invoice>`` is a
second guard.
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum, Value
from django.utils import timezone

from billing.actors import Actor
from billing.errors import (
    BULK_RUN_EMPTY,
    BULK_RUN_INVALID_CRITERIA,
    BULK_RUN_INVALID_STATE,
    BULK_RUN_OVER_LIMIT,
    PERMISSION_DENIED,
    BillingError,
)
from billing.models import AVAILABLE_MINOR, Account, Invoice
from billing.money import format_money, from_minor, parse_amount, to_minor
from billing.rules import clean_comments, require_perm, today
from writeoffs.approvals.limits import approval_limit_minor, within_limit
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.rules import _expense_code, _writeoff_reason
from writeoffs.models import BulkRun, BulkRunItem, Source, WriteOff

CREATE_PERM = "writeoffs.add_writeoff"
APPROVE_PERM = "writeoffs.approve_writeoff"
MAX_OLDER_THAN_DAYS = 36_500
# How often a working worker refreshes the run's heartbeat (it is stalled after 5 minutes).
HEARTBEAT_EVERY = datetime.timedelta(seconds=10)
_CURRENCY = re.compile(r"[A-Z]{3}")


# --- drafts ---------------------------------------------------------------------


def bulk_run_prepare(
    *,
    actor: Actor,
    max_balance: dict[str, object],
    older_than_days: object,
    reason_code: object,
    comments: str,
    account_statuses: list[str] | tuple[str, ...] = (Account.Status.ACTIVE,),
    exclude_held: bool = True,
    revenue_impacting: bool = True,
    accounting_code_id: int | None = None,
) -> BulkRun:
    """Check a run's criteria and return it unsaved (the command's dry run previews this)."""
    require_perm(actor, CREATE_PERM)
    if actor.user is None:
        raise BillingError(PERMISSION_DENIED, "A bulk run is created by a signed-in person.")
    if not max_balance:
        raise BillingError(
            BULK_RUN_INVALID_CRITERIA,
            "Give the largest balance to write off for at least one currency.",
            field="max_balance",
        )
    limits_minor = {}
    for raw_currency, raw_amount in max_balance.items():
        currency = str(raw_currency).strip().upper()
        if not _CURRENCY.fullmatch(currency):
            raise BillingError(
                BULK_RUN_INVALID_CRITERIA,
                f"{raw_currency!r} is not a currency code such as USD.",
                field="max_balance",
            )
        try:
            minor = to_minor(parse_amount(raw_amount, currency), currency)
        except BillingError as error:
            raise BillingError(
                BULK_RUN_INVALID_CRITERIA,
                f"{currency}: {error.message}",
                field=max_balance_field(currency),
            ) from None
        limit = approval_limit_minor(actor, currency)
        if not within_limit(limit, minor):
            raise BillingError(
                BULK_RUN_INVALID_CRITERIA,
                f"The largest {currency} balance, {money_text(minor, currency)}, is above your "
                f"approval limit of {money_text(limit or 0, currency)} {currency}.",
                field=max_balance_field(currency),
            )
        limits_minor[currency] = minor
    days = older_than_days
    if isinstance(days, str) and days.strip().isascii() and days.strip().isdigit():
        days = int(days.strip())
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_OLDER_THAN_DAYS:
        raise BillingError(
            BULK_RUN_INVALID_CRITERIA,
            f"Days past the aging date must be a whole number from 0 to {MAX_OLDER_THAN_DAYS}.",
            field="older_than_days",
        )
    statuses = sorted(set(account_statuses))
    if not statuses or not set(statuses) <= set(Account.Status.values):
        raise BillingError(
            BULK_RUN_INVALID_CRITERIA,
            "Choose at least one account status: active, suspended or closed.",
            field="account_statuses",
        )
    code = None if revenue_impacting else _expense_code(accounting_code_id)
    return BulkRun(
        created_by=actor.user,
        max_balance_minor=limits_minor,
        older_than_days=days,
        account_statuses=statuses,
        exclude_held=bool(exclude_held),
        reason_code=_writeoff_reason(reason_code, actor),
        comments=clean_comments(comments),
        revenue_impacting=revenue_impacting,
        accounting_code=code,
    )


def max_balance_field(currency: str) -> str:
    """The input a currency's largest balance is entered in (errors are shown next to it)."""
    return f"max_balance_{currency.lower()}"


def bulk_run_create(**criteria) -> BulkRun:
    """Save a draft run; it writes nothing until it is started."""
    run = bulk_run_prepare(**criteria)
    run.save()
    return run


def bulk_run_exclude(*, run_id: int, invoice_id: int, excluded: bool, actor: Actor) -> BulkRun:
    """Leave an invoice out of a draft run (or put it back). Only the creator edits a draft."""
    with transaction.atomic():
        run = _locked_run(run_id)
        _require_draft_owner(run, actor)
        if excluded:
            currency = Invoice.objects.filter(pk=invoice_id).values_list("currency", flat=True)
            if not currency:
                raise BillingError(BULK_RUN_INVALID_CRITERIA, "Invoice does not exist.")
            BulkRunItem.objects.get_or_create(
                run=run, invoice_id=invoice_id, defaults={"excluded": True, "currency": currency[0]}
            )
        else:
            BulkRunItem.objects.filter(run=run, invoice_id=invoice_id, excluded=True).delete()
    return run


# --- the preview ------------------------------------------------------------------


def bulk_run_candidates(
    run: BulkRun, *, on: datetime.date | None = None, currency: str | None = None
) -> QuerySet[Invoice]:
    """The invoices ``run``'s criteria select today (or ``on``), with ``available``.

    Written against ``invoice_small_balance_idx``: the same partial condition
    (status sent), and per currency a range of the indexed available expression.
    With ``currency`` it is that currency's range alone, which both databases
    answer with one index range scan; across currencies an OR of ranges makes
    SQLite scan the whole index, so the preview's totals use one range per
    currency, joined with UNION ALL (``bulk_run_preview``).
    """
    cutoff = aging_cutoff(run, on or today())
    per_currency = Q()
    for code, largest in sorted(run.max_balance_minor.items()):
        if currency is None or code == currency:
            per_currency |= Q(currency=code, open_minor__gte=1, open_minor__lte=largest)
    if not per_currency:
        return Invoice.objects.none()
    invoices = (
        Invoice.objects.filter(status=Invoice.Status.SENT)
        # Not "available": Invoice has a property of that name.
        .alias(open_minor=AVAILABLE_MINOR)
        .filter(per_currency, aging_date__lte=cutoff)
    )
    if set(run.account_statuses) != set(Account.Status.values):
        invoices = invoices.filter(account__status__in=run.account_statuses)
    if run.exclude_held:
        invoices = invoices.filter(held_minor=0)
    return invoices


def aging_cutoff(run: BulkRun, on: datetime.date) -> datetime.date:
    """The latest aging date an invoice may have to be at least N days past it."""
    return on - datetime.timedelta(days=run.older_than_days)


@dataclass(frozen=True)
class CurrencyFigures:
    currency: str
    count: int
    total_minor: int
    excluded_count: int = 0
    excluded_total_minor: int = 0

    @property
    def total(self) -> Decimal:
        return from_minor(self.total_minor, self.currency)

    @property
    def excluded_total(self) -> Decimal:
        return from_minor(self.excluded_total_minor, self.currency)


def excluded_invoice_ids(run: BulkRun) -> list[int]:
    if run.pk is None:
        return []
    return list(run.items.filter(excluded=True).values_list("invoice_id", flat=True))


def bulk_run_preview(run: BulkRun, *, on: datetime.date | None = None) -> list[CurrencyFigures]:
    """Count and total per currency of what the run would write: one SQL statement,
    an aggregate per currency's index range, joined with UNION ALL.

    ``count``/``total`` leave out the excluded invoices, which are counted apart.
    Integer SUMs are exact on both databases.
    """
    excluded = excluded_invoice_ids(run)
    n_excluded: Count | Value
    total_excluded: Sum | Value
    if excluded:
        left_out = Q(pk__in=excluded)
        n = Count("pk", filter=~left_out)
        total = Sum("open_minor", filter=~left_out)
        n_excluded = Count("pk", filter=left_out)
        total_excluded = Sum("open_minor", filter=left_out)
    else:
        n = Count("pk")
        total = Sum("open_minor")
        n_excluded = Value(0)
        total_excluded = Value(0)
    parts = [
        bulk_run_candidates(run, on=on, currency=currency)
        .values("currency")
        .annotate(n=n, included_total=total, n_excluded=n_excluded, total_excluded=total_excluded)
        .order_by()
        for currency in sorted(run.max_balance_minor)
    ]
    if not parts:
        return []
    rows = parts[0].union(*parts[1:], all=True).order_by() if len(parts) > 1 else parts[0]
    figures = [
        CurrencyFigures(
            currency=row["currency"],
            count=row["n"],
            total_minor=row["included_total"] or 0,
            excluded_count=row["n_excluded"],
            excluded_total_minor=row["total_excluded"] or 0,
        )
        for row in rows
    ]
    return sorted(figures, key=lambda f: f.currency)


def bulk_run_preview_invoices(run: BulkRun, currency: str) -> QuerySet[Invoice]:
    """One currency's invoices for the preview list (paginate it), smallest first,
    each with ``available_now``; in the index's own order, so a page reads only its rows."""
    return (
        bulk_run_candidates(run, currency=currency)
        .annotate(available_now=AVAILABLE_MINOR)
        .select_related("account")
        .order_by("available_now", "aging_date", "id")
    )


# --- start: freeze and approve ------------------------------------------------------


def bulk_run_start(
    *, run_id: int, actor: Actor, enqueue: bool = True, now: datetime.datetime | None = None
) -> BulkRun:
    """Freeze the draft's invoices and approve its total once, then enqueue it.

    The creator starts a run within their own limit for every currency. Above it,
    a different person with the approve permission whose limit covers each
    currency's total starts it, and is its approver (four eyes: never the creator).
    Nothing in a run goes pending: this approval covers every write-off in it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        run = _locked_run(run_id)
        if run.status != BulkRun.Status.DRAFT:
            raise BillingError(BULK_RUN_INVALID_STATE, f"Bulk run {run.pk} was already started.")
        is_creator = actor.user is not None and actor.user.pk == run.created_by_id
        require_perm(actor, CREATE_PERM if is_creator else APPROVE_PERM)
        on = today()
        excluded = set(excluded_invoice_ids(run))
        frozen = [
            row
            for row in bulk_run_candidates(run, on=on)
            .annotate(available_now=AVAILABLE_MINOR)
            .order_by("id")
            .values_list("id", "currency", "available_now", "paid_minor", "held_minor")
            .iterator(chunk_size=2000)
            if row[0] not in excluded
        ]
        if not frozen:
            raise BillingError(
                BULK_RUN_EMPTY, f"Bulk run {run.pk} has no invoices to write off today."
            )
        totals: dict[str, dict[str, int]] = {}
        for _, currency, amount, _, _ in frozen:
            figures = totals.setdefault(currency, {"count": 0, "total_minor": 0})
            figures["count"] += 1
            figures["total_minor"] += amount
        limits = {currency: approval_limit_minor(actor, currency) for currency in totals}
        over = [c for c, f in totals.items() if not within_limit(limits[c], f["total_minor"])]
        if over:
            raise BillingError(
                BULK_RUN_OVER_LIMIT, _over_limit_message(over, totals, limits, is_creator)
            )
        BulkRunItem.objects.bulk_create(
            (
                BulkRunItem(
                    run=run,
                    invoice_id=invoice_id,
                    currency=currency,
                    amount_minor=amount,
                    frozen_paid_minor=paid,
                    frozen_held_minor=held,
                )
                for invoice_id, currency, amount, paid, held in frozen
            ),
            batch_size=1000,
        )
        run.status = BulkRun.Status.RUNNING
        run.writeoff_date = on
        run.aging_cutoff = aging_cutoff(run, on)
        run.totals = totals
        run.approved_by = actor.user
        run.approved_at = now
        run.approval_limits = limits
        run.heartbeat_at = now
        run.save()
        if enqueue:
            # The database backend writes the task row in this transaction: the run
            # and its task commit together, or neither does.
            _enqueue(run)
    return run


def _over_limit_message(over: list[str], totals: dict, limits: dict, is_creator: bool) -> str:
    parts = []
    for currency in over:
        total = from_minor(totals[currency]["total_minor"], currency)
        limit = from_minor(limits[currency] or 0, currency)
        parts.append(
            f"{format_money(total, currency)} {currency} is above "
            f"{'your' if is_creator else 'your approval'} limit of "
            f"{format_money(limit, currency)} {currency}"
        )
    advice = (
        "A different person whose limit covers it (a supervisor or the finance controller) "
        "must approve and start it."
        if is_creator
        else "Ask someone whose limit covers it."
    )
    return f"The run's total {'; '.join(parts)}. {advice}"


# --- cancel and resume ----------------------------------------------------------------


def bulk_run_cancel(*, run_id: int, actor: Actor, now: datetime.datetime | None = None) -> BulkRun:
    """Stop a run between invoices. Its creator, its approver or an approver may cancel.

    A worker checks the status before each invoice, so the invoice in hand (if
    any) is the last one written; items not reached stay pending, never written.
    """
    with transaction.atomic():
        run = _locked_run(run_id)
        is_own = actor.user is not None and actor.user.pk in (run.created_by_id, run.approved_by_id)
        require_perm(actor, CREATE_PERM if is_own else APPROVE_PERM)
        if run.is_finished:
            raise BillingError(
                BULK_RUN_INVALID_STATE,
                f"Bulk run {run.pk} is already {run.get_status_display().lower()}.",
            )
        run.status = BulkRun.Status.CANCELLED
        run.cancelled_by = actor.user
        run.finished_at = now or timezone.now()
        run.save(update_fields=["status", "cancelled_by", "finished_at"])
    return run


def bulk_run_resume(*, run_id: int, actor: Actor, now: datetime.datetime | None = None) -> BulkRun:
    """Enqueue a stalled run again (its heartbeat is more than 5 minutes old)."""
    if not actor.system:
        require_perm(actor, CREATE_PERM if _is_own(run_id, actor) else APPROVE_PERM)
    now = now or timezone.now()
    with transaction.atomic():
        run = _locked_run(run_id)
        if not run.is_stalled(now):
            raise BillingError(
                BULK_RUN_INVALID_STATE,
                f"Bulk run {run.pk} is not stalled: only a running run whose worker has been "
                "silent for 5 minutes can be resumed.",
            )
        run.heartbeat_at = now
        run.resume_count += 1
        run.save(update_fields=["heartbeat_at", "resume_count"])
        _enqueue(run)
    return run


def bulk_runs_resume_stalled(*, now: datetime.datetime | None = None) -> list[int]:
    """The daily run's step: enqueue every stalled run again. Idempotent within 5 minutes."""
    now = now or timezone.now()
    stalled = list(
        BulkRun.objects.filter(
            status=BulkRun.Status.RUNNING, heartbeat_at__lt=now - BulkRun.STALL_AFTER
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    resumed = []
    for run_id in stalled:
        try:
            bulk_run_resume(run_id=run_id, actor=Actor.for_system(), now=now)
        except BillingError as error:
            if error.code != BULK_RUN_INVALID_STATE:  # finished or resumed meanwhile
                raise
            continue
        resumed.append(run_id)
    return resumed


# --- execution (the task worker's side) ------------------------------------------------


@dataclass
class Progress:
    total: int = 0
    written: int = 0
    skipped: int = 0
    failed: int = 0
    skipped_by_rule: dict[str, int] = field(default_factory=dict)
    failed_by_code: dict[int, int] = field(default_factory=dict)

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
    """Counts by state, skips by rule and failures by error code: one GROUP BY."""
    progress = Progress()
    rows = (
        BulkRunItem.objects.filter(run=run, excluded=False)
        .values("state", "skip_rule", "error_code")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        progress.total += row["n"]
        state = row["state"]
        if state == BulkRunItem.State.WRITTEN:
            progress.written += row["n"]
        elif state == BulkRunItem.State.SKIPPED:
            progress.skipped += row["n"]
            rule = row["skip_rule"]
            progress.skipped_by_rule[rule] = progress.skipped_by_rule.get(rule, 0) + row["n"]
        elif state == BulkRunItem.State.FAILED:
            progress.failed += row["n"]
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
    # What the run writes is frozen, so it is read once; only its status is read
    # again, with each item's claim.
    run = BulkRun.objects.select_related("created_by").get(pk=run_id)
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
        run = _locked_run(run_id)
        pending = run.items.filter(excluded=False, state=BulkRunItem.State.PENDING).exists()
        if run.status == BulkRun.Status.RUNNING and not pending:
            run.status = BulkRun.Status.COMPLETED
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "finished_at"])
    return run


# What the claim reads: the item, and what the skip rules need of its invoice and account.
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
    "invoice__status",
    "invoice__total_minor",
    "invoice__paid_minor",
    "invoice__written_off_minor",
    "invoice__held_minor",
    "invoice__pending_minor",
    "invoice__aging_date",
    "invoice__account__status",
)


def write_next_item(run: BulkRun, creator: Actor, processed_by: str) -> BulkRunItem | None:
    """Claim, check and write one item, all in one transaction.

    The claim reads the run's status in the same statement: a cancelled run
    claims nothing, so cancelling stops the run before its next invoice.
    """
    with transaction.atomic():
        # One statement claims the item and locks its invoice (the lock writeoff_create
        # takes again), with the account's status for the rules. An item whose invoice
        # another transaction holds is passed over for now and claimed on a later turn.
        item = (
            BulkRunItem.objects.select_related("invoice__account")
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
        if rule is not None and _written_by_run(run, item):
            # The invoice changed because this run already wrote it (its write-off
            # committed without its item, which one transaction should never allow):
            # replaying through the idempotency key records it instead of skipping it.
            rule = None
        if rule is not None:
            item.state = BulkRunItem.State.SKIPPED
            item.skip_rule = rule
            item.message = BulkRunItem.SkipRule(rule).label
        else:
            _write(run, creator, item)
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


def _write(run: BulkRun, creator: Actor, item: BulkRunItem) -> None:
    assert item.amount_minor is not None  # only excluded items lack one (bulkrunitem_amount_gt_0)
    try:
        writeoff = writeoff_create(
            invoice_id=item.invoice_id,
            amount=from_minor(item.amount_minor, item.currency),
            reason_code=run.reason_code,
            comments=run.comments,
            actor=creator,
            writeoff_date=run.writeoff_date,
            revenue_impacting=run.revenue_impacting,
            accounting_code_id=run.accounting_code_id,
            source=Source.BULK,
            idempotency_key=idempotency_key(run.pk, item.invoice_id),
            bulk_run_id=run.pk,
        )
    except BillingError as error:
        item.state = BulkRunItem.State.FAILED
        item.error_code = error.code
        item.message = error.message
        return
    item.state = BulkRunItem.State.WRITTEN
    item.writeoff = writeoff
    item.message = f"Write-off {writeoff.pk}"


def _written_by_run(run: BulkRun, item: BulkRunItem) -> bool:
    return WriteOff.objects.filter(
        idempotency_scope=Actor.for_user(run.created_by).idempotency_scope,
        idempotency_key=idempotency_key(run.pk, item.invoice_id),
    ).exists()


def idempotency_key(run_id: int, invoice_id: int) -> str:
    return f"run-{run_id}-{invoice_id}"


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


def _enqueue(run: BulkRun) -> None:
    """One task per worker that should share the run (``BULK_RUN_PARALLEL_TASKS``)."""
    from writeoffs.tasks import execute_bulk_run

    for _ in range(settings.BULK_RUN_PARALLEL_TASKS):
        execute_bulk_run.enqueue(run.pk)


# --- the log ---------------------------------------------------------------------------

LOG_HEADER = [
    "run",
    "invoice_no",
    "account_no",
    "currency",
    "amount",
    "state",
    "skip_rule",
    "error_code",
    "message",
    "writeoff",
    "writeoff_date",
    "processed_at",
]


def bulk_run_log_rows(run: BulkRun) -> Iterator[list[object]]:
    """The run's log, one row per item (excluded invoices included), streamed."""
    items = run.items.select_related("invoice__account").order_by("id").iterator(chunk_size=2000)
    for item in items:
        state = "excluded" if item.excluded else item.state
        yield [
            run.pk,
            item.invoice.invoice_no,
            item.invoice.account.acct_no,
            item.currency,
            "" if item.amount is None else str(item.amount),
            state,
            item.skip_rule,
            item.error_code or "",
            item.message,
            item.writeoff_id or "",
            # A written item's run has started, so has its date (bulkrun_started_is_approved).
            run.writeoff_date.isoformat() if item.writeoff_id and run.writeoff_date else "",
            item.heartbeat_at.isoformat() if item.heartbeat_at else "",
        ]


# --- helpers ----------------------------------------------------------------------------


def money_text(minor: int, currency: str) -> str:
    return format_money(from_minor(minor, currency), currency)


def _locked_run(run_id: object) -> BulkRun:
    try:
        # Whatever the caller passed: a bad id raises one of the errors caught below.
        return BulkRun.objects.select_for_update().get(pk=cast("int", run_id))
    except (BulkRun.DoesNotExist, ValueError, TypeError):
        raise BillingError(BULK_RUN_INVALID_STATE, f"Bulk run {run_id} does not exist.") from None


def _is_own(run_id: int, actor: Actor) -> bool:
    if actor.user is None:
        return False
    return BulkRun.objects.filter(
        Q(created_by=actor.user) | Q(approved_by=actor.user), pk=run_id
    ).exists()


def _require_draft_owner(run: BulkRun, actor: Actor) -> None:
    require_perm(actor, CREATE_PERM)
    if actor.user is None or actor.user.pk != run.created_by_id:
        raise BillingError(PERMISSION_DENIED, f"Only the creator of bulk run {run.pk} edits it.")
    if run.status != BulkRun.Status.DRAFT:
        raise BillingError(
            BULK_RUN_INVALID_STATE, f"Bulk run {run.pk} was started; its invoices are frozen."
        )
