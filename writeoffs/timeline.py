"""The invoice's timeline with its write-offs, approvals, recoveries and dispute holds,
each event in words ("Write-off 123 approved by supervisor", "Recovery of 40.00 USD on
payment 77", "Accounting code changed from 6100 to 6200 (reason: …)"), beside billing's
own (``billing.receivables.timeline``)."""

from __future__ import annotations

from collections.abc import Callable

from billing.models import Invoice
from billing.money import minor_money_text
from billing.receivables.timeline import (
    CodeNames,
    PostingKey,
    TimelineEntry,
    became,
    changed_fields,
    history_with_previous,
    invoice_and_payment_timeline,
    sentences,
    shown_date,
    with_postings,
)
from writeoffs.models import SETTLEMENT_FOR_STATUS, DisputeHold, WriteOff, WriteOffRecovery

# What a person may change of a write-off (a correction, or a revenue code that moved
# with its invoice's) and of a hold; the rest changes only with its own event below.
_WRITEOFF_FIELDS = ("accounting_code_id", "comments")
_HOLD_FIELDS = ("expires_on", "comments")


def _writeoff_event(row, before, money: Callable[[int], str], code_name: CodeNames) -> str:
    """What one change to a write-off did, in words ("" for a change the timeline
    shows elsewhere: what a recovery reinstated is the recovery's own entry)."""
    number = f"Write-off {row.id}"
    if row.history_type == "+":
        origin = f" from dispute hold {row.origin_dispute_id}" if row.origin_dispute_id else ""
        what = (
            f"of {money(row.amount_minor)}{origin} ({row.get_reason_code_display()}), "
            f"dated {shown_date(row.writeoff_date)}"
        )
        if row.status == WriteOff.Status.PENDING:
            requester = row.requested_by_label or row.history_actor
            return (
                f"{number} {what} requested by {requester}: over their limit, it waits "
                "for approval."
            )
        return f"Wrote off {what}."
    if became(row, before, WriteOff.Status.ACTIVE):
        return f"{number} approved by {row.approved_by_label} ({money(row.amount_minor)})."
    if became(row, before, WriteOff.Status.REJECTED):
        if row.withdrawn:
            why = f": {row.rejection_reason}" if row.rejection_reason else "."
            return f"{number} withdrawn by {row.rejected_by_label}, who requested it{why}"
        return f"{number} rejected by {row.rejected_by_label}: {row.rejection_reason}"
    if became(row, before, WriteOff.Status.LAPSED):
        return f"{number} lapsed: no one approved it in time, and nothing was written off."
    if became(row, before, WriteOff.Status.REVERSED):
        return f"Write-off of {money(row.amount_minor)} reversed: {row.reversal_reason}"
    changes = changed_fields(
        WriteOff, before, row, _WRITEOFF_FIELDS, money=money, code_name=code_name
    )
    return sentences(changes, row) if changes else ""


def _hold_event(row, before, money: Callable[[int], str], code_name: CodeNames) -> str:
    settlement = SETTLEMENT_FOR_STATUS.get(row.status)
    if row.history_type == "+":
        return (
            f"Put {money(row.amount_minor)} on dispute hold, expiring {shown_date(row.expires_on)}."
        )
    if settlement is not None and became(row, before, row.status):
        description = f"Dispute hold of {money(row.amount_minor)} {settlement.outcome}."
        if row.settlement_comments:
            # Expiry says here why it released without re-aging, say.
            description = description[:-1] + f": {row.settlement_comments}"
        return description
    if row.conversion_pending and not before.conversion_pending:
        return "Conversion to a write-off requested: it waits for approval."
    if row.conversion_refused and not before.conversion_refused:
        return (
            "Conversion to a write-off refused (rejected, withdrawn or lapsed): the hold "
            "stays open."
        )
    changes = changed_fields(
        DisputeHold, before, row, _HOLD_FIELDS, money=money, code_name=code_name
    )
    return sentences(changes, row) if changes else ""


def _recovery_event(row, before, money: Callable[[int], str]) -> str:
    what = f"Recovery of {money(row.amount_minor)} on payment {row.payment_id}"
    if row.history_type == "+":
        return f"{what}: written-off money of write-off {row.writeoff_id} paid after all."
    if became(row, before, WriteOffRecovery.Status.VOIDED):
        return f"{what} voided: the payment was removed, so it is written off again."
    return ""


def invoice_timeline(invoice: Invoice) -> list[TimelineEntry]:
    """Every recorded change to the invoice and its payments, write-offs, recoveries
    and holds, newest first, with who made it and the journal entry each event posted.
    Seven queries, however long the history (eight when a change names a code)."""
    currency = invoice.currency
    code_name = CodeNames()
    entries = invoice_and_payment_timeline(invoice, code_name)

    def money(minor: int) -> str:
        return minor_money_text(minor, currency)

    for row, before in history_with_previous(WriteOff, invoice_id=invoice.pk):
        description = _writeoff_event(row, before, money, code_name)
        if not description:
            continue
        posted: PostingKey | None = None
        written = row.history_type == "+" and row.status == WriteOff.Status.ACTIVE
        if written or became(row, before, WriteOff.Status.ACTIVE):
            event = "dispute_conversion" if row.origin_dispute_id else "writeoff"
            posted = ("writeoffs.writeoff", row.id, event)
        elif became(row, before, WriteOff.Status.REVERSED):
            posted = ("writeoffs.writeoff", row.id, "writeoff_reversal")
        entries.append(TimelineEntry.of(row, f"Write-off {row.id}", description, posted))

    for row, before in history_with_previous(WriteOffRecovery, writeoff__invoice_id=invoice.pk):
        description = _recovery_event(row, before, money)
        if description:
            # The recovery payment's one entry (several write-offs' parts) shows once.
            posted = ("billing.payment", row.payment_id, "recovery")
            if row.history_type != "+":
                posted = None
            entries.append(TimelineEntry.of(row, f"Recovery {row.id}", description, posted))

    for row, before in history_with_previous(DisputeHold, invoice_id=invoice.pk):
        description = _hold_event(row, before, money, code_name)
        if description:
            entries.append(TimelineEntry.of(row, f"Dispute hold {row.id}", description))

    return with_postings(invoice, entries)
