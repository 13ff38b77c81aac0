"""A supervisor's actions on the Write-Offs page (settle a dispute, reverse a write-off),
the requester's withdrawal, and recording a recovery on an invoice.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from billing.actors import Actor
from billing.errors import BillingError
from billing.money import from_minor, money_text
from billing.receivables.selectors import account_for, invoice_for
from billing.rules import today
from billing.web.forms import ReasonForm, attach_billing_error
from billing.web.htmx import HtmxHttpRequest, htmx_done, render_page
from writeoffs.approvals.decisions import writeoff_withdraw as withdraw_writeoff
from writeoffs.lifecycle.holds import (
    conversion_limit_check,
    dispute_hold_settle,
    reage_plan,
)
from writeoffs.lifecycle.recovery import recoverable_minor, recoverable_writeoffs, recovery_record
from writeoffs.lifecycle.reverse import writeoff_reverse as reverse_writeoff
from writeoffs.models import Settlement, Source
from writeoffs.selectors import (
    dispute_for,
    writeoff_for,
)
from writeoffs.web.forms import RecoveryForm, SettleForm
from writeoffs.web.page import DISPUTE, TEMPLATE, WRITEOFF, _done, _page_context


@login_required
@permission_required("writeoffs.settle_disputehold", raise_exception=True)
@require_http_methods(["GET", "POST"])
def dispute_settle(
    request: HtmxHttpRequest, acct_no: int, dispute_id: int, action: str
) -> HttpResponse:
    """The confirm pop-out for one settlement action on an open dispute hold. For a
    release and re-age it names what moves: the invoice's aging date, from and to,
    for all of its balance due (or why it cannot move)."""
    if action not in Settlement.values:
        raise Http404("Unknown settlement action.")
    settlement = Settlement(action)
    account = account_for(acct_no)
    hold = dispute_for(account, dispute_id)
    form = SettleForm(request.POST if request.method == "POST" else None, action=action)
    if request.method == "POST" and form.is_valid():
        try:
            hold = dispute_hold_settle(
                dispute_hold_id=hold.pk,
                action=settlement,
                actor=Actor.for_request(request),
                source=Source.UI,
                **form.settle_arguments(),
            )
        except BillingError as error:
            hold.refresh_from_db()
            attach_billing_error(form, error)
        else:
            message = (
                f"Dispute hold {hold.number} on invoice {hold.invoice.invoice_no} "
                f"{settlement.outcome}."
            )
            if hold.conversion_pending:
                message = (
                    f"The conversion of dispute hold {hold.number} is over your approval "
                    "limit and waits for approval; the hold stays open until then."
                )
            return _done(request, account, DISPUTE, hold.pk, message)
    context = {
        **_page_context(account, DISPUTE),
        "step": "settle",
        "hold": hold,
        "invoice": hold.invoice,
        "action": settlement,
        "settle_form": form,
        "today": today(),
        "reage": (
            reage_plan(hold.invoice, today())
            if settlement == Settlement.RELEASE_REAGE and hold.is_open
            else None
        ),
        "approval": (
            conversion_limit_check(hold, Actor.for_request(request))
            if settlement == Settlement.CONVERT and hold.is_open and not hold.conversion_pending
            else None
        ),
    }
    return render_page(request, TEMPLATE, context, partial="settle")


@login_required
@permission_required("writeoffs.reverse_writeoff", raise_exception=True)
@require_http_methods(["GET", "POST"])
def writeoff_reverse(request: HtmxHttpRequest, acct_no: int, writeoff_id: int) -> HttpResponse:
    """The confirm pop-out to reverse a write-off: a reason is required."""
    account = account_for(acct_no)
    writeoff = writeoff_for(account, writeoff_id)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            writeoff = reverse_writeoff(
                writeoff_id=writeoff.pk,
                reason=form.cleaned_data["reason"],
                actor=Actor.for_request(request),
            )
        except BillingError as error:
            writeoff.refresh_from_db()
            attach_billing_error(form, error)
        else:
            invoice = writeoff.invoice
            message = (
                f"Write-off {writeoff.number} reversed: "
                f"{money_text(writeoff.amount, invoice.currency)} is due "
                f"again on invoice {invoice.invoice_no}."
            )
            return _done(request, account, WRITEOFF, writeoff.pk, message)
    context = {
        **_page_context(account, WRITEOFF),
        "step": "reverse",
        "writeoff": writeoff,
        "invoice": writeoff.invoice,
        "reverse_form": form,
    }
    return render_page(request, TEMPLATE, context, partial="reverse")


@login_required
@permission_required("writeoffs.add_writeoff", raise_exception=True)
@require_http_methods(["GET", "POST"])
def writeoff_withdraw(request: HtmxHttpRequest, acct_no: int, writeoff_id: int) -> HttpResponse:
    """The confirm pop-out in which a requester withdraws their pending write-off."""
    account = account_for(acct_no)
    writeoff = writeoff_for(account, writeoff_id)
    error = None
    if request.method == "POST":
        try:
            writeoff = withdraw_writeoff(writeoff_id=writeoff.pk, actor=Actor.for_request(request))
        except BillingError as refused:
            error = refused.message
            writeoff.refresh_from_db()
        else:
            message = (
                f"Write-off {writeoff.number} withdrawn; its amount is available again on "
                f"invoice {writeoff.invoice.invoice_no}."
            )
            return _done(request, account, WRITEOFF, writeoff.pk, message)
    context = {
        **_page_context(account, WRITEOFF),
        "step": "withdraw",
        "writeoff": writeoff,
        "invoice": writeoff.invoice,
        "error": error,
    }
    return render_page(request, TEMPLATE, context, partial="withdraw")


@login_required
@permission_required("billing.add_payment", raise_exception=True)
@require_http_methods(["GET", "POST"])
def recovery_new(request: HtmxHttpRequest, acct_no: int, invoice_no: int) -> HttpResponse:
    """Record Recovery: a drawer over the invoice page, or a page of its own without JS."""
    account = account_for(acct_no)
    invoice = invoice_for(account, invoice_no)
    recoverable = recoverable_writeoffs(invoice)
    form = RecoveryForm(
        request.POST if request.method == "POST" else None,
        recoverable=recoverable,
        currency=invoice.currency,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            payment = recovery_record(
                invoice_id=invoice.pk,
                amount=data["amount"],
                paid_on=data["paid_on"],
                method=data["method"],
                reference=data["reference"],
                writeoff_ids=[int(pk) for pk in data["writeoffs"]] or None,
                actor=Actor.for_request(request),
                idempotency_key=data["idempotency_key"],
            )
        except BillingError as error:
            attach_billing_error(form, error)
        else:
            invoice.refresh_from_db()
            text = (
                f"Recovery of {money_text(payment.amount, invoice.currency)} "
                f"recorded on invoice {invoice.invoice_no} "
                f"(payment {payment.pk})."
            )
            next_url = reverse("invoice_detail", args=[account.acct_no, invoice.invoice_no])
            return htmx_done(
                request, kind="payment", pk=payment.pk, message=text, next_url=next_url
            )
    context = {
        "account": account,
        "section": "invoices",
        "invoice": invoice,
        "recoverable": recoverable,
        "maximum": from_minor(recoverable_minor(invoice, recoverable), invoice.currency),
        "recovery_form": form,
    }
    return render_page(request, "writeoffs/recovery.html", context, partial="drawer")
