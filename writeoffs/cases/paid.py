"""Auto-resolve on payment (SPEC Part 3): when a payment brings an invoice's balance
due down to its held amount, nothing undisputed is left to collect, so its holds are
released, each case they belong to notes "paid", and a case with nothing left open
is resolved with root cause "paid" (once the payment commits).

Registered with billing's ``payment_recorded`` hook (billing never imports this
app), so it runs inside ``payment_record``'s transaction, under its invoice lock,
after the payment's own posting and event.
"""

from __future__ import annotations

from billing.actors import Actor
from billing.models import Invoice, Payment
from billing.money import money_text
from writeoffs.cases.notes import system_note
from writeoffs.cases.resolution import close_when_settled, settling
from writeoffs.lifecycle.holds import dispute_hold_settle
from writeoffs.models import OPEN_CASE_STATUSES, Case, DisputeHold, RootCause, Settlement, Source


def release_paid_holds(payment: Payment, invoice: Invoice, actor: Actor) -> None:
    if invoice.held_minor <= 0 or invoice.balance_due_minor > invoice.held_minor:
        return
    # A conversion pending approval is someone's decision in progress: it stays.
    holds = list(
        DisputeHold.objects.filter(
            invoice=invoice, status=DisputeHold.Status.OPEN, conversion_pending=False
        ).order_by("pk")
    )
    if not holds:
        return
    system = Actor.for_system()
    case_ids = sorted({hold.case_id for hold in holds if hold.case_id is not None})
    reason = (
        f"Payment {payment.pk} of {money_text(payment.amount, invoice.currency)} brought "
        f"invoice {invoice.invoice_no}'s balance due down to its held amount."
    )
    with settling(*case_ids):
        for hold in holds:
            dispute_hold_settle(
                dispute_hold_id=hold.pk,
                action=Settlement.RELEASE,
                actor=system,
                comments=f"Released: {reason}",
                source=Source.SYSTEM,
            )
    # The notes only take a share lock on their case; closing the case waits for the
    # commit (resolution.close_when_settled says why).
    for case in Case.objects.filter(pk__in=case_ids, status__in=OPEN_CASE_STATUSES):
        system_note(case, f"Paid. {reason} Its holds on that invoice were released.", system)
        close_when_settled(case.pk, system, root_cause_code=RootCause.PAID, force_root_cause=True)
