"""Admin's corrections of posted rows: comments and accounting codes, each a
reclassification in the journal, never an edit of an amount.
"""

from __future__ import annotations

from typing import cast

from billing.actors import Actor
from billing.errors import (
    DISPUTE_NOT_FOUND,
    INVALID_ACCOUNTING_CODE,
    BillingError,
)
from billing.ledger.posting import post_reclassification, writeoff_split
from billing.models import AccountingCode, Invoice
from billing.parsing import whole_number
from billing.rules import (
    clean_comments,
    correct_entry,
    require_perm,
)
from writeoffs.lifecycle.rules import _expense_code
from writeoffs.models import (
    DisputeHold,
    WriteOff,
    WriteOffRecovery,
)


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
    (``billing.receivables.invoices.invoice_revenue_code_correct``, which calls
    ``move_revenue_impacting_writeoffs``).
    """
    require_perm(actor, "writeoffs.change_writeoff")
    changes: dict[str, object] = {}
    if comments is not None:
        text = clean_comments(comments)
        if text != writeoff.comments:
            changes["comments"] = text
    moved = whole_number(accounting_code_id) != writeoff.accounting_code_id
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


def move_revenue_impacting_writeoffs(
    invoice: Invoice, code: AccountingCode, actor: Actor, reason: str
) -> None:
    """An invoice's revenue code was corrected to ``code``: its revenue-impacting
    write-offs (active or reversed) move with it, each reclassified in the journal.

    Registered with billing (``billing.extensions.register_revenue_code_moved``), which
    calls it from ``invoice_revenue_code_correct``: in that transaction, under the
    invoice lock, after the invoice and its own posting moved. ``reason`` goes into
    each write-off's history row.
    """
    followers = WriteOff.objects.select_for_update().filter(invoice=invoice, revenue_impacting=True)
    for writeoff in followers.order_by("pk"):
        _reclassify(writeoff, code, actor=actor, invoice=invoice, memo=reason)
        writeoff._change_reason = reason  # type: ignore[attr-defined]  # simple_history
        writeoff.save(update_fields=["accounting_code"])


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
    for a reversed one) moves to the new code, dated today. So does what each of its
    active recoveries credited back to the old code: that is in the recovery
    payment's entry, so it moves as the payment's (a voided payment's entry is
    undone whole, recovery included, and has nothing left to move).
    """
    old_code_id = writeoff.accounting_code_id
    writeoff.accounting_code = code
    if old_code_id is None or code is None:
        return
    invoice = invoice or writeoff.invoice
    post_reclassification(
        writeoff,
        invoice=invoice,
        old_code_id=old_code_id,
        new_code_id=code.pk,
        actor=actor,
        memo=memo,
    )
    recoveries = WriteOffRecovery.objects.filter(
        writeoff=writeoff, status=WriteOffRecovery.Status.ACTIVE
    ).select_related("payment")
    for recovery in recoveries.order_by("pk"):
        post_reclassification(
            recovery.payment,
            invoice=invoice,
            old_code_id=old_code_id,
            new_code_id=code.pk,
            actor=actor,
            memo=memo,
            # The payment's entry credited the write-off's code with this part's net
            # (its tax went to a tax code, which no code correction moves).
            amount_minor=-writeoff_split(
                writeoff, recovery.amount_minor, invoice=invoice
            ).net_minor,
        )
