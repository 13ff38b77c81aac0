"""Every write to payments: record, remove (void) and correct. Each function is one
transaction under the invoice lock.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from billing import extensions
from billing.actors import Actor
from billing.errors import (
    INVALID_INPUT,
    INVALID_STATE,
    BillingError,
)
from billing.events import record_event
from billing.history import acting_as
from billing.idempotency import create_once, find_replay, fingerprint, idempotency_fields
from billing.ledger.availability import require_available_since
from billing.ledger.periods import require_open
from billing.ledger.posting import post_payment, post_reversal
from billing.models import EventType, Invoice, JournalEvent, Payment
from billing.money import from_minor
from billing.rules import (
    REFERENCE_MAX_LENGTH,
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


@dataclass(frozen=True)
class PaymentPlan:
    """A payment that passed every rule against the invoice as it was read."""

    invoice: Invoice
    amount_minor: int
    paid_on: datetime.date
    method: str
    reference: str

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.invoice.currency)


def payment_plan(
    *,
    invoice: Invoice,
    amount: object,
    actor: Actor,
    paid_on: datetime.date | None = None,
    method: str = Payment.Method.CHECK,
    reference: str = "",
) -> PaymentPlan:
    """Check a payment against ``invoice``; write nothing. It may not exceed the
    available amount: a disputed part must be released first."""
    require_perm(actor, "billing.add_payment")
    require_sent(invoice, "payments recorded")
    date, method, reference = payment_terms(
        invoice, paid_on=paid_on, method=method, reference=reference
    )
    amount_minor = resolve_amount(invoice, amount, kind="Payment")
    require_available_since(
        invoice, amount_minor=amount_minor, since=date, field="paid_on", what="payment"
    )
    return PaymentPlan(
        invoice=invoice,
        amount_minor=amount_minor,
        paid_on=date,
        method=method,
        reference=reference,
    )


def payment_terms(
    invoice: Invoice,
    *,
    paid_on: datetime.date | None,
    method: str,
    reference: str,
    what: str = "payment",
) -> tuple[datetime.date, str, str]:
    """A payment's date (default today), method and reference, checked: on or after
    the bill date, not in the future, after the lock date. A recovery is a payment
    too and is held to the same terms (``what`` names it in the messages)."""
    date = paid_on or today()
    if date > today():
        raise BillingError(
            INVALID_INPUT, f"The {what} date cannot be in the future.", field="paid_on"
        )
    if date < invoice.bill_date:
        raise BillingError(
            INVALID_INPUT,
            f"The {what} date must be on or after the invoice's bill date, "
            f"{date_format(invoice.bill_date)}.",
            field="paid_on",
        )
    require_open(date, field="paid_on", what=f"{what} date")
    if method not in Payment.Method.values:
        raise BillingError(INVALID_INPUT, "Choose a payment method.", field="method")
    text = clean_optional_text(reference, field="reference", max_length=REFERENCE_MAX_LENGTH)
    return date, method, text


def payment_record(
    *,
    invoice_id: int,
    amount: object,
    actor: Actor,
    paid_on: datetime.date | None = None,
    method: str = Payment.Method.CHECK,
    reference: str = "",
    idempotency_key: str | None = None,
) -> Payment:
    """Record a (possibly partial) payment; empty ``amount`` pays the available amount."""
    require_perm(actor, "billing.add_payment")
    content = fingerprint(
        invoice_id=invoice_id, amount=amount, paid_on=paid_on, method=method, reference=reference
    )

    def create() -> Payment:
        invoice = lock_invoice(invoice_id)
        replay = find_replay(Payment, actor, idempotency_key, content)
        if replay is not None:
            return replay
        plan = payment_plan(
            invoice=invoice,
            amount=amount,
            actor=actor,
            paid_on=paid_on,
            method=method,
            reference=reference,
        )
        with acting_as(actor):
            payment = Payment.objects.create(
                invoice=invoice,
                account_id=invoice.account_id,
                amount_minor=plan.amount_minor,
                paid_on=plan.paid_on,
                method=plan.method,
                reference=plan.reference,
                recorded_by=actor.user,
                recorded_by_label=actor.label,
                **idempotency_fields(actor, idempotency_key, content),
            )
            invoice.paid_minor += plan.amount_minor
            invoice.save(update_fields=["paid_minor"])
            post_payment(payment, invoice=invoice, actor=actor)
            _payment_event(EventType.PAYMENT_RECORDED, payment, invoice=invoice, actor=actor)
            for recorded in extensions.hooks.payment_recorded:
                recorded(payment, invoice, actor)
        return payment

    return create_once(Payment, actor, idempotency_key, content, create)


def payment_remove(*, payment_id: int, reason: str, actor: Actor) -> Payment:
    """Void a payment recorded by mistake. The row stays; the balance comes back."""
    require_perm(actor, "billing.remove_payment")
    reason = clean_comments(reason, field="reason", label="A reason")
    invoice_id = invoice_id_of(Payment, payment_id)
    with transaction.atomic(), acting_as(actor):
        invoice = lock_invoice(invoice_id)
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status != Payment.Status.ACTIVE:
            raise BillingError(INVALID_STATE, f"Payment {payment.pk} was already removed.")
        payment.status = Payment.Status.REMOVED
        payment.removed_by = actor.user
        payment.removed_by_label = actor.label
        payment.removed_at = timezone.now()
        payment.removal_reason = reason
        payment.save(
            update_fields=[
                "status",
                "removed_by",
                "removed_by_label",
                "removed_at",
                "removal_reason",
            ]
        )
        invoice.paid_minor -= payment.amount_minor
        # A recovery payment had reinstated written-off money: voiding it writes that
        # off again (the registered payment_voided hooks undo what it reinstated).
        written_off_again = sum(voided(payment) for voided in extensions.hooks.payment_voided)
        invoice.written_off_minor += written_off_again
        invoice.save(update_fields=["paid_minor", "written_off_minor"])
        # The whole entry (recovery lines included), today: never into the period the
        # payment was posted in, which may be closed.
        post_reversal(
            payment,
            event=JournalEvent.PAYMENT_VOID,
            invoice=invoice,
            actor=actor,
        )
        _payment_event(
            EventType.PAYMENT_VOIDED,
            payment,
            invoice=invoice,
            actor=actor,
            written_off_again=from_minor(written_off_again, invoice.currency),
            reason=reason,
        )
    return payment


def _payment_event(
    type: EventType,
    payment: Payment,
    *,
    invoice: Invoice,
    actor: Actor,
    written_off_again: Decimal | None = None,
    reason: str = "",
) -> None:
    amounts = {"amount": from_minor(payment.amount_minor, invoice.currency)}
    details: dict[str, object] = {
        "paid_on": payment.paid_on.isoformat(),
        "method": payment.method,
        "reference": payment.reference,
        "payment_external_id": payment.external_id,
    }
    if written_off_again is not None:
        # A recovery payment's void writes off again what it had reinstated.
        amounts["written_off_again"] = written_off_again
        details["reason"] = reason
    record_event(
        type,
        actor=actor,
        obj_kind="payment",
        obj_number=payment.pk,
        invoice=invoice,
        amounts=amounts,
        details=details,
    )


def payment_correction_plan(
    *, payment: Payment, actor: Actor, reference: str | None = None
) -> dict[str, object]:
    """The fields correcting ``payment`` changes, checked; ``None`` keeps a field.

    Only the reference is ever corrected: amount, date and method are the money.
    """
    require_perm(actor, "billing.change_payment")
    if reference is None:
        return {}
    text = clean_optional_text(reference, field="reference", max_length=REFERENCE_MAX_LENGTH)
    return {"reference": text} if text != payment.reference else {}


def payment_correct(
    *, payment_id: int, actor: Actor, reason: str | None, reference: str | None = None
) -> Payment:
    """Correct a payment's reference, under the invoice lock, recorded in history with
    ``reason``."""
    require_perm(actor, "billing.change_payment")
    return correct_entry(
        Payment,
        payment_id,
        actor,
        lambda payment: payment_correction_plan(payment=payment, actor=actor, reference=reference),
        reason=reason,
    )
