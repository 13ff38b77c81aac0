"""Bad-debt relief coming due: the daily run's step that moves a bad debt's tax from
"tax relief pending" to its rate's tax payable code on the day its relief is due.

Each write-off moves in its own transaction, under its invoice's row lock: its own
pending tax (source: the write-off) and the part of each of its active recoveries
that repaid pending tax (source: the recovery's payment), so every row's postings
stay on the codes its state names and a later reversal or payment void undoes them
exactly. The moves are dated today, as every reclassification is: never inside a
closed period. Idempotent: a moved write-off is no longer pending.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import transaction

from billing.actors import Actor
from billing.history import acting_as
from billing.ledger.codes import control_codes
from billing.ledger.posting import SourceRef, post_reclassification, writeoff_split
from billing.money import minor_money_text
from billing.rules import lock_invoice
from writeoffs.lifecycle.rules import run_date_or_today
from writeoffs.models import WriteOff, WriteOffRecovery

MEMO = "Bad-debt relief due: write-off {pk}'s tax moved to tax payable"


@dataclass
class ReliefResult:
    run_date: datetime.date
    moved: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.moved:
            return f"No bad-debt tax relief due on or before {self.run_date}: nothing to move."
        return f"{len(self.moved)} write-off(s)' tax relief moved to tax payable."


def tax_relief_due(
    *, run_date: datetime.date | None = None, actor: Actor | None = None
) -> ReliefResult:
    """Move the pending tax of every active write-off whose relief is due on or before
    ``run_date`` (today by default; never a future day)."""
    day = run_date_or_today(run_date)
    actor = actor or Actor.for_system()
    result = ReliefResult(day)
    due = (
        WriteOff.objects.filter(
            status=WriteOff.Status.ACTIVE,
            tax_relief_pending=True,
            tax_relief_due_on__lte=day,
        )
        .order_by("tax_relief_due_on", "id")
        .values_list("id", "invoice_id")
    )
    for writeoff_id, invoice_id in list(due):
        line = _move(writeoff_id, invoice_id, day, actor)
        if line:
            result.moved.append(line)
    return result


def _move(writeoff_id: int, invoice_id: int, day: datetime.date, actor: Actor) -> str | None:
    with transaction.atomic(), acting_as(actor):
        invoice = lock_invoice(invoice_id)
        writeoff = WriteOff.objects.select_for_update().get(pk=writeoff_id)
        # Re-read under the lock: a reversal a moment ago took the tax back already.
        if (
            writeoff.status != WriteOff.Status.ACTIVE
            or not writeoff.tax_relief_pending
            or writeoff.tax_relief_due_on is None
            or writeoff.tax_relief_due_on > day
        ):
            return None
        pending = control_codes().tax_relief_pending_id
        memo = MEMO.format(pk=writeoff.pk)
        # No longer pending: its split now names each rate's payable code, where the
        # tax moves to.
        writeoff.tax_relief_pending = False
        for tax in writeoff_split(writeoff, writeoff.amount_minor, invoice=invoice).tax:
            post_reclassification(
                SourceRef(writeoff._meta.label_lower, writeoff.pk),
                invoice=invoice,
                old_code_id=pending,
                new_code_id=tax.accounting_code_id,
                actor=actor,
                memo=memo,
                amount_minor=tax.amount_minor,
            )
        recoveries = WriteOffRecovery.objects.filter(
            writeoff=writeoff, status=WriteOffRecovery.Status.ACTIVE
        ).select_related("payment")
        for recovery in recoveries:
            for tax in writeoff_split(writeoff, recovery.amount_minor, invoice=invoice).tax:
                # The recovery credited the pending code: its credit moves too.
                post_reclassification(
                    recovery.payment,
                    invoice=invoice,
                    old_code_id=pending,
                    new_code_id=tax.accounting_code_id,
                    actor=actor,
                    memo=memo,
                    amount_minor=-tax.amount_minor,
                )
        writeoff.save(update_fields=["tax_relief_pending"])
        moved = writeoff_split(writeoff, writeoff.amount_minor, invoice=invoice).tax_minor
    return (
        f"Write-off {writeoff_id} on invoice {invoice.invoice_no}: "
        f"{minor_money_text(moved, invoice.currency)} tax relief due on "
        f"{writeoff.tax_relief_due_on}, moved to tax payable."
    )
