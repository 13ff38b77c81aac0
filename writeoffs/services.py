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
from django.db import transaction
from django.utils import timezone

from billing.actors import Actor
from billing.checks import EXPIRATION_LEAVE_OPEN, dispute_settings_problems
from billing.errors import (
    DISPUTE_NOT_FOUND,
    INVALID_ACCOUNTING_CODE,
    INVALID_COMMENTS,
    INVALID_DISPUTE_SETTINGS,
    INVALID_EXPIRE_HOLD_DAYS,
    INVALID_REASON_CODE,
    INVALID_SETTLEMENT_ACTION,
    INVALID_STATE,
    INVALID_WRITEOFF_DATE,
    BillingError,
)
from billing.history import acting_as
from billing.idempotency import create_once, find_replay, fingerprint
from billing.journal import (
    control_codes,
    lock_date,
    post_reclassification,
    post_reversal,
    post_writeoff,
    require_open,
)
from billing.models import AccountingCode, Invoice, JournalEvent
from billing.money import from_minor
from billing.rules import (
    COMMENTS_MAX_LENGTH,
    clean_comments,
    clean_optional_text,
    correct_entry,
    invoice_id_of,
    lock_invoice,
    require_perm,
    require_sent,
    resolve_amount,
    today,
)
from writeoffs.models import (
    STORED_WRITEOFF_REASON_CODES,
    WRITEOFF_REASON_CODES,
    DisputeHold,
    ReasonCode,
    Settlement,
    Source,
    WriteOff,
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
    return WriteOffPlan(
        invoice=invoice,
        reason_code=_writeoff_reason(reason_code, actor),
        comments=clean_comments(comments),
        amount_minor=resolve_amount(invoice, amount, kind="Write-off"),
        writeoff_date=_writeoff_date(invoice, writeoff_date),
        revenue_impacting=revenue_impacting,
        accounting_code=_posting_code(invoice, revenue_impacting, accounting_code_id),
    )


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
    """Write off all (``amount`` empty) or part of an invoice's available balance."""
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
        with acting_as(actor):
            writeoff = _insert_writeoff(
                invoice,
                actor,
                amount_minor=plan.amount_minor,
                reason_code=plan.reason_code,
                comments=plan.comments,
                writeoff_date=plan.writeoff_date,
                revenue_impacting=plan.revenue_impacting,
                accounting_code=plan.accounting_code,
                source=source,
                idempotency_key=idempotency_key,
                idempotency_fingerprint=content,
            )
            invoice.written_off_minor += plan.amount_minor
            invoice.save(update_fields=["written_off_minor"])
            post_writeoff(writeoff, entry_date=plan.writeoff_date, actor=actor, invoice=invoice)
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
        if writeoff.status != WriteOff.Status.ACTIVE:
            raise BillingError(INVALID_STATE, f"Write-off {writeoff.pk} was already reversed.")
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
    text = clean_comments(comments)
    days = resolve_expire_hold_days(expire_hold_days)
    return DisputeHoldPlan(
        invoice=invoice,
        comments=text,
        expire_hold_days=days,
        expires_on=today() + datetime.timedelta(days=days),
        amount_minor=resolve_amount(invoice, amount, kind="Dispute"),
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
        return f"{len(self.settled)} dispute hold(s) expired on {self.run_date}: {self.action}."


def dispute_holds_expire(*, run_date: datetime.date | None = None) -> ExpiryResult:
    """Apply DISPUTE_HOLD_EXPIRATION_ACTION to every open hold past its expiry date.

    Each hold is settled in its own transaction, as the system. Running it again
    changes nothing: settled holds are no longer open.
    """
    run_date = run_date or today()
    action = settings.DISPUTE_HOLD_EXPIRATION_ACTION
    result = ExpiryResult(run_date=run_date, action=action)
    due = list(
        DisputeHold.objects.filter(status=DisputeHold.Status.OPEN, expires_on__lt=run_date)
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
            _settle(
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
    comments: str | None = None,
    accounting_code_id: object = None,
) -> WriteOff:
    """Correct a write-off's comments or (when not revenue-impacting) its expense code."""
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

    return correct_entry(WriteOff, writeoff_id, actor, plan)


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
    *, dispute_hold_id: int, actor: Actor, comments: str | None = None
) -> DisputeHold:
    """Correct a dispute hold's comments."""
    require_perm(actor, "writeoffs.change_disputehold")
    return correct_entry(
        DisputeHold,
        dispute_hold_id,
        actor,
        lambda hold: dispute_hold_correction_plan(hold=hold, actor=actor, comments=comments),
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
    *, invoice_id: int, revenue_code_id: object, actor: Actor, reason: str = ""
) -> Invoice:
    """Correct the revenue code an invoice posts to; its revenue-impacting write-offs
    (active or reversed) move with it, in the same transaction.

    It lives here rather than in billing.services because it moves write-offs, and
    billing's core never imports writeoffs. ``reason`` goes into each history row.
    """
    require_perm(actor, "billing.change_invoice")
    reason = clean_optional_text(
        reason, field="reason", max_length=COMMENTS_MAX_LENGTH, code=INVALID_COMMENTS
    )
    with transaction.atomic(), acting_as(actor):
        invoice = lock_invoice(invoice_id)
        code = invoice_revenue_code_correction_plan(
            invoice=invoice, actor=actor, revenue_code_id=revenue_code_id
        )
        if code is None:
            return invoice
        old_code_id = invoice.revenue_code_id
        invoice.revenue_code = code
        invoice._change_reason = reason or None  # type: ignore[attr-defined]  # simple_history
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
            writeoff._change_reason = reason or None  # type: ignore[attr-defined]  # simple_history
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
        invoice.held_minor -= hold.amount_minor
        changed = ["held_minor"]
        if action == Settlement.CONVERT:
            writeoff_date = max(on_date, invoice.bill_date)
            writeoff = _insert_writeoff(
                invoice,
                actor,
                amount_minor=hold.amount_minor,
                reason_code=code,
                comments=text or f"Converted from dispute hold {hold.pk}.",
                writeoff_date=writeoff_date,
                revenue_impacting=accounting_code_id is None,
                accounting_code=_posting_code(
                    invoice, accounting_code_id is None, accounting_code_id
                ),
                source=source,
                origin_dispute=hold,
            )
            post_writeoff(writeoff, entry_date=writeoff_date, actor=actor, invoice=invoice)
            invoice.written_off_minor += hold.amount_minor
            changed.append("written_off_minor")
            hold.status = DisputeHold.Status.WRITTEN_OFF
        elif action == Settlement.RELEASE:
            hold.status = DisputeHold.Status.RELEASED
        else:
            hold.status = DisputeHold.Status.RELEASED_REAGED
            invoice.aging_date = on_date
            changed.append("aging_date")
        invoice.save(update_fields=changed)
        hold.settled_by = actor.user
        hold.settled_by_label = actor.label
        hold.settled_at = timezone.now()
        hold.settlement_comments = text
        hold.save(
            update_fields=[
                "status",
                "settled_by",
                "settled_by_label",
                "settled_at",
                "settlement_comments",
            ]
        )
    return hold


def _insert_writeoff(invoice: Invoice, actor: Actor, **fields) -> WriteOff:
    key = fields.pop("idempotency_key", None)
    return WriteOff.objects.create(
        account_id=invoice.account_id,
        invoice=invoice,
        created_by=actor.user,
        api_key=actor.api_key,
        created_by_label=actor.label,
        idempotency_scope=actor.idempotency_scope,
        idempotency_key=key or None,
        **fields,
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
            f"The write-off date must be on or after the invoice's bill date, {invoice.bill_date}.",
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
