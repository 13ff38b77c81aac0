"""Resolving a case: each of its holds settled through the Part 1 settle service
(convert all or part to a write-off, release, release and re-age), with its limits,
lock date and approvals. The case is resolved when its last hold is settled, with a
root cause; rejecting a case releases all of its holds.

A conversion over its requester's limit waits for approval, and its hold stays open:
the case stays open with it, keeping the root cause it was given, and is resolved
when the approval settles that hold (the ``hold_settled`` listener below). Expiry
and the Disputes tab settle a case's holds too; the listener resolves the case when
they settle its last one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from billing.actors import Actor
from billing.errors import (
    HOLD_NOT_IN_CASE,
    INVALID_AMOUNT,
    INVALID_INPUT,
    INVALID_ROOT_CAUSE,
    BillingError,
)
from billing.history import acting_as
from billing.models import Invoice
from billing.money import format_money, from_minor, parse_amount, to_minor
from billing.parsing import whole_number
from billing.rules import COMMENTS_MAX_LENGTH, clean_comments, require_perm
from writeoffs.cases.notes import system_note
from writeoffs.cases.pause import collections_resumed
from writeoffs.cases.rules import lock_case_and_invoices, log_status, require_open
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.models import (
    OPEN_CASE_STATUSES,
    Case,
    CaseStatus,
    DisputeHold,
    ReasonCode,
    RootCause,
    Settlement,
    Source,
)

# Root causes a case gets when nobody gave one: its last hold expired, or was settled
# outside the case (the Disputes tab, an approval of a conversion asked for there).
EXPIRED_ROOT_CAUSE = "expired"
FALLBACK_ROOT_CAUSE = "other"

# The cases whose holds a case service is settling now: the listener leaves them to
# that service, which closes the case itself once every hold is done.
_settling: ContextVar[frozenset[int]] = ContextVar("cases_settling", default=frozenset())


@contextmanager
def settling(*case_ids: int) -> Iterator[None]:
    token = _settling.set(_settling.get() | set(case_ids))
    try:
        yield
    finally:
        _settling.reset(token)


@dataclass(frozen=True)
class HoldSettlement:
    """How to settle one hold of a case. ``amount`` (convert only) writes off that part
    and releases the rest; ``reason_code`` or ``accounting_code_id`` as for a write-off."""

    dispute_no: object
    action: str
    amount: object = None
    reason_code: object = ReasonCode.BAD_DEBT
    accounting_code_id: int | None = None
    comments: str = ""


def root_cause(code: object) -> RootCause:
    found = (
        RootCause.objects.filter(code=code, active=True).first() if isinstance(code, str) else None
    )
    if found is None:
        codes = ", ".join(RootCause.objects.filter(active=True).values_list("code", flat=True))
        message = (
            "A root cause is required to resolve the case" if not code else "Unknown root cause"
        )
        raise BillingError(INVALID_ROOT_CAUSE, f"{message}: choose {codes}.", field="root_cause")
    return found


def _holds_of(case: Case, settlements: Sequence[HoldSettlement]) -> list[DisputeHold]:
    if not settlements:
        raise BillingError(INVALID_INPUT, "Settle at least one hold.", field="holds")
    holds = {hold.pk: hold for hold in DisputeHold.objects.filter(case=case)}
    chosen = []
    for index, settlement in enumerate(settlements):
        number = whole_number(settlement.dispute_no)
        hold = holds.get(number) if number is not None else None
        if hold is None:
            raise BillingError(
                HOLD_NOT_IN_CASE,
                f"Dispute hold {settlement.dispute_no} is not part of {case}.",
                field=f"holds.{index}.dispute_no",
            )
        if hold in chosen:
            raise BillingError(
                INVALID_INPUT,
                f"Dispute hold {number} is named twice.",
                field=f"holds.{index}.dispute_no",
            )
        chosen.append(hold)
    return chosen


def case_settle(
    *,
    case_id: int,
    settlements: Sequence[HoldSettlement],
    actor: Actor,
    root_cause_code: object = None,
    source: str = Source.UI,
) -> Case:
    """Settle holds of a case, all or nothing. When nothing would be left for a person
    to settle (every other hold settled, or its conversion pending approval), a root
    cause is required; the case is resolved once no hold is open."""
    require_perm(actor, "writeoffs.settle_disputehold")
    with transaction.atomic(), acting_as(actor):
        case, invoices = lock_case_and_invoices(case_id)
        require_open(case)
        holds = _holds_of(case, settlements)
        settled_now = {hold.pk for hold in holds}
        left = DisputeHold.objects.filter(
            case=case, status=DisputeHold.Status.OPEN, conversion_pending=False
        ).exclude(pk__in=settled_now)
        if root_cause_code not in (None, "") or not left.exists():
            case.root_cause = root_cause(root_cause_code)
            case.save(update_fields=["root_cause"])
        with settling(case.pk):
            for index, (hold, settlement) in enumerate(zip(holds, settlements, strict=True)):
                try:
                    _settle_one(case, hold, settlement, invoices[hold.invoice_id], actor, source)
                except BillingError as error:
                    field = f"holds.{index}.{error.field}" if error.field else f"holds.{index}"
                    raise BillingError(error.code, error.message, field=field) from None
            close_if_settled(case, actor)
    return case


def _settle_one(
    case: Case,
    hold: DisputeHold,
    settlement: HoldSettlement,
    invoice: Invoice,
    actor: Actor,
    source: str,
) -> None:
    comments = settlement.comments
    part_minor = None
    if settlement.amount not in (None, ""):
        if settlement.action != Settlement.CONVERT:
            raise BillingError(
                INVALID_INPUT,
                "Only a conversion takes an amount; a release releases the whole hold.",
                field="amount",
            )
        amount = parse_amount(settlement.amount, invoice.currency)
        part_minor = to_minor(amount, invoice.currency)
        if part_minor > hold.amount_minor:
            raise BillingError(
                INVALID_AMOUNT,
                f"{format_money(amount, invoice.currency)} is more than dispute hold "
                f"{hold.pk}'s {format_money(hold.amount, invoice.currency)}.",
                field="amount",
            )
        if part_minor == hold.amount_minor:
            part_minor = None
    if part_minor is None:
        dispute_hold_settle(
            dispute_hold_id=hold.pk,
            action=settlement.action,
            actor=actor,
            comments=comments,
            reason_code=settlement.reason_code,
            accounting_code_id=settlement.accounting_code_id,
            source=source,
        )
        return
    # A part: release the whole hold and hold the part again at once, then convert
    # that. Each row keeps the amount it always had (the history of what was held,
    # day by day, stays true), and the conversion goes through the same rules, limits
    # and approvals as any other.
    part = format_money_plain(part_minor, invoice)
    dispute_hold_settle(
        dispute_hold_id=hold.pk,
        action=Settlement.RELEASE,
        actor=actor,
        comments=(
            f"{comments} Partly converted: {part} written off (dispute hold made for it "
            f"in {case}), the rest released."
        ).strip()[:COMMENTS_MAX_LENGTH],
        source=source,
    )
    converted = dispute_hold_create(
        invoice_id=invoice.pk,
        amount=part,
        comments=clean_comments(
            f"Part of dispute hold {hold.pk} ({case}), to be written off.", field="comments"
        ),
        actor=actor,
        source=source,
        case=case,
    )
    dispute_hold_settle(
        dispute_hold_id=converted.pk,
        action=Settlement.CONVERT,
        actor=actor,
        comments=comments,
        reason_code=settlement.reason_code,
        accounting_code_id=settlement.accounting_code_id,
        source=source,
    )


def format_money_plain(minor: int, invoice: Invoice) -> str:
    """The plain ``1234.56`` the hold service reads back exactly."""
    return format(from_minor(minor, invoice.currency), "f")


def close_if_settled(case: Case, actor: Actor, *, status: str = CaseStatus.RESOLVED) -> bool:
    """Resolve (or reject) ``case`` if none of its holds is open; say whether it closed.
    The caller holds the case's lock and those of the invoices it settled."""
    if not case.is_open:
        return False
    if DisputeHold.objects.filter(case=case, status=DisputeHold.Status.OPEN).exists():
        return False
    before = case.status
    case.status = status
    case.resolved_at = timezone.now()
    case.save(update_fields=["status", "resolved_at", "root_cause"])
    log_status(case, before, actor)
    invoices = Invoice.objects.filter(
        pk__in=DisputeHold.objects.filter(case=case).values("invoice_id")
    ).select_related("account")
    collections_resumed(case, invoices, actor)
    return True


def case_reject(*, case_id: int, reason: str, actor: Actor, source: str = Source.UI) -> Case:
    """The dispute is refused: every open hold is released (the balance stays due),
    the reason is the case's note, and the case is rejected."""
    require_perm(actor, "writeoffs.settle_disputehold")
    text = clean_comments(reason, field="reason", label="A reason")
    with transaction.atomic(), acting_as(actor):
        case, _ = lock_case_and_invoices(case_id)
        require_open(case)
        system_note(case, f"Rejected: {text}", actor)
        with settling(case.pk):
            for hold in DisputeHold.objects.filter(case=case, status=DisputeHold.Status.OPEN):
                dispute_hold_settle(
                    dispute_hold_id=hold.pk,
                    action=Settlement.RELEASE,
                    actor=actor,
                    comments=f"{case} rejected.",
                    source=source,
                )
            close_if_settled(case, actor, status=CaseStatus.REJECTED)
    return case


def case_after_hold_settled(hold: DisputeHold, actor: Actor) -> None:
    """The ``hold_settled`` listener: a hold of a case was settled outside a case
    service (expiry, an approval, the Disputes tab, a payment). The case is resolved
    if that was its last open hold, once this transaction commits (see
    ``close_when_settled``), with the root cause it was given, or one that says what
    happened: ``expired`` when the system settled it, ``other`` otherwise."""
    if hold.case_id is None or hold.case_id in _settling.get():
        return
    fallback = EXPIRED_ROOT_CAUSE if actor.system else FALLBACK_ROOT_CAUSE
    close_when_settled(hold.case_id, actor, root_cause_code=fallback)


def close_when_settled(
    case_id: int, actor: Actor, *, root_cause_code: str, force_root_cause: bool = False
) -> None:
    """After commit, resolve the case if none of its holds is open.

    Why not in the settling transaction: that one came to the case through one
    invoice, which it holds locked. Resolving writes the collections.resumed event of
    each of the case's invoices, which must wait for any of them another transaction
    holds; and that one, a case service, holds its invoices in id order and then
    waits for this case: a deadlock (tests/writeoffs/cases/test_concurrency.py found
    it). So the case is closed in a transaction of its own that locks the invoices
    in order, then the case. Were the process to stop in between, the case would stay
    open with nothing open; the next settlement or ``close_settled_cases`` closes it.
    """
    transaction.on_commit(
        lambda: close_settled_case(
            case_id, actor, root_cause_code=root_cause_code, force_root_cause=force_root_cause
        )
    )


def close_settled_case(
    case_id: int, actor: Actor, *, root_cause_code: str, force_root_cause: bool = False
) -> bool:
    """Resolve the case if it is open and none of its holds is; say whether it closed.
    ``force_root_cause`` replaces a root cause given earlier (the auto-resolve's "paid")."""
    with transaction.atomic(), acting_as(actor):
        case, _ = lock_case_and_invoices(case_id)
        if not case.is_open:
            return False
        if case.root_cause_id is None or force_root_cause:
            found = RootCause.objects.filter(code=root_cause_code).first()
            case.root_cause = found or RootCause.objects.filter(code=FALLBACK_ROOT_CAUSE).first()
            if case.root_cause is None:
                return False
        return close_if_settled(case, actor)


def close_settled_cases(actor: Actor) -> int:
    """Resolve every open case with no open hold left (a closing interrupted after its
    settlement committed); return how many."""
    lone = Case.objects.filter(status__in=OPEN_CASE_STATUSES).exclude(
        holds__status=DisputeHold.Status.OPEN
    )
    return sum(
        close_settled_case(case_id, actor, root_cause_code=FALLBACK_ROOT_CAUSE)
        for case_id in lone.values_list("pk", flat=True)
    )
