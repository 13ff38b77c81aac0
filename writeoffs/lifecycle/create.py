"""Creating a write-off: the plan the confirm step shows, and the create itself.

Each function re-reads the invoice under its row lock before checking anything,
checks every rule, writes the entry and the invoice's running totals in the same
transaction, and raises ``BillingError`` on any refusal (nothing is written).
Views, admin, the API, bulk runs and management commands all call these.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from billing.actors import Actor
from billing.errors import (
    ErrorCollector,
)
from billing.history import acting_as
from billing.idempotency import create_once, find_replay, fingerprint
from billing.ledger.periods import lock_date_read_once
from billing.models import AccountingCode, Invoice
from billing.money import from_minor
from billing.rules import (
    clean_comments,
    lock_invoice,
    require_perm,
    require_sent,
    resolve_amount,
)
from writeoffs.lifecycle.rules import (
    LimitCheck,
    _insert_writeoff,
    _limit_check,
    _posting_code,
    _require_running_bulk_run,
    _writeoff_becomes_active,
    _writeoff_date,
    _writeoff_reason,
)
from writeoffs.models import (
    ReasonCode,
    Source,
    WriteOff,
)


@dataclass(frozen=True)
class WriteOffPlan:
    """A write-off that passed every rule against the invoice as it was read."""

    invoice: Invoice
    amount_minor: int
    reason_code: int
    comments: str
    writeoff_date: datetime.date
    revenue_impacting: bool
    accounting_code: AccountingCode | None

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.invoice.currency)

    @property
    def reason_label(self) -> str:
        return ReasonCode(self.reason_code).label

    @property
    def balance_due_after(self) -> Decimal:
        return from_minor(self.invoice.balance_due_minor - self.amount_minor, self.invoice.currency)

    @property
    def available_after(self) -> Decimal:
        return from_minor(self.invoice.available_minor - self.amount_minor, self.invoice.currency)


def writeoff_plan(
    *,
    invoice: Invoice,
    amount: object,
    reason_code: object,
    comments: str,
    actor: Actor,
    writeoff_date: datetime.date | None = None,
    revenue_impacting: bool = True,
    accounting_code_id: int | None = None,
) -> WriteOffPlan:
    """Check a write-off against ``invoice`` and resolve its concrete values; write nothing.

    The entry drawer calls this to show errors and to freeze the amount on the
    confirm step; ``writeoff_create`` calls it again on the locked invoice.
    """
    require_perm(actor, "writeoffs.add_writeoff")
    require_sent(invoice, "write-offs")
    # The inputs are independent: check them all, so a form shows every refusal at
    # once. The first refusal (in this order) is what a single-error caller sees.
    rules = ErrorCollector()
    plan = WriteOffPlan(
        invoice=invoice,
        reason_code=rules.check(_writeoff_reason, reason_code, actor),
        comments=rules.check(clean_comments, comments),
        amount_minor=rules.check(resolve_amount, invoice, amount, kind="Write-off"),
        writeoff_date=rules.check(_writeoff_date, invoice, writeoff_date),
        revenue_impacting=revenue_impacting,
        accounting_code=rules.check(_posting_code, invoice, revenue_impacting, accounting_code_id),
    )
    rules.raise_any()
    return plan


def writeoff_create(
    *,
    invoice_id: int,
    amount: object,
    reason_code: object,
    comments: str,
    actor: Actor,
    writeoff_date: datetime.date | None = None,
    revenue_impacting: bool = True,
    accounting_code_id: int | None = None,
    source: str = Source.UI,
    idempotency_key: str | None = None,
    bulk_run_id: int | None = None,
) -> WriteOff:
    """Write off all (``amount`` empty) or part of an invoice's available balance.

    ``bulk_run_id``: the write-off belongs to that running bulk run, whose approval
    as a whole stands in for the per-write-off approval limit; it never goes pending.
    """
    require_perm(actor, "writeoffs.add_writeoff")
    content = fingerprint(
        invoice_id=invoice_id,
        amount=amount,
        reason_code=reason_code,
        comments=comments,
        writeoff_date=writeoff_date,
        revenue_impacting=revenue_impacting,
        accounting_code_id=accounting_code_id,
    )

    def create() -> WriteOff:
        invoice = lock_invoice(invoice_id)
        replay = find_replay(WriteOff, actor, idempotency_key, content)
        if replay is not None:
            return replay
        with lock_date_read_once():
            return create_new(invoice)

    def create_new(invoice: Invoice) -> WriteOff:
        if bulk_run_id is not None:
            _require_running_bulk_run(bulk_run_id, actor)
        plan = writeoff_plan(
            invoice=invoice,
            amount=amount,
            reason_code=reason_code,
            comments=comments,
            actor=actor,
            writeoff_date=writeoff_date,
            revenue_impacting=revenue_impacting,
            accounting_code_id=accounting_code_id,
        )
        if bulk_run_id is None:
            approval = _limit_check(invoice, actor, plan.amount_minor)
        else:
            # A bulk run's total was approved once, as a whole: its writes never pend.
            approval = LimitCheck(limit_minor=None, checked_minor=plan.amount_minor)
        with acting_as(actor):
            writeoff = _insert_writeoff(
                invoice,
                actor,
                requester=actor,
                approval=approval,
                amount_minor=plan.amount_minor,
                reason_code=plan.reason_code,
                comments=plan.comments,
                writeoff_date=plan.writeoff_date,
                revenue_impacting=plan.revenue_impacting,
                accounting_code=plan.accounting_code,
                source=source,
                idempotency_key=idempotency_key,
                idempotency_fingerprint=content,
                bulk_run_id=bulk_run_id,
            )
            if approval.within:
                _writeoff_becomes_active(
                    invoice, writeoff, actor=actor, entry_date=writeoff.writeoff_date
                )
            else:
                # Over the limit: the amount is reserved (no longer available) but still
                # due, and nothing posts until a second person approves.
                invoice.pending_minor += plan.amount_minor
                invoice.save(update_fields=["pending_minor"])
        return writeoff

    return create_once(WriteOff, actor, idempotency_key, content, create)
