"""Sending an invoice (the only way an invoice becomes sent, posting its revenue),
voiding it (the only way a sent invoice becomes void, reversing that posting), and
correcting the revenue code it posts to.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.formats import date_format

from billing import extensions
from billing.actors import Actor
from billing.errors import (
    INVALID_ACCOUNTING_CODE,
    INVALID_AMOUNT,
    INVALID_INPUT,
    INVALID_STATE,
    INVOICE_NOT_VOIDABLE,
    INVOICE_VOID,
    MISSING_INPUT,
    BillingError,
)
from billing.events import record_event
from billing.history import acting_as
from billing.ledger.periods import require_open
from billing.ledger.posting import post_invoice_sent, post_reclassification, post_reversal
from billing.models import (
    AccountingCode,
    EventType,
    Invoice,
    InvoiceLine,
    JournalEvent,
    Payment,
    TaxRate,
)
from billing.money import from_minor, minor_money_text, parse_amount, to_minor
from billing.rules import (
    active_code,
    check_text,
    clean_comments,
    clean_correction_reason,
    lock_invoice,
    require_perm,
    today,
)


def invoice_line_add(
    *,
    invoice_id: int,
    description: str,
    amount: object,
    tax_code: str | None = None,
    tax_amount: object | None = None,
    service_start: datetime.date | None = None,
    service_end: datetime.date | None = None,
    actor: Actor,
) -> InvoiceLine:
    """Add a line to a draft invoice: its net ``amount`` and, with ``tax_code`` (a tax
    rate's code), its tax: ``tax_amount`` as the billing system computed it, or the
    rate's tax on the net (half-up) when none is given. The invoice's total becomes
    net plus tax. Amounts are plain ``1234.56`` text (or Decimal), read by the one
    strict parser. An import of a taxed line calls this per line, then
    ``invoice_send``."""
    require_perm(actor, "billing.send_invoice")
    with transaction.atomic(), acting_as(actor):
        invoice = lock_invoice(invoice_id)
        if invoice.status != Invoice.Status.DRAFT:
            raise BillingError(
                INVALID_STATE,
                f"Invoice {invoice.invoice_no} is {invoice.get_status_display().lower()}; "
                "lines are added to a draft only (a sent invoice is voided and re-issued).",
            )
        text = check_text(description, field="description").strip()
        if not text:
            raise BillingError(MISSING_INPUT, "A line needs a description.", field="description")
        net = to_minor(parse_amount(amount, invoice.currency), invoice.currency)
        rate, tax = line_tax(invoice.currency, net, tax_code, tax_amount)
        line = InvoiceLine.objects.create(
            invoice=invoice,
            description=text[:300],
            service_start=service_start,
            service_end=service_end,
            amount_minor=net,
            tax_rate=rate,
            tax_minor=tax,
        )
        invoice.total_minor += net + tax
        invoice.tax_minor += tax
        invoice.save(update_fields=["total_minor", "tax_minor"])
    return line


def line_tax(
    currency: str,
    net_minor: int,
    tax_code: str | None,
    tax_amount: object | None,
    *,
    rates: Mapping[str, TaxRate] | None = None,
) -> tuple[TaxRate | None, int]:
    """A line's tax rate and tax (minor units) on its net, or ``(None, 0)`` untaxed:
    the one rule of a line's tax, for ``invoice_line_add`` and the import's check.
    ``tax_code`` must be an active rate's; ``tax_amount`` (plain ``1234.56``) is the
    tax as given, or, left empty, the rate's tax on the net, half-up; the tax is less
    than the net; a tax amount without a code is refused. ``rates`` (the rates it
    accepts, by code: the active ones, ``active_tax_rates``) spares a caller checking
    many lines a query per line. Refusals name ``tax_code`` or ``tax_amount``."""
    code = (tax_code or "").strip()
    if not code:
        if tax_amount not in (None, ""):
            raise BillingError(MISSING_INPUT, "A tax amount needs its tax code.", field="tax_code")
        return None, 0
    if rates is None:
        rate = TaxRate.objects.select_related("payable_code").filter(code=code, active=True).first()
    else:
        rate = rates.get(code)
    if rate is None:
        raise BillingError(
            INVALID_INPUT, f"There is no active tax rate {code!r}.", field="tax_code"
        )
    if tax_amount in (None, ""):
        tax = rate.tax_on_minor(net_minor)
    else:
        tax = to_minor(parse_amount(tax_amount, currency, field="tax_amount"), currency)
    if tax >= net_minor:
        raise BillingError(
            INVALID_AMOUNT,
            f"The tax, {minor_money_text(tax, currency)}, must be less than the "
            f"line's net amount, {minor_money_text(net_minor, currency)}.",
            field="tax_amount",
        )
    return rate, tax


def active_tax_rates() -> dict[str, TaxRate]:
    """The active tax rates by code, for ``line_tax``'s ``rates``."""
    return {rate.code: rate for rate in TaxRate.objects.filter(active=True)}


def invoice_send(*, invoice_id: int, actor: Actor) -> Invoice:
    """Make a draft invoice sent: the only way an invoice becomes sent. It posts AR
    control / its revenue code on the bill date, which must be after the lock date and
    not in the future: a future bill date would post (and let a hold on the invoice
    convert into a write-off) dated in the future."""
    require_perm(actor, "billing.send_invoice")
    with transaction.atomic(), acting_as(actor):
        invoice = lock_invoice(invoice_id)
        send_locked(invoice, actor=actor)
    return invoice


def send_locked(invoice: Invoice, *, actor: Actor) -> None:
    """``invoice_send``'s rules and posting, for an invoice its caller holds locked in
    its own transaction, having checked its own permission: ``invoice_send``, and
    the import, which issues the billing system's sent invoices."""
    if invoice.status != Invoice.Status.DRAFT:
        raise BillingError(
            INVALID_STATE,
            f"Invoice {invoice.invoice_no} is {invoice.get_status_display().lower()}; "
            "only a draft invoice can be sent.",
        )
    sendable_check(invoice.bill_date, invoice.revenue_code, name=f"Invoice {invoice.invoice_no}")
    if invoice.total_minor <= 0:
        raise BillingError(
            INVALID_AMOUNT,
            f"Invoice {invoice.invoice_no} has nothing to bill; add a line first.",
        )
    lines = InvoiceLine.objects.filter(invoice=invoice).aggregate(
        net=Sum("amount_minor", default=0), tax=Sum("tax_minor", default=0)
    )
    if (lines["net"] + lines["tax"], lines["tax"]) != (invoice.total_minor, invoice.tax_minor):
        # What posts is read from the lines (the tax per rate) and from the totals
        # (AR control): they must tell the same story.
        raise BillingError(
            INVALID_AMOUNT,
            f"Invoice {invoice.invoice_no}'s total and tax do not match its lines.",
        )
    invoice.status = Invoice.Status.SENT
    invoice.save(update_fields=["status"])
    post_invoice_sent(invoice, actor=actor)


def sendable_check(
    bill_date: datetime.date, code: AccountingCode | None, *, name: str = "The invoice"
) -> None:
    """What a sent invoice's bill date and revenue code must be: an active revenue
    code; a bill date not in the future and after the lock date. The import checks
    each new invoice with it before it writes anything."""
    if code is None or code.kind != AccountingCode.Kind.REVENUE or not code.active:
        raise BillingError(
            INVALID_ACCOUNTING_CODE,
            f"{name} needs an active revenue code before it is sent.",
            field="revenue_code",
        )
    if bill_date > today():
        raise BillingError(
            INVALID_INPUT,
            f"{name}'s bill date, {date_format(bill_date)}, is in the future: send it on or "
            "after its bill date.",
            field="bill_date",
        )
    require_open(bill_date, field="bill_date", what="bill date")


def invoice_void_blockers(invoice: Invoice) -> list[str]:
    """What stops ``invoice`` being voided, each a phrase naming it and what to do: it
    is not sent, a payment that has not been removed, and (from the apps built on
    billing, ``extensions.hooks.void_blockers``) write-offs and holds. Empty when it
    may be voided. The invoice page asks it to say why there is no Void control;
    ``invoice_void`` asks it again under the lock."""
    if invoice.is_void:
        return ["it is already void"]
    if invoice.status != Invoice.Status.SENT:
        return [f"it is a {invoice.get_status_display().lower()}; only a sent invoice is voided"]
    blockers = [
        f"payment {pk} is recorded on it (remove it first)"
        for pk in Payment.objects.filter(invoice=invoice, status=Payment.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    ]
    for more in extensions.hooks.void_blockers:
        blockers.extend(more(invoice))
    return blockers


def invoice_void(*, invoice_id: int, reason: str | None, actor: Actor) -> Invoice:
    """Void a sent invoice issued in error (a supervisor's or controller's act, with a
    reason): nothing may be paid, written off, pending or held on it. It posts the
    reverse of everything the invoice posted (its sent entry, any reclassification
    since), dated today: never into the closed period the sent entry may sit in.
    Afterwards nothing is due on it, and no write-off, hold or payment can be made on
    it (3128)."""
    require_perm(actor, "billing.void_invoice")
    reason = clean_comments(reason, field="reason", label="A reason")
    with transaction.atomic(), acting_as(actor):
        # Under the lock: a payment, write-off or hold made a moment ago is seen.
        invoice = lock_invoice(invoice_id)
        if invoice.is_void:
            raise BillingError(INVOICE_VOID, f"Invoice {invoice.invoice_no} is already void.")
        blockers = invoice_void_blockers(invoice)
        if blockers:
            raise BillingError(
                INVOICE_NOT_VOIDABLE,
                f"Invoice {invoice.invoice_no} cannot be voided: " + "; ".join(blockers) + ".",
            )
        invoice.status = Invoice.Status.VOID
        invoice.voided_at = timezone.now()
        invoice.void_reason = reason
        # History's reason column holds 100 characters; the whole reason is void_reason.
        short = reason if len(reason) <= 100 else reason[:99] + "…"
        invoice._change_reason = short  # type: ignore[attr-defined]  # simple_history
        invoice.save(update_fields=["status", "voided_at", "void_reason"])
        post_reversal(invoice, event=JournalEvent.INVOICE_VOID, invoice=invoice, actor=actor)
        record_event(
            EventType.INVOICE_VOIDED,
            actor=actor,
            obj_kind="invoice",
            obj_number=invoice.invoice_no,
            invoice=invoice,
            amounts={"total": from_minor(invoice.total_minor, invoice.currency)},
            details={"reason": reason},
        )
    return invoice


def invoice_revenue_code_correction_plan(
    *, invoice: Invoice, actor: Actor, revenue_code_id: object
) -> AccountingCode | None:
    """The active revenue code ``invoice`` moves to, or ``None`` when it already posts there."""
    require_perm(actor, "billing.change_invoice")
    code = active_code(
        AccountingCode.Kind.REVENUE,
        revenue_code_id,
        field="revenue_code",
        refusal="Choose an active revenue accounting code for the invoice.",
    )
    return None if code.pk == invoice.revenue_code_id else code


def invoice_revenue_code_correct(
    *, invoice_id: int, revenue_code_id: object, actor: Actor, reason: str | None
) -> Invoice:
    """Correct the revenue code an invoice posts to, reclassifying its posting in the
    journal. What follows the invoice's revenue code (a revenue-impacting write-off)
    moves with it in the same transaction, under the invoice lock: the
    ``revenue_code_moved`` hooks of ``billing.extensions``. ``reason`` goes into each
    history row.
    """
    require_perm(actor, "billing.change_invoice")
    with transaction.atomic(), acting_as(actor):
        invoice = lock_invoice(invoice_id)
        code = invoice_revenue_code_correction_plan(
            invoice=invoice, actor=actor, revenue_code_id=revenue_code_id
        )
        if code is None:
            return invoice
        reason = clean_correction_reason(reason)
        old_code_id = invoice.revenue_code_id
        invoice.revenue_code = code
        invoice._change_reason = reason  # type: ignore[attr-defined]  # simple_history
        invoice.save(update_fields=["revenue_code"])
        if old_code_id is not None:
            post_reclassification(
                invoice,
                invoice=invoice,
                old_code_id=old_code_id,
                new_code_id=code.pk,
                actor=actor,
                memo=reason,
            )
        for moved in extensions.hooks.revenue_code_moved:
            moved(invoice, code, actor, reason)
    return invoice
