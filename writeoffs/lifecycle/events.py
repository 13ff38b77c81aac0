"""The events this app writes to billing's feed (SPEC Part 3), one helper per kind
of object, so each service names only what happened.

Each call comes last in its service's transaction: the feed's counter lock is then
held only for the commit (billing.events explains why it is held at all).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from billing.actors import Actor
from billing.events import record_event
from billing.models import EventType, Invoice, Payment
from billing.money import from_minor
from writeoffs.models import DisputeHold, WriteOff


def writeoff_event(
    type: EventType, writeoff: WriteOff, *, invoice: Invoice, actor: Actor, **details: Any
) -> None:
    """A write-off was created, approved, rejected or reversed."""
    record_event(
        type,
        actor=actor,
        obj_kind="writeoff",
        obj_number=writeoff.pk,
        invoice=invoice,
        amounts={"amount": from_minor(writeoff.amount_minor, invoice.currency)},
        details={
            "status": writeoff.status,
            "reason_code": writeoff.reason_code,
            "revenue_impacting": writeoff.revenue_impacting,
            "writeoff_date": writeoff.writeoff_date.isoformat(),
            "origin_dispute_no": writeoff.origin_dispute_id,
            **details,
        },
    )


def dispute_event(
    type: EventType, hold: DisputeHold, *, invoice: Invoice, actor: Actor, **details: Any
) -> None:
    """A dispute hold was opened, settled or expired."""
    record_event(
        type,
        actor=actor,
        obj_kind="dispute",
        obj_number=hold.pk,
        invoice=invoice,
        amounts={"amount": from_minor(hold.amount_minor, invoice.currency)},
        details={"status": hold.status, **details},
    )


def recovery_event(
    payment: Payment, *, invoice: Invoice, actor: Actor, reinstated: Mapping[int, int]
) -> None:
    """A recovery payment: ``reinstated`` maps each write-off's id to the minor units
    of it that the payment brought back."""
    currency = invoice.currency
    record_event(
        EventType.RECOVERY_RECORDED,
        actor=actor,
        obj_kind="payment",
        obj_number=payment.pk,
        invoice=invoice,
        amounts={
            "amount": from_minor(payment.amount_minor, currency),
            "reinstated": from_minor(sum(reinstated.values()), currency),
        },
        details={
            "paid_on": payment.paid_on.isoformat(),
            "writeoffs": [
                {"writeoff_id": writeoff_id, "amount": _plain(from_minor(part, currency))}
                for writeoff_id, part in reinstated.items()
            ],
        },
    )


def _plain(amount: Decimal) -> str:
    return format(amount, "f")
