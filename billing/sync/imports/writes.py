"""Writing what the check planned, one row (or invoice) at a time, through the
services: a new sent invoice (its lines taxed as ``line_tax`` decided in the check,
its total net plus tax, as ``invoice_line_add`` totals it) is sent by ``send_locked``
(``invoice_send``'s rules, its check that lines and totals agree, and its posting),
a payment is recorded by ``payment_record``, a void by ``invoice_void``. Each runs
inside the import's batch transaction, in its own savepoint.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from billing.actors import Actor
from billing.history import acting_as
from billing.models import Account, Invoice, InvoiceLine
from billing.receivables.invoices import invoice_void, send_locked
from billing.receivables.payments import payment_record
from billing.rules import lock_invoice
from billing.sync.imports.verdicts import AccountPlan, InvoicePlan, PaymentPlan, Plan


def write(plan: Plan, actor: Actor) -> None:
    if isinstance(plan, AccountPlan):
        _account(plan)
    elif isinstance(plan, InvoicePlan):
        _invoice(plan, actor)
    else:
        _payment(plan, actor)


def _next(model: type[Account] | type[Invoice], field: str) -> int:
    # Inside the batch's write transaction: no other writer takes the number meanwhile
    # (and the unique constraint is the last guard).
    return (model.objects.aggregate(last=Max(field))["last"] or 0) + 1


def _account(plan: AccountPlan) -> None:
    if plan.account_id is not None:
        account = Account.objects.select_for_update().get(pk=plan.account_id)
        for name in plan.changes:
            setattr(account, name, getattr(plan, name))
        account.save(update_fields=list(plan.changes))
        return
    Account.objects.create(
        acct_no=plan.acct_no or _next(Account, "acct_no"),
        external_id=plan.external_id,
        name=plan.name,
        currency=plan.currency,
        client_acct_id=plan.client_acct_id,
        email=plan.email,
        status=plan.status,
    )


def _invoice(plan: InvoicePlan, actor: Actor) -> None:
    if plan.invoice_id is not None:
        _invoice_update(plan, actor)
        return
    account = Account.objects.get(pk=plan.account_id)
    with acting_as(actor):
        invoice = Invoice.objects.create(
            invoice_no=plan.invoice_no or _next(Invoice, "invoice_no"),
            account=account,
            currency=account.currency,
            bill_date=plan.bill_date,
            due_date=plan.due_date,
            aging_date=plan.due_date,
            revenue_code_id=plan.revenue_code_id,
            total_minor=plan.total_minor,
            tax_minor=plan.tax_minor,
            external_id=plan.external_id,
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                description=line.description,
                amount_minor=line.amount_minor,
                tax_rate_id=line.tax_rate_id,
                tax_minor=line.tax_minor,
            )
            for line in plan.lines
        )
        invoice = lock_invoice(invoice.pk)
        send_locked(invoice, actor=actor)


def _invoice_update(plan: InvoicePlan, actor: Actor) -> None:
    assert plan.invoice_id is not None
    if plan.void:
        invoice_void(
            invoice_id=plan.invoice_id,
            reason=f"Voided in the billing system (import, row {plan.first_row}).",
            actor=actor,
        )
        return
    with transaction.atomic(), acting_as(actor):
        invoice = lock_invoice(plan.invoice_id)
        assert plan.new_due_date is not None
        fields = ["due_date"]
        # The aging date starts as the due date; it follows a due date that moves later,
        # unless the invoice was re-aged (an aging date never moves backwards).
        if invoice.aging_date == invoice.due_date and plan.new_due_date > invoice.aging_date:
            invoice.aging_date = plan.new_due_date
            fields.append("aging_date")
        invoice.due_date = plan.new_due_date
        invoice._change_reason = "Due date changed by an import"  # type: ignore[attr-defined]
        invoice.save(update_fields=fields)


def _payment(plan: PaymentPlan, actor: Actor) -> None:
    payment_record(
        invoice_id=plan.invoice_id,
        amount=plan.amount,
        actor=actor,
        paid_on=plan.paid_on,
        method=plan.method,
        reference=plan.reference,
        external_id=plan.external_id,
    )
