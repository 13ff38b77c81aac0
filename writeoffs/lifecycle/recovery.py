"""Bad-debt recovery: a payment that reinstates written-off money."""

from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone
from django.utils.formats import date_format

from billing.actors import Actor
from billing.errors import (
    INVALID_RECOVERY_CHOICE,
    NOTHING_RECOVERABLE,
    OVER_RECOVERABLE,
    BillingError,
)
from billing.history import acting_as
from billing.idempotency import create_once, find_replay, fingerprint, idempotency_fields
from billing.ledger.availability import require_available_since
from billing.ledger.codes import posting_code
from billing.ledger.posting import post_payment, post_recovery, writeoff_split
from billing.models import Invoice, Payment
from billing.money import minor_money_text, parse_amount, to_minor
from billing.parsing import whole_number
from billing.receivables.payments import payment_terms
from billing.rules import (
    lock_invoice,
    require_perm,
    require_sent,
)
from writeoffs.lifecycle.events import recovery_event
from writeoffs.models import (
    RECOVERABLE_REASON_CODES,
    WriteOff,
    WriteOffRecovery,
)


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
            available = invoice.available_minor
            raise BillingError(
                OVER_RECOVERABLE,
                f"Recovery amount {minor_money_text(amount_minor, currency)} is more than the "
                f"{minor_money_text(maximum, currency)} that can be recovered on invoice "
                f"{invoice.invoice_no} ({minor_money_text(available, currency)} available plus "
                f"{minor_money_text(maximum - available, currency)} written off as "
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
        # What is not reinstated pays the balance, from the recovery's date on.
        require_available_since(
            invoice,
            amount_minor=amount_minor - sum(part for _, part in allocation),
            since=date,
            field="paid_on",
            what="recovery (the part that pays the balance)",
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
                **idempotency_fields(actor, idempotency_key, content),
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
                    reinstated=_reinstated_parts(invoice, allocation),
                    actor=actor,
                )
            else:
                # Nothing reinstated (the payment fits in available): a plain payment.
                post_payment(payment, invoice=invoice, actor=actor)
            recovery_event(
                payment,
                invoice=invoice,
                actor=actor,
                reinstated={w.pk: part for w, part in allocation},
            )
        return payment

    return create_once(Payment, actor, idempotency_key, content, create)


def _reinstated_parts(
    invoice: Invoice, allocation: list[tuple[WriteOff, int]]
) -> list[tuple[int, int]]:
    """What each part reinstates, per code: split like its write-off, the net on the
    write-off's code and the tax on the code its tax sits on (tax payable, repaying
    the relief in proportion, or the pending code while the relief is not yet due)."""
    reinstated: list[tuple[int, int]] = []
    for writeoff, part in allocation:
        split = writeoff_split(writeoff, part, invoice=invoice)
        code = posting_code(writeoff.accounting_code_id, f"Write-off {writeoff.pk}")
        reinstated.append((code, split.net_minor))
        reinstated.extend((tax.accounting_code_id, tax.amount_minor) for tax in split.tax)
    return reinstated


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
        chosen_ids = [whole_number(pk) for pk in writeoff_ids]
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
                f"{date_format(writeoff.writeoff_date)}, which it would reinstate.",
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


def void_recoveries(payment: Payment) -> int:
    """A payment was voided: void its write-off recoveries (a recovery payment's) and
    return the amount that is written off again.

    Registered with billing (``billing.extensions.register_payment_voided``), which
    calls it from ``payment_remove``: in that transaction, under the invoice and
    payment locks.
    """
    restored = 0
    now = timezone.now()
    recoveries = WriteOffRecovery.objects.select_for_update().filter(
        payment=payment, status=WriteOffRecovery.Status.ACTIVE
    )
    for recovery in recoveries.order_by("id"):
        writeoff = WriteOff.objects.select_for_update().get(pk=recovery.writeoff_id)
        writeoff.recovered_minor -= recovery.amount_minor
        writeoff.save(update_fields=["recovered_minor"])
        recovery.status = WriteOffRecovery.Status.VOIDED
        recovery.voided_at = now
        recovery.save(update_fields=["status", "voided_at"])
        restored += recovery.amount_minor
    return restored
