"""Every write to write-offs and dispute holds.

Each function re-reads the invoice under its row lock before checking anything,
checks every rule, writes the entry and the invoice's running totals in the same
transaction, and raises ``BillingError`` on any refusal (nothing is written).
Views, admin, the API and management commands all call these.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.formats import date_format

from billing.actors import Actor
from billing.checks import EXPIRATION_LEAVE_OPEN, dispute_settings_problems
from billing.errors import (
    APPROVER_IS_REQUESTER,
    APPROVER_LACKS_PERMISSION,
    APPROVER_LIMIT_TOO_LOW,
    APPROVER_NOT_A_PERSON,
    BULK_RUN_INVALID_STATE,
    DISPUTE_NOT_FOUND,
    INVALID_ACCOUNTING_CODE,
    INVALID_COMMENTS,
    INVALID_DISPUTE_SETTINGS,
    INVALID_EXPIRE_HOLD_DAYS,
    INVALID_REASON_CODE,
    INVALID_RECOVERY_CHOICE,
    INVALID_SETTLEMENT_ACTION,
    INVALID_STATE,
    INVALID_WRITEOFF_DATE,
    NOT_THE_REQUESTER,
    NOTHING_RECOVERABLE,
    OVER_RECOVERABLE,
    WRITEOFF_HAS_RECOVERIES,
    WRITEOFF_NOT_PENDING,
    BillingError,
    ErrorCollector,
)
from billing.history import acting_as
from billing.idempotency import create_once, find_replay, fingerprint
from billing.journal import (
    control_codes,
    lock_date,
    lock_date_read_once,
    post_payment,
    post_reclassification,
    post_recovery,
    post_reversal,
    post_writeoff,
    posting_code,
    require_open,
)
from billing.models import AccountingCode, Invoice, JournalEvent, Payment
from billing.money import format_money, from_minor, parse_amount, to_minor
from billing.rules import (
    COMMENTS_MAX_LENGTH,
    clean_comments,
    clean_correction_reason,
    clean_optional_text,
    correct_entry,
    invoice_id_of,
    lock_invoice,
    require_perm,
    require_sent,
    resolve_amount,
    today,
)
from billing.services import payment_terms
from writeoffs.approvals import approval_limit_minor, hold_requester, within_limit
from writeoffs.models import (
    RECOVERABLE_REASON_CODES,
    STORED_WRITEOFF_REASON_CODES,
    WRITEOFF_REASON_CODES,
    BulkRun,
    DisputeHold,
    ReasonCode,
    Settlement,
    Source,
    WriteOff,
    WriteOffRecovery,
)

EXPIRE_HOLD_DAYS_MIN = 2


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

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.invoice.currency)

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
    require_perm(actor, "writeoffs.add_writeoff")
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
    return plan


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
    bulk_run_id: int | None = None,
) -> WriteOff:
    """Write off all (``amount`` empty) or part of an invoice's available balance.

    ``bulk_run_id``: the write-off belongs to that running bulk run, whose approval
    as a whole stands in for the per-write-off approval limit; it never goes pending.
    """
    require_perm(actor, "writeoffs.add_writeoff")
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
        replay = find_replay(WriteOff, actor, idempotency_key, content)
        if replay is not None:
            return replay
        with lock_date_read_once():
            return create_new(invoice)

    def create_new(invoice: Invoice) -> WriteOff:
        if bulk_run_id is not None:
            _require_running_bulk_run(bulk_run_id, actor)
        plan = writeoff_plan(
            invoice=invoice,
            amount=amount,
            reason_code=reason_code,
            comments=comments,
            actor=actor,
            writeoff_date=writeoff_date,
            revenue_impacting=revenue_impacting,
            accounting_code_id=accounting_code_id,
        )
        if bulk_run_id is None:
            approval = _limit_check(invoice, actor, plan.amount_minor)
        else:
            # A bulk run's total was approved once, as a whole: its writes never pend.
            approval = LimitCheck(limit_minor=None, checked_minor=plan.amount_minor)
        with acting_as(actor):
            writeoff = _insert_writeoff(
                invoice,
                actor,
                requester=actor,
                approval=approval,
                amount_minor=plan.amount_minor,
                reason_code=plan.reason_code,
                comments=plan.comments,
                writeoff_date=plan.writeoff_date,
                revenue_impacting=plan.revenue_impacting,
                accounting_code=plan.accounting_code,
                source=source,
                idempotency_key=idempotency_key,
                idempotency_fingerprint=content,
                bulk_run_id=bulk_run_id,
            )
            if approval.within:
                _writeoff_becomes_active(
                    invoice, writeoff, actor=actor, entry_date=writeoff.writeoff_date
                )
            else:
                # Over the limit: the amount is reserved (no longer available) but still
                # due, and nothing posts until a second person approves.
                invoice.pending_minor += plan.amount_minor
                invoice.save(update_fields=["pending_minor"])
        return writeoff

    return create_once(WriteOff, actor, idempotency_key, content, create)


def writeoff_reverse(*, writeoff_id: int, reason: str, actor: Actor) -> WriteOff:
    """Correct a write-off by reversing it: the row stays, the balance comes back.

    Reversing a write-off that came from a dispute does not reopen the dispute.
    """
    require_perm(actor, "writeoffs.reverse_writeoff")
    reason = clean_comments(reason, field="reason", label="A reason")
    invoice_id = invoice_id_of(WriteOff, writeoff_id)
    with transaction.atomic(), acting_as(actor):
        invoice = lock_invoice(invoice_id)
        writeoff = WriteOff.objects.select_for_update().get(pk=writeoff_id)
        if writeoff.status == WriteOff.Status.REVERSED:
            raise BillingError(INVALID_STATE, f"Write-off {writeoff.pk} was already reversed.")
        if writeoff.status != WriteOff.Status.ACTIVE:
            raise BillingError(
                INVALID_STATE,
                f"Write-off {writeoff.pk} is {writeoff.status_label.lower()}; only an active "
                "write-off can be reversed.",
            )
        if writeoff.recovered_minor:
            raise BillingError(
                WRITEOFF_HAS_RECOVERIES,
                f"Write-off {writeoff.pk} has recoveries; remove the recovery payment first.",
            )
        writeoff.status = WriteOff.Status.REVERSED
        writeoff.reversed_by = actor.user
        writeoff.reversed_by_label = actor.label
        writeoff.reversed_at = timezone.now()
        writeoff.reversal_reason = reason
        writeoff.save(
            update_fields=[
                "status",
                "reversed_by",
                "reversed_by_label",
                "reversed_at",
                "reversal_reason",
            ]
        )
        invoice.written_off_minor -= writeoff.amount_minor
        invoice.save(update_fields=["written_off_minor"])
        # Today, never into the period the write-off was posted in, which may be closed.
        post_reversal(
            writeoff,
            event=JournalEvent.WRITEOFF_REVERSAL,
            invoice=invoice,
            actor=actor,
            memo=f"Write-off {writeoff.pk} on invoice {invoice.invoice_no} reversed",
        )
    return writeoff


# --- approvals (maker-checker) ----------------------------------------------


def writeoff_approve(*, writeoff_id: int, actor: Actor) -> WriteOff:
    """A second person approves a pending write-off: it becomes active and posts.

    The approver must be a signed-in person with the approve permission and a
    limit that covers the amount, and never the requester (four eyes). A pending
    conversion settles its dispute hold here. The entry posts on the write-off
    date if that period is still open, otherwise on the approval date (the
    write-off date moves to it, and history keeps the original).
    """
    _require_approver(actor)
    invoice_id = invoice_id_of(WriteOff, writeoff_id)
    # One read of the lock date serves the date check and the posting.
    with transaction.atomic(), acting_as(actor), lock_date_read_once():
        invoice = lock_invoice(invoice_id)
        writeoff = WriteOff.objects.select_for_update().get(pk=writeoff_id)
        _check_decision(writeoff, invoice, actor, verb="approve")
        approved_on = today()
        if not period_is_open(writeoff.writeoff_date):
            writeoff.writeoff_date = approved_on
        writeoff.status = WriteOff.Status.ACTIVE
        writeoff.approved_by = actor.user
        writeoff.approved_by_label = actor.label
        writeoff.approved_at = timezone.now()
        writeoff.save(
            update_fields=[
                "status",
                "writeoff_date",
                "approved_by",
                "approved_by_label",
                "approved_at",
            ]
        )
        if writeoff.origin_dispute_id is not None:
            hold = DisputeHold.objects.select_for_update().get(pk=writeoff.origin_dispute_id)
            invoice.held_minor -= writeoff.amount_minor
            released = "held_minor"
            hold.status = DisputeHold.Status.WRITTEN_OFF
            _mark_settled(hold, actor, writeoff.comments, on_date=approved_on)
        else:
            invoice.pending_minor -= writeoff.amount_minor
            released = "pending_minor"
        _writeoff_becomes_active(
            invoice,
            writeoff,
            actor=actor,
            entry_date=writeoff.writeoff_date,
            also_save=[released],
        )
    return writeoff


def writeoff_reject(*, writeoff_id: int, reason: str, actor: Actor) -> WriteOff:
    """A second person rejects a pending write-off, with a reason; its reservation is
    freed (a rejected conversion leaves its hold open). Same checks as approving."""
    _require_approver(actor)
    reason = clean_comments(reason, field="reason", label="A reason")
    invoice_id = invoice_id_of(WriteOff, writeoff_id)
    with transaction.atomic(), acting_as(actor):
        invoice = lock_invoice(invoice_id)
        writeoff = WriteOff.objects.select_for_update().get(pk=writeoff_id)
        _check_decision(writeoff, invoice, actor, verb="reject")
        _close_pending(
            invoice, writeoff, actor=actor, status=WriteOff.Status.REJECTED, reason=reason
        )
    return writeoff


def writeoff_withdraw(*, writeoff_id: int, actor: Actor, reason: str = "") -> WriteOff:
    """The requester takes back their own pending write-off (it shows as withdrawn)."""
    text = clean_optional_text(
        reason, field="reason", max_length=COMMENTS_MAX_LENGTH, code=INVALID_COMMENTS
    )
    invoice_id = invoice_id_of(WriteOff, writeoff_id)
    with transaction.atomic(), acting_as(actor):
        invoice = lock_invoice(invoice_id)
        writeoff = WriteOff.objects.select_for_update().get(pk=writeoff_id)
        if actor.system or not writeoff.is_requested_by(actor):
            raise BillingError(
                NOT_THE_REQUESTER,
                f"Only {writeoff.requested_by_label or 'the requester'} may withdraw write-off "
                f"{writeoff.pk}.",
            )
        _require_pending(writeoff)
        _close_pending(
            invoice,
            writeoff,
            actor=actor,
            status=WriteOff.Status.REJECTED,
            reason=text or "Withdrawn by the requester.",
            withdrawn=True,
        )
    return writeoff


@dataclass
class LapseResult:
    run_date: datetime.date
    lapsed: list[WriteOff] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"Write-off {w.pk} on invoice {w.invoice.invoice_no} "
            f"({format_money(w.amount, w.invoice.currency)} {w.invoice.currency}, requested by "
            f"{w.requested_by_label or 'unknown'} on {timezone.localdate(w.created_at)}) lapsed."
            for w in self.lapsed
        ]

    def summary(self) -> str:
        return (
            f"{len(self.lapsed)} pending write-off(s) lapsed on {self.run_date} "
            f"(older than {settings.WRITEOFF_APPROVAL_DAYS} days)."
        )


def writeoffs_lapse(*, run_date: datetime.date | None = None) -> LapseResult:
    """Lapse every write-off pending for more than WRITEOFF_APPROVAL_DAYS on ``run_date``.

    Each in its own transaction, as the system; a lapsed write-off frees its
    reservation (a lapsed conversion leaves its hold open). Running it again
    changes nothing.
    """
    run_date = run_date or today()
    cutoff = datetime.datetime.combine(
        run_date - datetime.timedelta(days=settings.WRITEOFF_APPROVAL_DAYS),
        datetime.time.min,
        tzinfo=timezone.get_current_timezone(),
    )
    result = LapseResult(run_date=run_date)
    due = list(
        WriteOff.objects.filter(status=WriteOff.Status.PENDING, created_at__lt=cutoff)
        .order_by("id")
        .values_list("id", "invoice_id")
    )
    system = Actor.for_system()
    for writeoff_id, invoice_id in due:
        with transaction.atomic(), acting_as(system):
            invoice = lock_invoice(invoice_id)
            writeoff = WriteOff.objects.select_for_update().get(pk=writeoff_id)
            if not writeoff.is_pending:
                continue  # decided between the listing and the lock
            _close_pending(invoice, writeoff, actor=system, status=WriteOff.Status.LAPSED)
            writeoff.invoice = invoice
        result.lapsed.append(writeoff)
    return result


def period_is_open(date: datetime.date) -> bool:
    """Whether an entry may still post on ``date``: after the lock date."""
    locked = lock_date()
    return locked is None or date > locked


def _require_approver(actor: Actor) -> None:
    if actor.system or actor.api_key is not None or actor.user is None:
        raise BillingError(
            APPROVER_NOT_A_PERSON,
            "Only a signed-in person may approve or reject a write-off, never an API key "
            "or the system.",
        )
    if not actor.has_perm("writeoffs.approve_writeoff"):
        raise BillingError(
            APPROVER_LACKS_PERMISSION,
            f"{actor.label} is not allowed to approve or reject write-offs.",
        )


def _require_pending(writeoff: WriteOff) -> None:
    if not writeoff.is_pending:
        raise BillingError(
            WRITEOFF_NOT_PENDING,
            f"Write-off {writeoff.pk} is {writeoff.status_label.lower()}, not pending approval.",
        )


def _check_decision(writeoff: WriteOff, invoice: Invoice, actor: Actor, *, verb: str) -> None:
    """Four eyes and a covering limit, checked on the locked rows."""
    _require_pending(writeoff)
    if writeoff.is_requested_by(actor):
        raise BillingError(
            APPROVER_IS_REQUESTER,
            f"You requested write-off {writeoff.pk}; someone else must {verb} it.",
        )
    limit = approval_limit_minor(actor, invoice.currency)
    if not within_limit(limit, writeoff.amount_minor):
        assert limit is not None  # within_limit() covers every amount when there is no limit
        currency = invoice.currency
        raise BillingError(
            APPROVER_LIMIT_TOO_LOW,
            f"Your approval limit ({format_money(from_minor(limit, currency), currency)} "
            f"{currency}) does not cover write-off {writeoff.pk} of "
            f"{format_money(writeoff.amount, currency)} {currency}; ask someone with a "
            "higher limit.",
        )


def _close_pending(
    invoice: Invoice,
    writeoff: WriteOff,
    *,
    actor: Actor,
    status: str,
    reason: str = "",
    withdrawn: bool = False,
) -> None:
    """Reject, withdraw or lapse: free the reservation; nothing was posted."""
    now = timezone.now()
    writeoff.status = status
    if status == WriteOff.Status.LAPSED:
        writeoff.lapsed_at = now
        fields = ["status", "lapsed_at"]
    else:
        writeoff.rejected_by = actor.user
        writeoff.rejected_by_label = actor.label
        writeoff.rejected_at = now
        writeoff.rejection_reason = reason
        writeoff.withdrawn = withdrawn
        fields = [
            "status",
            "rejected_by",
            "rejected_by_label",
            "rejected_at",
            "rejection_reason",
            "withdrawn",
        ]
    writeoff.save(update_fields=fields)
    if writeoff.origin_dispute_id is not None:
        hold = DisputeHold.objects.select_for_update().get(pk=writeoff.origin_dispute_id)
        hold.conversion_pending = False
        hold.save(update_fields=["conversion_pending"])
    else:
        invoice.pending_minor -= writeoff.amount_minor
        invoice.save(update_fields=["pending_minor"])


# --- bad-debt recovery --------------------------------------------------------


def recoverable_writeoffs(invoice: Invoice) -> list[WriteOff]:
    """The invoice's write-offs a payment may reinstate, newest first (the default order)."""
    return list(
        WriteOff.objects.filter(
            invoice=invoice,
            status=WriteOff.Status.ACTIVE,
            reason_code__in=RECOVERABLE_REASON_CODES,
            recovered_minor__lt=models.F("amount_minor"),
        ).order_by("-writeoff_date", "-id")
    )


def recoverable_minor(invoice: Invoice, writeoffs: list[WriteOff] | None = None) -> int:
    """The most a recovery payment may be: available plus what is still written off."""
    writeoffs = recoverable_writeoffs(invoice) if writeoffs is None else writeoffs
    return invoice.available_minor + sum(w.amount_minor - w.recovered_minor for w in writeoffs)


def recovery_record(
    *,
    invoice_id: int,
    amount: object,
    actor: Actor,
    paid_on: datetime.date | None = None,
    method: str = Payment.Method.CHECK,
    reference: str = "",
    writeoff_ids: list[int] | None = None,
    idempotency_key: str | None = None,
) -> Payment:
    """A customer pays a written-off invoice after all.

    The payment may be up to ``available`` plus the unrecovered part of the
    invoice's bad-debt (0) and expiry-conversion (9999) write-offs. The part above
    ``available`` reinstates written-off money from ``writeoff_ids`` in that order
    (default: newest first), then the whole payment is applied. One transaction.
    """
    require_perm(actor, "billing.add_payment")
    content = fingerprint(
        invoice_id=invoice_id,
        amount=amount,
        paid_on=paid_on,
        method=method,
        reference=reference,
        writeoff_ids=writeoff_ids,
    )

    def create() -> Payment:
        invoice = lock_invoice(invoice_id)
        replay = find_replay(Payment, actor, idempotency_key, content)
        if replay is not None:
            return replay
        require_sent(invoice, "payments recorded")
        candidates = recoverable_writeoffs(invoice)
        if not candidates:
            raise BillingError(
                NOTHING_RECOVERABLE,
                f"Invoice {invoice.invoice_no} has no recoverable write-off: only active "
                "Bad Debt (0) and system conversion (9999) write-offs can be recovered.",
                field="amount",
            )
        currency = invoice.currency
        amount_minor = to_minor(parse_amount(amount, currency), currency)
        maximum = recoverable_minor(invoice, candidates)
        if amount_minor > maximum:

            def show(minor: int) -> str:
                return f"{format_money(from_minor(minor, currency), currency)} {currency}"

            raise BillingError(
                OVER_RECOVERABLE,
                f"Recovery amount {show(amount_minor)} is more than the {show(maximum)} that "
                f"can be recovered on invoice {invoice.invoice_no} ({show(invoice.available_minor)}"
                f" available plus {show(maximum - invoice.available_minor)} written off as "
                "recoverable).",
                field="amount",
            )
        # A recovery is a payment: the same date, method and reference rules.
        date, payment_method, text = payment_terms(
            invoice, paid_on=paid_on, method=method, reference=reference, what="recovery"
        )
        allocation = _recovery_allocation(
            candidates, amount_minor - max(invoice.available_minor, 0), writeoff_ids, date
        )
        with acting_as(actor):
            payment = Payment.objects.create(
                invoice=invoice,
                account_id=invoice.account_id,
                amount_minor=amount_minor,
                paid_on=date,
                method=payment_method,
                reference=text,
                recorded_by=actor.user,
                recorded_by_label=actor.label,
                idempotency_scope=actor.idempotency_scope,
                idempotency_key=idempotency_key or None,
                idempotency_fingerprint=content,
            )
            reinstated = 0
            for writeoff, part in allocation:
                WriteOffRecovery.objects.create(
                    writeoff=writeoff,
                    payment=payment,
                    amount_minor=part,
                    recovered_on=date,
                    created_by=actor.user,
                    created_by_label=actor.label,
                )
                writeoff.recovered_minor += part
                writeoff.save(update_fields=["recovered_minor"])
                reinstated += part
            # written_off stays net of recoveries, so balance_due keeps its meaning.
            invoice.written_off_minor -= reinstated
            invoice.paid_minor += amount_minor
            invoice.save(update_fields=["written_off_minor", "paid_minor"])
            if allocation:
                post_recovery(
                    payment,
                    invoice=invoice,
                    reinstated=[
                        (posting_code(w.accounting_code_id, f"Write-off {w.pk}"), part)
                        for w, part in allocation
                    ],
                    actor=actor,
                )
            else:
                # Nothing reinstated (the payment fits in available): a plain payment.
                post_payment(payment, invoice=invoice, actor=actor)
        return payment

    return create_once(Payment, actor, idempotency_key, content, create)


def _recovery_allocation(
    candidates: list[WriteOff],
    excess_minor: int,
    writeoff_ids: list[int] | None,
    date: datetime.date,
) -> list[tuple[WriteOff, int]]:
    """Which write-offs give back ``excess_minor``, in the clerk's order or newest first."""
    if excess_minor <= 0:
        return []
    by_id = {w.pk: w for w in candidates}
    if writeoff_ids:
        chosen_ids = [_as_int(pk) for pk in writeoff_ids]
        if any(pk not in by_id for pk in chosen_ids) or len(set(chosen_ids)) != len(chosen_ids):
            raise BillingError(
                INVALID_RECOVERY_CHOICE,
                "Choose only this invoice's recoverable write-offs, each once.",
                field="writeoffs",
            )
        # Every id is a candidate's (checked above), so none is None.
        chosen = [by_id[pk] for pk in chosen_ids if pk is not None]
    else:
        chosen = candidates
    allocation = []
    left = excess_minor
    for writeoff in chosen:
        if left == 0:
            break
        part = min(left, writeoff.amount_minor - writeoff.recovered_minor)
        if date < writeoff.writeoff_date:
            raise BillingError(
                INVALID_RECOVERY_CHOICE,
                f"The recovery date is before write-off {writeoff.pk}'s date, "
                f"{writeoff.writeoff_date}, which it would reinstate.",
                field="paid_on",
            )
        allocation.append((writeoff, part))
        left -= part
    if left:
        raise BillingError(
            INVALID_RECOVERY_CHOICE,
            "The write-offs chosen cannot take the whole recovery: choose more of them.",
            field="writeoffs",
        )
    return allocation


@dataclass(frozen=True)
class DisputeHoldPlan:
    """A dispute hold that passed every rule against the invoice as it was read."""

    invoice: Invoice
    amount_minor: int
    comments: str
    expire_hold_days: int
    expires_on: datetime.date

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.invoice.currency)

    @property
    def balance_due_after(self) -> Decimal:
        """A hold moves nothing out of the balance due; it only stops it being available."""
        return self.invoice.balance_due

    @property
    def available_after(self) -> Decimal:
        return from_minor(self.invoice.available_minor - self.amount_minor, self.invoice.currency)


def dispute_hold_plan(
    *,
    invoice: Invoice,
    amount: object,
    comments: str,
    actor: Actor,
    expire_hold_days: object = None,
    reason_code: object = ReasonCode.CHARGE_DISPUTE_HOLD,
) -> DisputeHoldPlan:
    """Check a dispute hold against ``invoice`` and resolve its concrete values; write nothing."""
    require_perm(actor, "writeoffs.add_disputehold")
    if dispute_settings_problems():
        raise BillingError(
            INVALID_DISPUTE_SETTINGS,
            "Client Parameter, Dispute Hold Expiration Override Maximum Days, is invalid. "
            "Ask an administrator to correct the dispute-hold settings.",
        )
    require_sent(invoice, "dispute holds")
    if _as_int(reason_code) != ReasonCode.CHARGE_DISPUTE_HOLD:
        raise BillingError(
            INVALID_REASON_CODE,
            "Invalid reason code: a dispute hold takes reason 9001 (Charge Dispute Hold).",
            field="reason_code",
        )
    rules = ErrorCollector()
    text = rules.check(clean_comments, comments)
    days = rules.check(resolve_expire_hold_days, expire_hold_days)
    amount_minor = rules.check(resolve_amount, invoice, amount, kind="Dispute")
    rules.raise_any()
    return DisputeHoldPlan(
        invoice=invoice,
        comments=text,
        expire_hold_days=days,
        expires_on=today() + datetime.timedelta(days=days),
        amount_minor=amount_minor,
    )


def dispute_hold_create(
    *,
    invoice_id: int,
    amount: object,
    comments: str,
    actor: Actor,
    expire_hold_days: object = None,
    reason_code: object = ReasonCode.CHARGE_DISPUTE_HOLD,
    source: str = Source.UI,
    idempotency_key: str | None = None,
) -> DisputeHold:
    """Put all (``amount`` empty) or part of an invoice's available balance on hold."""
    require_perm(actor, "writeoffs.add_disputehold")
    content = fingerprint(
        invoice_id=invoice_id,
        amount=amount,
        comments=comments,
        expire_hold_days=expire_hold_days,
        reason_code=reason_code,
    )

    def create() -> DisputeHold:
        invoice = lock_invoice(invoice_id)
        replay = find_replay(DisputeHold, actor, idempotency_key, content)
        if replay is not None:
            return replay
        plan = dispute_hold_plan(
            invoice=invoice,
            amount=amount,
            comments=comments,
            actor=actor,
            expire_hold_days=expire_hold_days,
            reason_code=reason_code,
        )
        with acting_as(actor):
            hold = DisputeHold.objects.create(
                account_id=invoice.account_id,
                invoice=invoice,
                amount_minor=plan.amount_minor,
                comments=plan.comments,
                expire_hold_days=plan.expire_hold_days,
                expires_on=plan.expires_on,
                source=source,
                created_by=actor.user,
                api_key=actor.api_key,
                created_by_label=actor.label,
                idempotency_scope=actor.idempotency_scope,
                idempotency_key=idempotency_key or None,
                idempotency_fingerprint=content,
            )
            invoice.held_minor += plan.amount_minor
            invoice.save(update_fields=["held_minor"])
        return hold

    return create_once(DisputeHold, actor, idempotency_key, content, create)


def dispute_hold_settle(
    *,
    dispute_hold_id: int,
    action: str,
    actor: Actor,
    comments: str = "",
    reason_code: object = ReasonCode.BAD_DEBT,
    accounting_code_id: int | None = None,
    source: str = Source.UI,
) -> DisputeHold:
    """Settle an open dispute hold.

    - ``convert``: the held amount becomes a permanent write-off with ``reason_code``
      (no availability check: the amount was already held);
    - ``release``: the hold is removed and the balance stays due;
    - ``release_reage``: also moves the invoice's aging date to today.
    """
    require_perm(actor, "writeoffs.settle_disputehold")
    return _settle(
        dispute_hold_id=dispute_hold_id,
        action=action,
        actor=actor,
        comments=comments,
        reason_code=reason_code,
        accounting_code_id=accounting_code_id,
        source=source,
        on_date=today(),
    )


@dataclass
class ExpiryResult:
    run_date: datetime.date
    action: str
    settled: list[int] = field(default_factory=list)
    left_open: list[int] = field(default_factory=list)
    # Set when the run date is in a closed period and the action would post.
    closed_through: datetime.date | None = None
    # Conversions over the hold creator's limit, now waiting for approval.
    conversion_pending: list[int] = field(default_factory=list)

    def summary(self) -> str:
        if self.closed_through is not None:
            return (
                f"The books are closed through {self.closed_through}: converted nothing on "
                f"{self.run_date} ({len(self.left_open)} dispute hold(s) past expiry left open)."
            )
        if self.action == EXPIRATION_LEAVE_OPEN:
            return (
                f"{len(self.left_open)} dispute hold(s) past expiry on {self.run_date} left open "
                f"(DISPUTE_HOLD_EXPIRATION_ACTION is none)."
            )
        summary = f"{len(self.settled)} dispute hold(s) expired on {self.run_date}: {self.action}."
        if self.conversion_pending:
            summary += (
                f" {len(self.conversion_pending)} conversion(s) over the hold creator's limit "
                "are pending approval."
            )
        return summary


def dispute_holds_expire(*, run_date: datetime.date | None = None) -> ExpiryResult:
    """Apply DISPUTE_HOLD_EXPIRATION_ACTION to every open hold past its expiry date.

    Each hold is settled in its own transaction, as the system. Running it again
    changes nothing: settled holds are no longer open.
    """
    run_date = run_date or today()
    action = settings.DISPUTE_HOLD_EXPIRATION_ACTION
    result = ExpiryResult(run_date=run_date, action=action)
    due = list(
        # A hold whose conversion waits for approval is left to the approver.
        DisputeHold.objects.filter(
            status=DisputeHold.Status.OPEN, conversion_pending=False, expires_on__lt=run_date
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    if action == EXPIRATION_LEAVE_OPEN:
        result.left_open = due
        return result
    if action not in Settlement.values:
        raise BillingError(
            INVALID_DISPUTE_SETTINGS, f"DISPUTE_HOLD_EXPIRATION_ACTION {action!r} is not valid."
        )
    conversion_code_id = None
    if action == Settlement.CONVERT:
        locked = lock_date()
        # A conversion posts on the run date: a closed period takes no postings.
        if locked is not None and run_date <= locked:
            result.closed_through = locked
            result.left_open = due
            return result
        conversion_code_id = control_codes().dispute_conversion_id
    system = Actor.for_system()
    for hold_id in due:
        try:
            hold = _settle(
                dispute_hold_id=hold_id,
                action=action,
                actor=system,
                comments=f"Dispute hold expired on {run_date}.",
                reason_code=ReasonCode.SYSTEM_CONVERSION,
                # Expiry posts to DISPUTE_CONVERSION_CODE (SPEC, Part 1 rules amended).
                accounting_code_id=conversion_code_id,
                source=Source.SYSTEM,
                on_date=run_date,
            )
        except BillingError as error:
            # Settled by a person between the listing and the lock: nothing to do.
            if error.code != INVALID_STATE:
                raise
            continue
        if hold.conversion_pending:
            result.conversion_pending.append(hold_id)
        else:
            result.settled.append(hold_id)
    return result


def resolve_expire_hold_days(raw: object) -> int:
    """The days a new hold lasts: the deployment default, or an override within range."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return settings.DISPUTE_HOLD_EXPIRATION_DAYS
    days = _as_int(raw)
    maximum = settings.DISPUTE_HOLD_OVERRIDE_MAX_DAYS
    if days is None or not EXPIRE_HOLD_DAYS_MIN <= days <= maximum:
        raise BillingError(
            INVALID_EXPIRE_HOLD_DAYS,
            f"The value of Dispute hold override (Expire_Hold_Days) is invalid: enter a whole "
            f"number of days from {EXPIRE_HOLD_DAYS_MIN} to {maximum}.",
            field="expire_hold_days",
        )
    return days


# --- corrections ---------------------------------------------------------------
#
# An administrator may correct free text and posting codes, never an amount, a date,
# an invoice or a status. A correction checks the rules the entry was held to, under
# the invoice lock, and history records it with the actor. Each ``*_correction_plan``
# checks without writing (the admin form shows its refusal next to the field); the
# matching ``*_correct`` plans again on the row re-read under the lock and saves.


def writeoff_correction_plan(
    *,
    writeoff: WriteOff,
    actor: Actor,
    comments: str | None = None,
    accounting_code_id: object = None,
) -> dict[str, object]:
    """The fields correcting ``writeoff`` changes, checked; ``None`` keeps a field.

    A revenue-impacting write-off posts to its invoice's revenue code, so its code is
    never corrected on its own: correcting the invoice's revenue code moves it
    (``invoice_revenue_code_correct``).
    """
    require_perm(actor, "writeoffs.change_writeoff")
    changes: dict[str, object] = {}
    if comments is not None:
        text = clean_comments(comments)
        if text != writeoff.comments:
            changes["comments"] = text
    moved = _as_int(accounting_code_id) != writeoff.accounting_code_id
    if accounting_code_id is not None and moved:
        if writeoff.revenue_impacting:
            raise BillingError(
                INVALID_ACCOUNTING_CODE,
                "A revenue-impacting write-off posts to its invoice's revenue code; "
                "correct the invoice's revenue code instead.",
                field="accounting_code",
            )
        changes["accounting_code"] = _expense_code(accounting_code_id)
    return changes


def writeoff_correct(
    *,
    writeoff_id: int,
    actor: Actor,
    reason: str | None,
    comments: str | None = None,
    accounting_code_id: object = None,
) -> WriteOff:
    """Correct a write-off's comments or (when not revenue-impacting) its expense code;
    history records ``reason``."""
    require_perm(actor, "writeoffs.change_writeoff")

    def plan(writeoff: WriteOff) -> dict[str, object]:
        changes = writeoff_correction_plan(
            writeoff=writeoff,
            actor=actor,
            comments=comments,
            accounting_code_id=accounting_code_id,
        )
        if "accounting_code" in changes:
            new_code = cast("AccountingCode | None", changes["accounting_code"])  # from the plan
            _reclassify(writeoff, new_code, actor=actor)
        return changes

    return correct_entry(WriteOff, writeoff_id, actor, plan, reason=reason)


def dispute_hold_correction_plan(
    *, hold: DisputeHold, actor: Actor, comments: str | None = None
) -> dict[str, object]:
    """The fields correcting ``hold`` changes, checked; ``None`` keeps a field."""
    require_perm(actor, "writeoffs.change_disputehold")
    if comments is None:
        return {}
    text = clean_comments(comments)
    return {"comments": text} if text != hold.comments else {}


def dispute_hold_correct(
    *, dispute_hold_id: int, actor: Actor, reason: str | None, comments: str | None = None
) -> DisputeHold:
    """Correct a dispute hold's comments; history records ``reason``."""
    require_perm(actor, "writeoffs.change_disputehold")
    return correct_entry(
        DisputeHold,
        dispute_hold_id,
        actor,
        lambda hold: dispute_hold_correction_plan(hold=hold, actor=actor, comments=comments),
        reason=reason,
        not_found_code=DISPUTE_NOT_FOUND,
    )


def invoice_revenue_code_correction_plan(
    *, invoice: Invoice, actor: Actor, revenue_code_id: object
) -> AccountingCode | None:
    """The active revenue code ``invoice`` moves to, or ``None`` when it already posts there."""
    require_perm(actor, "billing.change_invoice")
    code = _active_code(
        AccountingCode.Kind.REVENUE,
        revenue_code_id,
        field="revenue_code",
        refusal="Choose an active revenue accounting code for the invoice.",
    )
    return None if code.pk == invoice.revenue_code_id else code


def invoice_revenue_code_correct(
    *, invoice_id: int, revenue_code_id: object, actor: Actor, reason: str | None
) -> Invoice:
    """Correct the revenue code an invoice posts to; its revenue-impacting write-offs
    (active or reversed) move with it, in the same transaction.

    It lives here rather than in billing.services because it moves write-offs, and
    billing's core never imports writeoffs. ``reason`` goes into each history row.
    """
    require_perm(actor, "billing.change_invoice")
    with transaction.atomic(), acting_as(actor):
        invoice = lock_invoice(invoice_id)
        code = invoice_revenue_code_correction_plan(
            invoice=invoice, actor=actor, revenue_code_id=revenue_code_id
        )
        if code is None:
            return invoice
        reason = clean_correction_reason(reason)
        old_code_id = invoice.revenue_code_id
        invoice.revenue_code = code
        invoice._change_reason = reason  # type: ignore[attr-defined]  # simple_history
        invoice.save(update_fields=["revenue_code"])
        if old_code_id is not None:
            post_reclassification(
                invoice,
                invoice=invoice,
                old_code_id=old_code_id,
                new_code_id=code.pk,
                actor=actor,
                memo=reason,
            )
        followers = WriteOff.objects.select_for_update().filter(
            invoice=invoice, revenue_impacting=True
        )
        for writeoff in followers.order_by("pk"):
            _reclassify(writeoff, code, actor=actor, invoice=invoice, memo=reason)
            writeoff._change_reason = reason  # type: ignore[attr-defined]  # simple_history
            writeoff.save(update_fields=["accounting_code"])
    return invoice


def _reclassify(
    writeoff: WriteOff,
    code: AccountingCode | None,
    *,
    actor: Actor,
    invoice: Invoice | None = None,
    memo: str = "",
) -> None:
    """Point a written write-off at another posting code; the caller saves it.

    The one place a write-off's code changes after it was written, always inside
    the caller's transaction under the invoice lock. It posts the journal's
    reclassification entry: what the write-off has posted on the old code (nothing
    for a reversed one) moves to the new code, dated today.
    """
    old_code_id = writeoff.accounting_code_id
    writeoff.accounting_code = code
    if old_code_id is not None and code is not None:
        post_reclassification(
            writeoff,
            invoice=invoice or writeoff.invoice,
            old_code_id=old_code_id,
            new_code_id=code.pk,
            actor=actor,
            memo=memo,
        )


# --- internals -------------------------------------------------------------


def _settle(
    *,
    dispute_hold_id: int,
    action: str,
    actor: Actor,
    comments: str,
    reason_code: object,
    accounting_code_id: int | None,
    source: str,
    on_date: datetime.date,
) -> DisputeHold:
    if action not in Settlement.values:
        raise BillingError(
            INVALID_SETTLEMENT_ACTION,
            "Choose convert, release, or release and re-age.",
            field="action",
        )
    # Optional here, but held to the same limit and code as every other comment.
    text = clean_optional_text(
        comments, field="comments", max_length=COMMENTS_MAX_LENGTH, code=INVALID_COMMENTS
    )
    code = _writeoff_reason(reason_code, actor) if action == Settlement.CONVERT else None
    invoice_id = invoice_id_of(DisputeHold, dispute_hold_id, not_found_code=DISPUTE_NOT_FOUND)
    with transaction.atomic(), acting_as(actor):
        invoice = lock_invoice(invoice_id)
        hold = DisputeHold.objects.select_for_update().get(pk=dispute_hold_id)
        if not hold.is_open:
            raise BillingError(
                INVALID_STATE,
                f"Dispute hold {hold.pk} is already settled ({hold.get_status_display().lower()}).",
            )
        if hold.conversion_pending:
            raise BillingError(
                INVALID_STATE,
                f"Dispute hold {hold.pk} has a conversion pending approval; it can be settled "
                "once that is rejected, withdrawn or lapsed.",
            )
        changed = []
        if action == Settlement.CONVERT:
            # Expiry converts on behalf of whoever created the hold, against their limit.
            requester = hold_requester(hold) if actor.system else actor
            approval = _limit_check(invoice, requester, hold.amount_minor)
            writeoff = _insert_writeoff(
                invoice,
                actor,
                requester=requester,
                approval=approval,
                amount_minor=hold.amount_minor,
                reason_code=code,
                comments=text or f"Converted from dispute hold {hold.pk}.",
                writeoff_date=max(on_date, invoice.bill_date),
                revenue_impacting=accounting_code_id is None,
                accounting_code=_posting_code(
                    invoice, accounting_code_id is None, accounting_code_id
                ),
                source=source,
                origin_dispute=hold,
            )
            if not approval.within:
                # The amount stays in held (it is already out of available): the hold
                # stays open until the conversion is approved, rejected or lapses.
                hold.conversion_pending = True
                hold.save(update_fields=["conversion_pending"])
                return hold
            invoice.held_minor -= hold.amount_minor
            _writeoff_becomes_active(
                invoice,
                writeoff,
                actor=actor,
                entry_date=writeoff.writeoff_date,
                also_save=["held_minor"],
            )
            hold.status = DisputeHold.Status.WRITTEN_OFF
        else:
            invoice.held_minor -= hold.amount_minor
            changed.append("held_minor")
            if action == Settlement.RELEASE:
                hold.status = DisputeHold.Status.RELEASED
            else:
                hold.status = DisputeHold.Status.RELEASED_REAGED
                invoice.aging_date = on_date
                changed.append("aging_date")
            invoice.save(update_fields=changed)
        _mark_settled(hold, actor, text, on_date=on_date)
    return hold


def _mark_settled(
    hold: DisputeHold, actor: Actor, comments: str, *, on_date: datetime.date
) -> None:
    """``on_date`` is the business date of the settlement (the run date for expiry):
    the aging report re-ages from it."""
    hold.conversion_pending = False
    hold.settled_by = actor.user
    hold.settled_by_label = actor.label
    hold.settled_at = timezone.now()
    hold.settled_on = on_date
    hold.settlement_comments = comments
    hold.save(
        update_fields=[
            "status",
            "conversion_pending",
            "settled_by",
            "settled_by_label",
            "settled_at",
            "settled_on",
            "settlement_comments",
        ]
    )


@dataclass(frozen=True)
class LimitCheck:
    """A write-off's amount against its requester's limit."""

    limit_minor: int | None
    checked_minor: int

    @property
    def within(self) -> bool:
        return within_limit(self.limit_minor, self.checked_minor)


def _limit_check(invoice: Invoice, requester: Actor, amount_minor: int) -> LimitCheck:
    """Check ``amount_minor`` plus the requester's active and pending write-offs on this
    invoice in the window against their limit, so splitting does not get under it.

    Runs under the invoice lock, so two requests by one requester cannot both miss
    each other.
    """
    limit = approval_limit_minor(requester, invoice.currency)
    if limit is None:
        return LimitCheck(limit_minor=None, checked_minor=amount_minor)
    if requester.api_key is not None:
        by_requester: dict[str, object] = {"requested_by_api_key": requester.api_key}
    elif requester.user is not None:
        by_requester = {"requested_by": requester.user, "requested_by_api_key__isnull": True}
    else:
        return LimitCheck(limit_minor=limit, checked_minor=amount_minor)
    since = timezone.now() - datetime.timedelta(days=settings.WRITEOFF_APPROVAL_WINDOW_DAYS)
    # One filter() call: each call copies the query, and every create runs this.
    recent = WriteOff.objects.filter(
        invoice=invoice,
        status__in=[WriteOff.Status.PENDING, WriteOff.Status.ACTIVE],
        created_at__gte=since,
        **by_requester,
    )
    earlier = sum(recent.order_by().values_list("amount_minor", flat=True))
    return LimitCheck(limit_minor=limit, checked_minor=amount_minor + earlier)


def _writeoff_becomes_active(
    invoice: Invoice,
    writeoff: WriteOff,
    *,
    actor: Actor,
    entry_date: datetime.date,
    also_save: tuple[str, ...] | list[str] = (),
) -> None:
    """The one step by which a write-off takes its amount off the balance due.

    Both a create within the limit and an approval come through here, with the
    write-off already saved as active. ``entry_date`` is the date its journal
    entry posts on: the write-off date, or for a late approval the approval date.
    """
    invoice.written_off_minor += writeoff.amount_minor
    invoice.save(update_fields=["written_off_minor", *also_save])
    post_writeoff(
        writeoff,
        entry_date=entry_date,
        actor=actor,
        invoice=invoice,
        approved_by_label=writeoff.approved_by_label,
    )


def _insert_writeoff(
    invoice: Invoice, actor: Actor, *, requester: Actor, approval: LimitCheck, **fields
) -> WriteOff:
    key = fields.pop("idempotency_key", None)
    return WriteOff.objects.create(
        account_id=invoice.account_id,
        invoice=invoice,
        created_by=actor.user,
        api_key=actor.api_key,
        created_by_label=actor.label,
        requested_by=requester.user,
        requested_by_api_key=requester.api_key,
        requested_by_label=requester.label,
        limit_applied_minor=approval.limit_minor,
        checked_minor=approval.checked_minor,
        status=WriteOff.Status.ACTIVE if approval.within else WriteOff.Status.PENDING,
        idempotency_scope=actor.idempotency_scope,
        idempotency_key=key or None,
        **fields,
    )


def _require_running_bulk_run(bulk_run_id: int, actor: Actor) -> None:
    """A bulk run's approval covers only its creator's writes, and only while it runs."""
    if not BulkRun.objects.filter(
        pk=bulk_run_id, status=BulkRun.Status.RUNNING, created_by_id=getattr(actor.user, "pk", None)
    ).exists():
        raise BillingError(
            BULK_RUN_INVALID_STATE, f"Bulk run {bulk_run_id} is not running for {actor.label}."
        )


def _as_int(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    # ASCII digits only: str.isdigit() also admits "²" and the like, which int() refuses.
    if isinstance(raw, str) and re.fullmatch(r"-?[0-9]{1,9}", raw.strip()):
        return int(raw.strip())
    return None


def _writeoff_reason(raw: object, actor: Actor) -> int:
    code = _as_int(raw)
    allowed = STORED_WRITEOFF_REASON_CODES if actor.system else WRITEOFF_REASON_CODES
    if code is None or code not in allowed:
        raise BillingError(
            INVALID_REASON_CODE,
            "Invalid reason code: choose Bad Debt, Good Will, Billing Error, Sales Return, "
            "Promotional Discount or Other.",
            field="reason_code",
        )
    return code


def _writeoff_date(invoice: Invoice, date: datetime.date | None) -> datetime.date:
    date = date or today()
    if date > today():
        raise BillingError(
            INVALID_WRITEOFF_DATE,
            "The write-off date cannot be in the future.",
            field="writeoff_date",
        )
    if date < invoice.bill_date:
        raise BillingError(
            INVALID_WRITEOFF_DATE,
            "The write-off date must be on or after the invoice's bill date, "
            f"{date_format(invoice.bill_date)}.",
            field="writeoff_date",
        )
    require_open(date, field="writeoff_date", what="write-off date")
    return date


def _posting_code(
    invoice: Invoice, revenue_impacting: bool, accounting_code_id: int | None
) -> AccountingCode | None:
    """Revenue-impacting write-offs post to the invoice's revenue code; any other
    write-off posts to the active expense code the user picked."""
    if revenue_impacting:
        return invoice.revenue_code
    return _expense_code(accounting_code_id)


def _expense_code(accounting_code_id: object) -> AccountingCode:
    return _active_code(
        AccountingCode.Kind.EXPENSE,
        accounting_code_id,
        field="accounting_code",
        refusal="Choose an active expense accounting code for a write-off that is not "
        "revenue-impacting.",
    )


def _active_code(kind: str, raw: object, *, field: str, refusal: str) -> AccountingCode:
    code = None
    pk = _as_int(raw)
    if pk is not None:
        code = AccountingCode.objects.filter(pk=pk, kind=kind, active=True).first()
    if code is None:
        raise BillingError(INVALID_ACCOUNTING_CODE, refusal, field=field)
    return code
