"""Approving, rejecting, withdrawing and lapsing pending write-offs (four eyes)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.actors import Actor
from billing.errors import (
    APPROVER_IS_REQUESTER,
    APPROVER_LACKS_PERMISSION,
    APPROVER_LIMIT_TOO_LOW,
    APPROVER_NOT_A_PERSON,
    INVALID_COMMENTS,
    NOT_THE_REQUESTER,
    WRITEOFF_NOT_PENDING,
    BillingError,
)
from billing.history import acting_as
from billing.ledger.availability import require_available_since
from billing.ledger.periods import lock_date, lock_date_read_once
from billing.models import EventType, Invoice
from billing.money import minor_money_text, money_text
from billing.rules import (
    COMMENTS_MAX_LENGTH,
    clean_comments,
    clean_optional_text,
    invoice_id_of,
    lock_invoice,
    today,
)
from writeoffs.approvals.limits import approval_limit_minor, within_limit
from writeoffs.lifecycle import listeners
from writeoffs.lifecycle.events import dispute_event, writeoff_event
from writeoffs.lifecycle.holds import _mark_settled
from writeoffs.lifecycle.rules import _writeoff_becomes_active, run_date_or_today
from writeoffs.models import (
    DisputeHold,
    WriteOff,
)


def writeoff_approve(*, writeoff_id: int, actor: Actor) -> WriteOff:
    """A second person approves a pending write-off: it becomes active and posts.

    The approver must be a signed-in person with the approve permission and a
    limit that covers the amount, and never the requester (four eyes). A pending
    conversion settles its dispute hold here, on the date its write-off posts. The
    entry posts on the write-off date if that period is still open, otherwise on the
    approval date (the write-off date moves to it, and history keeps the original).
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
        if writeoff.origin_dispute_id is None:
            # A request dated before the day it was made reserved its amount only from
            # that day; approved, it posts on its date, so the days between must still
            # have room for it. (A conversion's amount was held all along.)
            require_available_since(
                invoice,
                amount_minor=writeoff.amount_minor,
                since=writeoff.writeoff_date,
                through=timezone.localdate(writeoff.created_at) - datetime.timedelta(days=1),
                field=None,
                what="write-off",
            )
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
            # One date for both: the hold stops being held the day its write-off posts,
            # or aging as of a day between the two would count the amount twice (held,
            # and out of the balance), and its bucket would go negative.
            _mark_settled(hold, actor, writeoff.comments, on_date=writeoff.writeoff_date)
            settled: DisputeHold | None = hold
        else:
            invoice.pending_minor -= writeoff.amount_minor
            released = "pending_minor"
            settled = None
        _writeoff_becomes_active(
            invoice,
            writeoff,
            actor=actor,
            entry_date=writeoff.writeoff_date,
            also_save=[released],
        )
        writeoff_event(EventType.WRITEOFF_APPROVED, writeoff, invoice=invoice, actor=actor)
        if settled is not None:
            dispute_event(
                EventType.DISPUTE_SETTLED,
                settled,
                invoice=invoice,
                actor=actor,
                action="convert",
                writeoff_id=writeoff.pk,
                reaged=False,
                aging_date=invoice.aging_date.isoformat(),
            )
            listeners.announce(listeners.hold_settled, settled, actor)
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
            f"({money_text(w.amount, w.invoice.currency)}, requested by "
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
    changes nothing. ``run_date`` may be past (a catch-up run), never in the future.
    """
    run_date = run_date_or_today(run_date)
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
            f"Your approval limit ({minor_money_text(limit, currency)}) "
            f"does not cover write-off {writeoff.pk} of "
            f"{money_text(writeoff.amount, currency)}; ask someone with a "
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
        # The hold stays open, and its conversion was asked for once: expiry does not
        # ask again; a person settles it (or converts it again) from here.
        hold = DisputeHold.objects.select_for_update().get(pk=writeoff.origin_dispute_id)
        hold.conversion_pending = False
        hold.conversion_refused = True
        hold.save(update_fields=["conversion_pending", "conversion_refused"])
    else:
        invoice.pending_minor -= writeoff.amount_minor
        invoice.save(update_fields=["pending_minor"])
    # Withdrawn and lapsed too: the billing system heard of the pending write-off
    # (writeoff.created) and must hear that it will not happen.
    writeoff_event(
        EventType.WRITEOFF_REJECTED,
        writeoff,
        invoice=invoice,
        actor=actor,
        reason=reason,
        withdrawn=withdrawn,
    )
