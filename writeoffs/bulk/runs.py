"""Bulk small-balance write-off runs: a draft with its criteria and exclusions, then
start (which freezes the run and approves its total once), cancel and resume.

A run never executes inside a web request, and these services never hand it to the
worker themselves: the task worker is transport, a layer above them. A caller that
starts or resumes a run for the worker goes through ``writeoffs.bulk.tasks``
(``start_bulk_run``, ``resume_bulk_run``), which enqueues it in the same transaction.
"""

from __future__ import annotations

import datetime
import re

from django.db import transaction
from django.db.models import Q
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
from billing.models import AVAILABLE_MINOR, Account
from billing.money import (
    format_money,
    from_minor,
    minor_money_text,
    money_text,
    parse_amount,
    to_minor,
)
from billing.rules import clean_comments, require_perm, today
from writeoffs.approvals.limits import approval_limit_minor, within_limit
from writeoffs.bulk.execute import locked_run
from writeoffs.bulk.preview import aging_cutoff, bulk_run_candidates, excluded_invoice_ids
from writeoffs.lifecycle.rules import _expense_code, _writeoff_reason
from writeoffs.models import BulkRun, BulkRunItem

CREATE_PERM = "writeoffs.add_writeoff"


APPROVE_PERM = "writeoffs.approve_writeoff"


MAX_OLDER_THAN_DAYS = 36_500


_CURRENCY = re.compile(r"[A-Z]{3}")


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
            largest = format_money(from_minor(minor, currency), currency)
            raise BillingError(
                BULK_RUN_INVALID_CRITERIA,
                f"The largest {currency} balance, {largest}, is above your "
                f"approval limit of {minor_money_text(limit or 0, currency)}.",
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
        run = locked_run(run_id)
        _require_draft_owner(run, actor)
        if excluded:
            # Only an invoice the run's criteria select today: any other (another
            # currency, a larger balance, a void invoice) is not in the run to leave out.
            currency = (
                bulk_run_candidates(run).filter(pk=invoice_id).values_list("currency", flat=True)
            )
            if not currency:
                raise BillingError(
                    BULK_RUN_INVALID_CRITERIA,
                    f"Invoice {invoice_id} is not in bulk run {run.pk}: its criteria do not "
                    "select it.",
                )
            BulkRunItem.objects.get_or_create(
                run=run, invoice_id=invoice_id, defaults={"excluded": True, "currency": currency[0]}
            )
        else:
            BulkRunItem.objects.filter(run=run, invoice_id=invoice_id, excluded=True).delete()
    return run


def bulk_run_start(*, run_id: int, actor: Actor, now: datetime.datetime | None = None) -> BulkRun:
    """Freeze the draft's invoices and approve its total once; return the running run.

    It enqueues nothing: ``writeoffs.bulk.tasks.start_bulk_run`` wraps this and the
    enqueue in one transaction, and ``writeoff_small_balances`` executes the run itself.

    The creator starts a run within their own limit for every currency. Above it,
    a different person with the approve permission whose limit covers each
    currency's total starts it, and is its approver (four eyes: never the creator).
    Nothing in a run goes pending: this approval covers every write-off in it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        run = locked_run(run_id)
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
    return run


def _over_limit_message(over: list[str], totals: dict, limits: dict, is_creator: bool) -> str:
    parts = []
    for currency in over:
        total = from_minor(totals[currency]["total_minor"], currency)
        limit = from_minor(limits[currency] or 0, currency)
        parts.append(
            f"{money_text(total, currency)} is above "
            f"{'your' if is_creator else 'your approval'} limit of "
            f"{money_text(limit, currency)}"
        )
    advice = (
        "A different person whose limit covers it (a supervisor or the finance controller) "
        "must approve and start it."
        if is_creator
        else "Ask someone whose limit covers it."
    )
    return f"The run's total {'; '.join(parts)}. {advice}"


def bulk_run_request_approval(
    *, run_id: int, actor: Actor, now: datetime.datetime | None = None
) -> BulkRun:
    """Send a draft above its creator's limit to the Approvals queue, where a person
    whose limit covers it approves and starts it (``bulk_run_start``). Only the creator
    sends their own draft; sending it again changes nothing."""
    with transaction.atomic():
        run = locked_run(run_id)
        _require_draft_owner(run, actor)
        if run.approval_requested_at is None:
            run.approval_requested_at = now or timezone.now()
            run.save(update_fields=["approval_requested_at"])
    return run


def bulk_runs_awaiting_approval():
    """Drafts their creators sent for approval, oldest request first."""
    return (
        BulkRun.objects.filter(status=BulkRun.Status.DRAFT, approval_requested_at__isnull=False)
        .select_related("created_by")
        .order_by("approval_requested_at", "id")
    )


def bulk_run_cancel(*, run_id: int, actor: Actor, now: datetime.datetime | None = None) -> BulkRun:
    """Stop a run between invoices. Its creator, its approver or an approver may cancel.

    A worker checks the status before each invoice, so the invoice in hand (if
    any) is the last one written; items not reached stay pending, never written.
    """
    with transaction.atomic():
        run = locked_run(run_id)
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
    """Mark a stalled run (its heartbeat is more than 5 minutes old) as resumed, for
    ``writeoffs.bulk.tasks.resume_bulk_run`` to enqueue again in the same transaction."""
    if not actor.system:
        require_perm(actor, CREATE_PERM if _is_own(run_id, actor) else APPROVE_PERM)
    now = now or timezone.now()
    with transaction.atomic():
        run = locked_run(run_id)
        if not run.is_stalled(now):
            raise BillingError(
                BULK_RUN_INVALID_STATE,
                f"Bulk run {run.pk} is not stalled: only a running run whose worker has been "
                "silent for 5 minutes can be resumed.",
            )
        run.heartbeat_at = now
        run.resume_count += 1
        run.save(update_fields=["heartbeat_at", "resume_count"])
    return run


def stalled_bulk_run_ids(now: datetime.datetime) -> list[int]:
    """The running runs whose heartbeat is more than 5 minutes old at ``now``."""
    return list(
        BulkRun.objects.filter(
            status=BulkRun.Status.RUNNING, heartbeat_at__lt=now - BulkRun.STALL_AFTER
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


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
