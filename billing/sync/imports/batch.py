"""New sent invoices of one batch, written together: the import's fast path.

``invoice_send`` posts one invoice in a dozen queries; at a million rows that is
hours. Here a batch's invoices and lines are inserted in bulk, their creation
records written to history, and their entries posted by ``billing.ledger.bulk``:
the same rule of the one posting-rule table that ``invoice_send`` posts through,
as INSERT … SELECT (tests/billing/test_posting_rules.py holds the two to the same
entries). The rules ``invoice_send`` checks were checked for each invoice by the
check (``sendable_check``); the lock date and today are checked again here, under
the batch's transaction. Taxed invoices are inserted with the others and posted
one by one through ``posting.post_invoice_sent`` (see below). Anything the batch
cannot take (a number another row of the file also claims) makes the caller write
the batch one invoice at a time.
"""

from __future__ import annotations

from django.db.models import DateTimeField, Max, Value
from django.utils import timezone

from billing.actors import Actor
from billing.errors import INVALID_INPUT, BillingError
from billing.history import record_creation_history
from billing.ledger.bulk import post_rows
from billing.ledger.codes import control_codes
from billing.ledger.periods import require_open
from billing.ledger.posting import post_invoice_sent
from billing.models import Invoice, InvoiceLine, JournalEntry, JournalEvent
from billing.rules import today
from billing.sync.imports.verdicts import InvoicePlan

HISTORY_REASON = "Imported from the billing system"


def issue_invoices(plans: list[InvoicePlan], actor: Actor) -> None:
    """Write ``plans`` (new invoices, already checked) as sent invoices, posted."""
    earliest = min(plan.bill_date for plan in plans)
    require_open(earliest, field="bill_date", what="bill date")
    if max(plan.bill_date for plan in plans) > today():
        raise BillingError(INVALID_INPUT, "A bill date is in the future.", field="bill_date")
    number = (Invoice.objects.aggregate(last=Max("invoice_no"))["last"] or 0) + 1
    invoices = []
    for plan in plans:
        if plan.invoice_no is None:
            invoice_no, number = number, number + 1
        else:
            invoice_no = plan.invoice_no
        invoices.append(
            Invoice(
                invoice_no=invoice_no,
                account_id=plan.account_id,
                currency=plan.currency,
                bill_date=plan.bill_date,
                due_date=plan.due_date,
                aging_date=plan.due_date,
                status=Invoice.Status.SENT,
                revenue_code_id=plan.revenue_code_id,
                total_minor=plan.total_minor,
                tax_minor=plan.tax_minor,
                external_id=plan.external_id,
            )
        )
    Invoice.objects.bulk_create(invoices)
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice_id=invoice.pk,
            description=line.description,
            amount_minor=line.amount_minor,
            tax_rate_id=line.tax_rate_id,
            tax_minor=line.tax_minor,
        )
        for invoice, plan in zip(invoices, plans, strict=True)
        for line in plan.lines
    )
    pks = [invoice.pk for invoice in invoices]
    record_creation_history(
        Invoice, after_pk=0, only_pks=pks, actor_label=actor.label, reason=HISTORY_REASON
    )
    now = Value(timezone.now(), output_field=DateTimeField())
    post_rows(
        JournalEvent.INVOICE_SENT,
        Invoice.objects.filter(pk__in=pks),
        codes=control_codes(),
        created_by_label=actor.label,
        posted_at=lambda day: now,
    )
    # post_rows posts the untaxed invoices only (their net is their whole amount); a
    # taxed invoice's entry credits each rate's payable code, split by its lines, so
    # it is posted here one by one by the same rule (``post_invoice_sent``, as
    # ``send_locked`` posts it). Kept in this batch rather than sent down the
    # per-invoice path so that the invoices keep their numbers in file order and the
    # batch stays one insert; taxed invoices cost their own posting's few queries.
    for invoice in invoices:
        if invoice.tax_minor:
            post_invoice_sent(invoice, actor=actor)
    if actor.user is not None:
        JournalEntry.objects.filter(
            event=JournalEvent.INVOICE_SENT,
            source_type=Invoice._meta.label_lower,
            source_id__in=pks,
        ).update(created_by=actor.user)
