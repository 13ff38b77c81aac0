"""Creating a write-off: the plan the confirm step shows, and the create itself.

Every create checks every rule on the invoice read under its row lock, writes the
entry and the invoice's running totals in the same transaction, and raises
``BillingError`` on any refusal (nothing is written). Views, admin, the API and
management commands call ``writeoff_create``, whose input is untrusted; a bulk
run's worker calls ``writeoff_create_in_run`` with the values its run froze. Both
go through one core, ``_create``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings

from billing.actors import Actor
from billing.errors import (
    BULK_RUN_OVER_LIMIT,
    OVER_AVAILABLE,
    BillingError,
    ErrorCollector,
)
from billing.history import acting_as
from billing.idempotency import create_once, find_replay, fingerprint
from billing.ledger.availability import require_available_since
from billing.ledger.periods import lock_date_read_once
from billing.models import AccountingCode, EventType, Invoice
from billing.money import format_money, from_minor, minor_money_text
from billing.rules import (
    clean_comments,
    lock_invoice,
    require_perm,
    require_sent,
    resolve_amount,
)
from writeoffs.lifecycle.events import writeoff_event
from writeoffs.lifecycle.rules import (
    LimitCheck,
    _insert_writeoff,
    _limit_check,
    _posting_code,
    _require_running_bulk_run,
    _run_limit_check,
    _run_posting_code,
    _writeoff_becomes_active,
    _writeoff_date,
    _writeoff_reason,
)
from writeoffs.models import (
    BulkRun,
    ReasonCode,
    Source,
    WriteOff,
)
from writeoffs.tax.parts import AmountParts, amount_parts

ADD_PERM = "writeoffs.add_writeoff"


@dataclass(frozen=True)
class WriteOffPlan:
    """A write-off that passed every rule against the invoice as it was read."""

    invoice: Invoice
    amount_minor: int
    reason_code: int
    comments: str
    writeoff_date: datetime.date
    revenue_impacting: bool
    accounting_code: AccountingCode | None
    # The amount against the requester's limit (with their other write-offs on the
    # invoice in the window), so the confirm step can say it will go for approval.
    approval: LimitCheck | None = None

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.invoice.currency)

    @property
    def goes_pending(self) -> bool:
        return self.approval is not None and not self.approval.within

    @property
    def parts(self) -> AmountParts | None:
        """Its net and tax parts, as it will post (None on an untaxed invoice)."""
        return amount_parts(
            self.invoice,
            self.amount_minor,
            revenue_impacting=self.revenue_impacting,
            on=self.writeoff_date,
        )

    @property
    def limit(self) -> Decimal | None:
        """The requester's limit, for the confirm step (``None``: unlimited)."""
        if self.approval is None or self.approval.limit_minor is None:
            return None
        return from_minor(self.approval.limit_minor, self.invoice.currency)

    @property
    def checked(self) -> Decimal | None:
        """What was checked against the limit: this amount plus the requester's other
        write-offs on the invoice in the window."""
        if self.approval is None:
            return None
        return from_minor(self.approval.checked_minor, self.invoice.currency)

    @property
    def reason_label(self) -> str:
        return ReasonCode(self.reason_code).label

    @property
    def balance_due_after(self) -> Decimal:
        return from_minor(self.invoice.balance_due_minor - self.amount_minor, self.invoice.currency)

    @property
    def available_after(self) -> Decimal:
        return from_minor(self.invoice.available_minor - self.amount_minor, self.invoice.currency)


def writeoff_plan(
    *,
    invoice: Invoice,
    amount: object,
    reason_code: object,
    comments: str,
    actor: Actor,
    writeoff_date: datetime.date | None = None,
    revenue_impacting: bool = True,
    accounting_code_id: int | None = None,
) -> WriteOffPlan:
    """Check a write-off against ``invoice`` and resolve its concrete values; write nothing.

    The entry drawer calls this to show errors and to freeze the amount on the
    confirm step; ``writeoff_create`` calls it again on the locked invoice.
    """
    require_perm(actor, ADD_PERM)
    require_sent(invoice, "write-offs")
    # The inputs are independent: check them all, so a form shows every refusal at
    # once. The first refusal (in this order) is what a single-error caller sees.
    rules = ErrorCollector()
    plan = WriteOffPlan(
        invoice=invoice,
        reason_code=rules.check(_writeoff_reason, reason_code, actor),
        comments=rules.check(clean_comments, comments),
        amount_minor=rules.check(resolve_amount, invoice, amount, kind="Write-off"),
        writeoff_date=rules.check(_writeoff_date, invoice, writeoff_date),
        revenue_impacting=revenue_impacting,
        accounting_code=rules.check(_posting_code, invoice, revenue_impacting, accounting_code_id),
    )
    rules.raise_any()
    require_available_since(
        invoice,
        amount_minor=plan.amount_minor,
        since=plan.writeoff_date,
        field="writeoff_date",
        what="write-off",
    )
    return replace(plan, approval=_limit_check(invoice, actor, plan.amount_minor))


def writeoff_create(
    *,
    invoice_id: int,
    amount: object,
    reason_code: object,
    comments: str,
    actor: Actor,
    writeoff_date: datetime.date | None = None,
    revenue_impacting: bool = True,
    accounting_code_id: int | None = None,
    source: str = Source.UI,
    idempotency_key: str | None = None,
) -> WriteOff:
    """Write off all (``amount`` empty) or part of an invoice's available balance.

    The input is untrusted: ``writeoff_plan`` parses and checks it on the locked
    invoice, after an earlier request with the same idempotency key has had its
    chance to replay. Over the actor's approval limit, the write-off goes pending.
    """
    require_perm(actor, ADD_PERM)
    content = fingerprint(
        invoice_id=invoice_id,
        amount=amount,
        reason_code=reason_code,
        comments=comments,
        writeoff_date=writeoff_date,
        revenue_impacting=revenue_impacting,
        accounting_code_id=accounting_code_id,
    )

    def create() -> WriteOff:
        invoice = lock_invoice(invoice_id)

        def plan() -> WriteOffPlan:
            return writeoff_plan(
                invoice=invoice,
                amount=amount,
                reason_code=reason_code,
                comments=comments,
                actor=actor,
                writeoff_date=writeoff_date,
                revenue_impacting=revenue_impacting,
                accounting_code_id=accounting_code_id,
            )

        return _create(
            invoice,
            plan,
            actor=actor,
            source=source,
            idempotency_key=idempotency_key,
            content=content,
        )

    return create_once(WriteOff, actor, idempotency_key, content, create)


def writeoff_create_in_run(
    *, run: BulkRun, invoice: Invoice, amount_minor: int, actor: Actor, first_try: bool = False
) -> WriteOff:
    """Write off one item of a running bulk run: its frozen amount in minor units, with
    the reason, comments, write-off date and posting code the run froze when it was
    approved, as the run's creator (``actor``), under the key ``run-<run>-<invoice>``.

    For the worker, inside the transaction whose claim locked ``invoice`` (every field,
    with its revenue code). ``run`` is the row the worker read once: nothing here reads
    it again, and nothing is parsed. The rules that depend on the invoice or the day
    are checked as for any write-off (the invoice is sent, the amount is available,
    the date is not before the bill date nor in a closed period). The run's approval
    as a whole stands in for the requester's own limit, so it never goes pending, but
    the split rule still applies: the item plus its creator's other write-offs on the
    invoice in the window must be within the limit that approved the run, or it is
    refused with ``BULK_RUN_OVER_LIMIT`` (the worker skips the item with that rule).
    A run started by a second person names them as each write-off's approver.
    Cancelling the run stops its worker at its next claim, which reads the status.

    ``first_try`` is the worker's first attempt at its item, for a caller that rolls
    its whole transaction back on any ``BillingError`` or ``IntegrityError`` and then
    calls again without it. It leaves out the savepoint and the look for a write-off
    already made under the key: the key's unique constraint finds one at the insert,
    and the call again (with both) replays it, as every other refusal is redone
    through the path every write-off takes. Two statements fewer for each invoice.
    """
    _require_running_bulk_run(run, actor)
    require_perm(actor, ADD_PERM)
    key = bulk_idempotency_key(run.pk, invoice.pk)
    # The content the worker sent as writeoff_create's input before it called this,
    # so that a write-off made under the run's key then still replays, never clashes.
    content = fingerprint(
        invoice_id=invoice.pk,
        amount=from_minor(amount_minor, invoice.currency),
        reason_code=run.reason_code,
        comments=run.comments,
        writeoff_date=run.writeoff_date,
        revenue_impacting=run.revenue_impacting,
        accounting_code_id=run.accounting_code_id,
    )

    def plan() -> WriteOffPlan:
        require_sent(invoice, "write-offs")
        if not 0 < amount_minor <= invoice.available_minor:
            raise BillingError(
                OVER_AVAILABLE,
                f"Write-off amount {_money(invoice, amount_minor)} is more than the "
                f"{_money(invoice, invoice.available_minor)} available on invoice "
                f"{invoice.invoice_no}.",
                field="amount",
            )
        writeoff_date = _writeoff_date(invoice, run.writeoff_date)
        # A run that resumes after its start day writes off on the day it froze.
        require_available_since(
            invoice,
            amount_minor=amount_minor,
            since=writeoff_date,
            field="writeoff_date",
            what="write-off",
        )
        return WriteOffPlan(
            invoice=invoice,
            amount_minor=amount_minor,
            reason_code=run.reason_code,
            comments=run.comments,
            writeoff_date=writeoff_date,
            revenue_impacting=run.revenue_impacting,
            accounting_code=_run_posting_code(run, invoice),
        )

    def create() -> WriteOff:
        return _create(
            invoice,
            plan,
            actor=actor,
            source=Source.BULK,
            idempotency_key=key,
            content=content,
            bulk_run=run,
            look_for_replay=not first_try,
        )

    if first_try:
        return create()
    return create_once(WriteOff, actor, key, content, create)


def bulk_idempotency_key(run_id: int, invoice_id: int) -> str:
    """A run writes each invoice at most once, however often its worker is resumed."""
    return f"run-{run_id}-{invoice_id}"


def _money(invoice: Invoice, minor: int) -> str:
    return format_money(from_minor(minor, invoice.currency), invoice.currency)


def _over_run_limit(invoice: Invoice, approval: LimitCheck) -> str:
    assert approval.limit_minor is not None  # only a limited approval can be exceeded
    return (
        f"With the run creator's other write-offs on invoice {invoice.invoice_no} in the "
        f"last {settings.WRITEOFF_APPROVAL_WINDOW_DAYS} days, "
        f"{minor_money_text(approval.checked_minor, invoice.currency)} is above the run's "
        "approval limit of "
        f"{minor_money_text(approval.limit_minor, invoice.currency)}."
    )


def _run_approver(run: BulkRun, creator: Actor) -> dict[str, object]:
    """Who approved a run's write-off: the second person who started the run above its
    creator's limit. A run the creator started within their own limit names nobody, as
    a write-off within its requester's limit does not (four eyes: the approver of a
    write-off is never its requester)."""
    second = run.approved_by
    if second is None or (creator.user is not None and second.pk == creator.user.pk):
        return {}
    approver = Actor.for_user(second)
    return {
        "approved_by": approver.user,
        "approved_by_label": approver.label,
        "approved_at": run.approved_at,
    }


def _create(
    invoice: Invoice,
    plan: Callable[[], WriteOffPlan],
    *,
    actor: Actor,
    source: str,
    idempotency_key: str | None,
    content: str,
    bulk_run: BulkRun | None = None,
    look_for_replay: bool = True,
) -> WriteOff:
    """The create core, in ``create_once``'s transaction, on ``invoice`` read under its
    row lock: replay an earlier request with this idempotency key, or check the
    caller's ``plan`` against the lock date read once, insert the write-off and take it
    off the balance (posting its journal entry) or reserve it pending approval.

    ``plan`` turns the caller's values into checked ones; it runs only for a new key.
    ``bulk_run``: the write-off belongs to that run, approved as a whole: it never pends.
    ``look_for_replay=False`` (a run's first try): the key's unique constraint is the look.
    """
    if look_for_replay:
        replay = find_replay(WriteOff, actor, idempotency_key, content)
        if replay is not None:
            return replay
    with lock_date_read_once():
        planned = plan()
        if bulk_run is None:
            approval = planned.approval or _limit_check(invoice, actor, planned.amount_minor)
            approver: dict[str, object] = {}
        else:
            approval = _run_limit_check(bulk_run, invoice, actor, planned.amount_minor)
            if not approval.within:
                raise BillingError(BULK_RUN_OVER_LIMIT, _over_run_limit(invoice, approval))
            approver = _run_approver(bulk_run, actor)
        with acting_as(actor):
            writeoff = _insert_writeoff(
                invoice,
                actor,
                requester=actor,
                approval=approval,
                amount_minor=planned.amount_minor,
                reason_code=planned.reason_code,
                comments=planned.comments,
                writeoff_date=planned.writeoff_date,
                revenue_impacting=planned.revenue_impacting,
                accounting_code=planned.accounting_code,
                source=source,
                idempotency_key=idempotency_key,
                idempotency_fingerprint=content,
                bulk_run=bulk_run,
                **approver,
            )
            if approval.within:
                _writeoff_becomes_active(
                    invoice, writeoff, actor=actor, entry_date=writeoff.writeoff_date
                )
            else:
                # Over the limit: the amount is reserved (no longer available) but still
                # due, and nothing posts until a second person approves.
                invoice.pending_minor += planned.amount_minor
                invoice.save(update_fields=["pending_minor"])
            writeoff_event(
                EventType.WRITEOFF_CREATED,
                writeoff,
                invoice=invoice,
                actor=actor,
                bulk_run_id=bulk_run.pk if bulk_run is not None else None,
            )
    return writeoff
