"""Dispute holds: the plan, the create and the settlement (convert, release, release
and re-age).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from billing.actors import Actor
from billing.errors import (
    DISPUTE_NOT_FOUND,
    INVALID_COMMENTS,
    INVALID_DISPUTE_SETTINGS,
    INVALID_EXPIRE_HOLD_DAYS,
    INVALID_REASON_CODE,
    INVALID_SETTLEMENT_ACTION,
    INVALID_STATE,
    PERIOD_CLOSED,
    BillingError,
    ErrorCollector,
)
from billing.history import acting_as
from billing.idempotency import create_once, find_replay, fingerprint, idempotency_fields
from billing.ledger.periods import lock_date
from billing.models import EventType, Invoice
from billing.money import from_minor, money_text
from billing.parsing import whole_number
from billing.rules import (
    COMMENTS_MAX_LENGTH,
    clean_comments,
    clean_optional_text,
    invoice_id_of,
    lock_invoice,
    require_perm,
    require_sent,
    resolve_amount,
    today,
)
from writeoffs.approvals.limits import hold_requester
from writeoffs.checks import dispute_settings_problems
from writeoffs.lifecycle import listeners
from writeoffs.lifecycle.events import dispute_event, writeoff_event
from writeoffs.lifecycle.rules import (
    LimitCheck,
    _insert_writeoff,
    _limit_check,
    _posting_code,
    _writeoff_becomes_active,
    _writeoff_reason,
)
from writeoffs.models import (
    Case,
    DisputeHold,
    ReasonCode,
    Settlement,
    Source,
    WriteOff,
)

EXPIRE_HOLD_DAYS_MIN = 2


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


@dataclass(frozen=True)
class Reage:
    """What releasing a hold and re-aging its invoice moves: the invoice's one aging
    date, for all of its balance due (SPEC Part 3, "Re-aging"). ``refusal`` says why
    the aging date may not move (then nothing moves); empty when it may."""

    invoice: Invoice
    from_date: datetime.date
    to_date: datetime.date
    refusal: str = ""
    # PERIOD_CLOSED when the refusal is the lock date, INVALID_STATE otherwise.
    refusal_code: int = INVALID_STATE

    @property
    def moves(self) -> bool:
        return not self.refusal


def conversion_limit_check(hold: DisputeHold, actor: Actor) -> LimitCheck:
    """A person's conversion of ``hold`` against their limit, as ``dispute_hold_settle``
    checks it (with their other write-offs on the invoice in the window), so the
    confirm pop-out can say the conversion will wait for approval. Reads only."""
    return _limit_check(hold.invoice, actor, hold.amount_minor)


def reage_plan(
    invoice: Invoice, on_date: datetime.date, *, hold: DisputeHold | None = None
) -> Reage:
    """Whether releasing a hold on ``on_date`` may re-age ``invoice`` to that date.

    An aging date never moves into the future, never backwards, and never inside a
    closed period (on or before the lock date). With ``hold`` (expiry, which no
    person confirms) it also moves only when the hold covered the invoice's whole
    balance due: a hold of part of the balance must not re-age all of it.
    """
    locked = lock_date()
    refusal, code = "", INVALID_STATE
    if on_date > today():
        refusal = (
            f"{date_format(on_date)} is in the future, and an aging date never moves into "
            "the future"
        )
    elif locked is not None and on_date <= locked:
        refusal = (
            f"the books are closed through {date_format(locked)}, and an aging date never "
            "moves inside a closed period"
        )
        code = PERIOD_CLOSED
    elif on_date < invoice.aging_date:
        refusal = (
            f"the invoice's aging date, {date_format(invoice.aging_date)}, is after "
            f"{date_format(on_date)}, and an aging date never moves backwards"
        )
    elif hold is not None and hold.amount_minor < invoice.balance_due_minor:
        currency = invoice.currency
        refusal = (
            f"the hold of {money_text(hold.amount, currency)} covered only "
            f"part of the invoice's balance due of "
            f"{money_text(invoice.balance_due, currency)}"
        )
    return Reage(invoice, invoice.aging_date, on_date, refusal=refusal, refusal_code=code)


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
    if whole_number(reason_code) != ReasonCode.CHARGE_DISPUTE_HOLD:
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
    case: Case | None = None,
) -> DisputeHold:
    """Put all (``amount`` empty) or part of an invoice's available balance on hold.

    ``case`` is the dispute case opening it; a hold opened without one (the Part 1
    hold form and API) gets a case of its own from the ``hold_opened`` listeners.
    """
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
                case=case,
                **idempotency_fields(actor, idempotency_key, content),
            )
            invoice.held_minor += plan.amount_minor
            invoice.save(update_fields=["held_minor"])
            dispute_event(
                EventType.DISPUTE_OPENED,
                hold,
                invoice=invoice,
                actor=actor,
                expires_on=hold.expires_on.isoformat() if hold.expires_on else None,
            )
            if case is None:
                listeners.announce(listeners.hold_opened, hold, actor)
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
    - ``release_reage``: also moves the invoice's aging date to today, for all of its
      balance due, however much the hold was. Refused (nothing changes) when the aging
      date may not move (``reage_plan``): release the hold instead.
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
    ).hold


def resolve_expire_hold_days(raw: object) -> int:
    """The days a new hold lasts: the deployment default, or an override within range."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return settings.DISPUTE_HOLD_EXPIRATION_DAYS
    days = whole_number(raw)
    maximum = settings.DISPUTE_HOLD_OVERRIDE_MAX_DAYS
    if days is None or not EXPIRE_HOLD_DAYS_MIN <= days <= maximum:
        raise BillingError(
            INVALID_EXPIRE_HOLD_DAYS,
            f"The value of Dispute hold override (Expire_Hold_Days) is invalid: enter a whole "
            f"number of days from {EXPIRE_HOLD_DAYS_MIN} to {maximum}.",
            field="expire_hold_days",
        )
    return days


@dataclass(frozen=True)
class Settled:
    hold: DisputeHold
    # A release_reage's re-age: moved, or (by expiry only) refused with its reason and
    # the hold released without re-aging.
    reage: Reage | None = None


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
    by_expiry: bool = False,
) -> Settled:
    """Settle one hold on ``on_date``. A person's re-age that may not move the aging
    date is refused; expiry's (``by_expiry``) releases without re-aging instead, and
    re-ages only a hold that covered the invoice's whole balance due."""
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
        if actor.system and action == Settlement.CONVERT and hold.conversion_refused:
            # Checked under the lock too: refused between expiry's listing and here.
            raise BillingError(
                INVALID_STATE,
                f"Dispute hold {hold.pk}'s conversion was refused; a person settles it.",
            )
        changed = []
        reage = None
        converted_to: WriteOff | None = None
        if action == Settlement.RELEASE_REAGE:
            reage = reage_plan(invoice, on_date, hold=hold if by_expiry else None)
            if not reage.moves and not by_expiry:
                raise BillingError(
                    reage.refusal_code,
                    f"Release and re-age is not possible: {reage.refusal}. Release the hold "
                    "instead.",
                )
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
                hold.conversion_refused = False
                hold.save(update_fields=["conversion_pending", "conversion_refused"])
                writeoff_event(EventType.WRITEOFF_CREATED, writeoff, invoice=invoice, actor=actor)
                return Settled(hold)
            invoice.held_minor -= hold.amount_minor
            _writeoff_becomes_active(
                invoice,
                writeoff,
                actor=actor,
                entry_date=writeoff.writeoff_date,
                also_save=["held_minor"],
            )
            hold.status = DisputeHold.Status.WRITTEN_OFF
            converted_to = writeoff
        else:
            invoice.held_minor -= hold.amount_minor
            changed.append("held_minor")
            hold.status = DisputeHold.Status.RELEASED
            if reage is not None and reage.moves:
                hold.status = DisputeHold.Status.RELEASED_REAGED
                if invoice.aging_date != on_date:
                    invoice.aging_date = on_date
                    changed.append("aging_date")
            elif reage is not None:
                text = f"{text} Released without re-aging: {reage.refusal}.".strip()
            invoice.save(update_fields=changed)
        _mark_settled(hold, actor, text, on_date=on_date)
        if converted_to is not None:
            writeoff_event(EventType.WRITEOFF_CREATED, converted_to, invoice=invoice, actor=actor)
        dispute_event(
            EventType.DISPUTE_EXPIRED if by_expiry else EventType.DISPUTE_SETTLED,
            hold,
            invoice=invoice,
            actor=actor,
            action=action,
            writeoff_id=converted_to.pk if converted_to is not None else None,
            reaged=reage is not None and reage.moves,
            aging_date=invoice.aging_date.isoformat(),
        )
        listeners.announce(listeners.hold_settled, hold, actor)
    return Settled(hold, reage)


def _mark_settled(
    hold: DisputeHold, actor: Actor, comments: str, *, on_date: datetime.date
) -> None:
    """``on_date`` is the business date of the settlement (the run date for expiry):
    the aging report re-ages from it."""
    hold.conversion_pending = False
    hold.conversion_refused = False
    hold.settled_by = actor.user
    hold.settled_by_label = actor.label
    hold.settled_at = timezone.now()
    hold.settled_on = on_date
    hold.settlement_comments = comments
    hold.save(
        update_fields=[
            "status",
            "conversion_pending",
            "conversion_refused",
            "settled_by",
            "settled_by_label",
            "settled_at",
            "settled_on",
            "settlement_comments",
        ]
    )
