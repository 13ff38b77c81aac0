"""Moving the lock date (closing the books), with a reason and a close snapshot."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils.formats import date_format

from billing.actors import Actor
from billing.errors import (
    INVALID_INPUT,
    INVALID_STATE,
    PERMISSION_DENIED,
    BillingError,
)
from billing.ledger.aggregates import write_closed_months
from billing.ledger.periods import hold_period_lock
from billing.models import AccountingPeriodLock
from billing.rules import (
    clean_comments,
    require_perm,
    today,
)


def lock_date_move_check(
    *, locked_through: datetime.date | None, reason: str, actor: Actor
) -> None:
    """Every rule ``lock_date_move`` checks, against the lock date as it is now; write
    nothing. The lock-date screen asks this before its confirm step, so a refusal
    shows next to the date at once; the move checks the same again under the lock."""
    _check_input(locked_through, reason, actor)
    assert locked_through is not None
    current = AccountingPeriodLock.objects.order_by("-id").first()
    _check_against_current(locked_through, current.locked_through if current else None, actor)


def lock_date_move(
    *, locked_through: datetime.date | None, reason: str, actor: Actor
) -> AccountingPeriodLock:
    """Close the books through ``locked_through`` (always before today), with a reason,
    recording the close snapshot. Moving it back needs a superuser. It cannot move
    past a pending write-off (``billing.ledger.snapshot.close_blockers``)."""
    from billing.ledger.snapshot import close_snapshot

    reason = _check_input(locked_through, reason, actor)
    assert locked_through is not None
    with transaction.atomic():
        # Waits for every posting in flight (PostgreSQL); see billing.ledger.periods.
        hold_period_lock(exclusive=True)
        current = AccountingPeriodLock.objects.select_for_update().order_by("-id").first()
        previous = current.locked_through if current else None
        _check_against_current(locked_through, previous, actor)
        moved = AccountingPeriodLock.objects.create(
            locked_through=locked_through,
            previous=previous,
            reason=reason,
            moved_by=actor.user,
            moved_by_label=actor.label,
            snapshot=close_snapshot(locked_through),
        )
        # The months this move closes (or reopens): their stored balances, while the
        # exclusive period lock keeps every posting out. After the snapshot, which
        # reads the books as they stood (the months stored with the old lock date).
        moved.balances_before = write_closed_months(
            current.balances_before if current else None, locked_through
        )
        moved.save(update_fields=["balances_before"])
        return moved


def _check_input(locked_through: datetime.date | None, reason: str, actor: Actor) -> str:
    """The rules that need no lock: the permission, a date before today, a reason."""
    require_perm(actor, "billing.move_lock_date")
    if locked_through is None:
        raise BillingError(
            INVALID_INPUT, "Enter the date to close the books through.", field="locked_through"
        )
    if locked_through >= today():
        raise BillingError(
            INVALID_INPUT,
            f"The lock date must be before today ({date_format(today())}).",
            field="locked_through",
        )
    return clean_comments(reason, field="reason", label="A reason")


def _check_against_current(
    locked_through: datetime.date, previous: datetime.date | None, actor: Actor
) -> None:
    """The rules against the current lock date and what is open: not the same date,
    back only for a superuser, and nothing in the way (``close_blockers``)."""
    from billing.ledger.snapshot import close_blockers

    if previous is not None and locked_through == previous:
        raise BillingError(
            INVALID_INPUT,
            f"The books are already closed through {previous}.",
            field="locked_through",
        )
    superuser = actor.user is not None and actor.user.is_superuser
    if previous is not None and locked_through < previous and not superuser:
        raise BillingError(
            PERMISSION_DENIED,
            f"Only a superuser may move the lock date back from {previous}.",
            field="locked_through",
        )
    blockers = close_blockers(locked_through)
    if blockers:
        raise BillingError(
            INVALID_STATE,
            f"The books cannot close through {date_format(locked_through)}: " + " ".join(blockers),
            field="locked_through",
        )
