"""The account pages: the account list, overview, invoices and payments."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import (
    HttpResponseClientRedirect,
    reswap,
    retarget,
    trigger_client_event,
)

from billing import extensions
from billing.actors import Actor
from billing.errors import BillingError
from billing.models import Account, Invoice, Payment
from billing.money import from_minor, money_text
from billing.receivables.invoices import invoice_void, invoice_void_blockers
from billing.receivables.payments import PaymentPlan, payment_plan, payment_record, payment_remove
from billing.receivables.selectors import (
    ACCOUNT_SORTS,
    account_for,
    account_payments,
    account_sort,
    accounts_matching,
    accounts_with_balances,
    invoice_for,
    invoices_filtered,
    payment_for,
)
from billing.web.forms import (
    InvoiceFilterForm,
    PaymentForm,
    ReasonForm,
    SearchForm,
    attach_billing_error,
)
from billing.web.htmx import CLOSE_POPOUT, HtmxHttpRequest, htmx_done, render_page
from billing.web.pagination import keyset_window, page_window

logger = logging.getLogger(__name__)


ACCOUNTS_PER_PAGE = 25


@login_required
@permission_required("billing.view_account", raise_exception=True)
@require_http_methods(["GET"])
def account_list(request: HtmxHttpRequest) -> HttpResponse:
    search = SearchForm(request.GET, max_length=100)
    matching = accounts_matching(search.query) if search.is_valid() else Account.objects.none()
    sort = account_sort(request.GET.get("sort"))
    accounts = page_window(
        accounts_with_balances(matching, sort), request.GET.get("page"), ACCOUNTS_PER_PAGE
    )
    return render_page(
        request,
        "billing/account_list.html",
        {
            "accounts": accounts,
            "query": search.query,
            "search": search,
            "sort": sort,
            "sorts": ACCOUNT_SORTS,
        },
        partial="results",
    )


INVOICES_PER_PAGE = 25


PAYMENTS_PER_PAGE = 25


@login_required
@permission_required("billing.view_account", raise_exception=True)
@require_http_methods(["GET"])
def account_overview(request: HtmxHttpRequest, acct_no: int) -> HttpResponse:
    """The account's overview: its totals and latest entries, which the apps that keep
    them add (``billing.extensions.register_account_overview_context``)."""
    account = account_for(acct_no)
    context: dict[str, Any] = {"account": account, "section": "overview"}
    for extra in extensions.hooks.account_overview_context:
        context.update(extra(request, account))
    return render_page(request, "billing/account_overview.html", context)


@login_required
@permission_required("billing.view_invoice", raise_exception=True)
@require_http_methods(["GET"])
def invoice_list(request: HtmxHttpRequest, acct_no: int) -> HttpResponse:
    account = account_for(acct_no)
    filters = InvoiceFilterForm(request.GET)
    filters.is_valid()
    # cleaned_data holds only the values that parsed: a malformed filter is ignored.
    chosen = {name: value for name, value in filters.cleaned_data.items() if value}
    invoices = keyset_window(invoices_filtered(account, chosen), request.GET, INVOICES_PER_PAGE)
    extensions.flag_invoices(invoices.items)
    return render_page(
        request,
        "billing/invoice_list.html",
        {
            "account": account,
            "section": "invoices",
            "filters": filters,
            "filtered": bool(chosen),
            "invoices": invoices,
        },
        partial="results",
    )


def _invoice_context(request: HtmxHttpRequest, account: Account, invoice: Invoice) -> dict:
    """The invoice page's context: its lines and payments, and what the apps that keep
    other rows against it add (``billing.extensions.register_invoice_page_context``:
    write-offs, disputes and the timeline)."""
    user = request.user
    extensions.flag_invoices([invoice])
    context: dict[str, Any] = {
        "account": account,
        "section": "invoices",
        "invoice": invoice,
        "lines": list(invoice.lines.select_related("tax_rate")),
        "payments": list(invoice.payments.order_by("-paid_on", "-id")),
        "can_record_payment": user.has_perm("billing.add_payment")
        and invoice.status == Invoice.Status.SENT
        and invoice.available_minor > 0,
        "can_remove_payment": user.has_perm("billing.remove_payment"),
    }
    if user.has_perm("billing.void_invoice") and invoice.status == Invoice.Status.SENT:
        # Offered only when the service would accept it; otherwise say why.
        context["void_blockers"] = invoice_void_blockers(invoice)
        context["can_void_invoice"] = not context["void_blockers"]
    for extra in extensions.hooks.invoice_page_context:
        context.update(extra(request, invoice))
    return context


@login_required
@permission_required("billing.view_invoice", raise_exception=True)
@require_http_methods(["GET"])
def invoice_detail(request: HtmxHttpRequest, acct_no: int, invoice_no: int) -> HttpResponse:
    account = account_for(acct_no)
    invoice = invoice_for(account, invoice_no)
    return render_page(
        request,
        "billing/invoice_detail.html",
        _invoice_context(request, account, invoice),
        partial="ledger",
    )


@login_required
@permission_required("billing.add_payment", raise_exception=True)
@require_http_methods(["GET", "POST"])
def payment_new(request: HtmxHttpRequest, acct_no: int, invoice_no: int) -> HttpResponse:
    """Record Payment: a drawer over the invoice, or a page of its own without JS.

    GET shows the form (with the values a review's Cancel link carries); POST checks it
    through the service and shows the review pop-out, which records nothing yet.
    """
    account = account_for(acct_no)
    invoice = invoice_for(account, invoice_no)
    if request.method == "GET":
        form = PaymentForm(invoice=invoice, initial=PaymentForm.initial_from(request.GET))
        return _render_payment_drawer(request, account, invoice, form)
    form = PaymentForm(request.POST, invoice=invoice)
    if form.is_valid():
        data = form.cleaned_data
        try:
            plan = payment_plan(
                invoice=invoice,
                amount=data["amount"],
                paid_on=data["paid_on"],
                method=data["method"],
                reference=data["reference"],
                actor=Actor.for_request(request),
            )
        except BillingError as error:
            attach_billing_error(form, error)
        else:
            return _render_payment_review(request, account, invoice, form, plan)
    return _render_payment_drawer(request, account, invoice, form)


@login_required
@permission_required("billing.add_payment", raise_exception=True)
@require_http_methods(["POST"])
def payment_confirm(request: HtmxHttpRequest, acct_no: int, invoice_no: int) -> HttpResponse:
    """Record the reviewed payment. The service checks everything again under the lock;
    the drawer's idempotency key makes a double click or a resubmit record one payment.
    A refusal goes back to the drawer, with the input kept."""
    account = account_for(acct_no)
    invoice = invoice_for(account, invoice_no)
    form = PaymentForm(request.POST, invoice=invoice)
    if form.is_valid():
        data = form.cleaned_data
        try:
            payment = payment_record(
                invoice_id=invoice.pk,
                amount=data["amount"],
                paid_on=data["paid_on"],
                method=data["method"],
                reference=data["reference"],
                actor=Actor.for_request(request),
                idempotency_key=data["idempotency_key"],
            )
        except BillingError as error:
            invoice.refresh_from_db()
            attach_billing_error(form, error)
        else:
            invoice.refresh_from_db()
            text = (
                f"Payment {payment.pk} of {money_text(payment.amount, invoice.currency)} "
                f"recorded on invoice {invoice.invoice_no}. Remaining balance: "
                f"{money_text(invoice.balance_due, invoice.currency)}."
            )
            return _done(request, account, invoice, payment.pk, text)
    return _render_payment_drawer(request, account, invoice, form, from_popout=True)


def _render_payment_drawer(
    request: HtmxHttpRequest,
    account: Account,
    invoice: Invoice,
    form: PaymentForm,
    *,
    from_popout: bool = False,
) -> HttpResponse:
    response = render_page(
        request,
        "billing/invoice_detail.html",
        {**_invoice_context(request, account, invoice), "payment_form": form, "step": "payment"},
        partial="payment_drawer",
    )
    if request.htmx and request.method == "POST":
        # The drawer posts into the pop-out; a refusal belongs in the drawer.
        retarget(response, "#drawer-content")
        reswap(response, "innerHTML")
        if from_popout:
            trigger_client_event(response, CLOSE_POPOUT)
    return response


def _render_payment_review(
    request: HtmxHttpRequest,
    account: Account,
    invoice: Invoice,
    form: PaymentForm,
    plan: PaymentPlan,
) -> HttpResponse:
    """The review pop-out: the amount as read and the balance it leaves, with the
    values frozen in hidden fields for Record, and Cancel back to the input as typed."""
    frozen = {
        **form.cleaned_data,
        "amount": plan.amount,
        "paid_on": plan.paid_on,
        "reference": plan.reference,
    }
    as_typed = {name: form.data.get(name, "") for name in PaymentForm.initial_from_names}
    edit_url = reverse("payment_new", args=[account.acct_no, invoice.invoice_no])
    context = {
        **_invoice_context(request, account, invoice),
        "step": "payment_review",
        "plan": plan,
        "method_label": Payment.Method(plan.method).label,
        "balance_after": from_minor(
            invoice.balance_due_minor - plan.amount_minor, invoice.currency
        ),
        "review_form": PaymentForm(invoice=invoice, initial=frozen),
        "edit_url": f"{edit_url}?{urlencode(as_typed)}",
    }
    return render_page(request, "billing/invoice_detail.html", context, partial="payment_review")


@login_required
@permission_required("billing.remove_payment", raise_exception=True)
@require_http_methods(["GET", "POST"])
def payment_remove_view(request: HtmxHttpRequest, acct_no: int, payment_id: int) -> HttpResponse:
    """Remove a payment recorded by mistake: a confirm pop-out asking for the reason."""
    account = account_for(acct_no)
    payment = payment_for(account, payment_id)
    invoice = payment.invoice
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            payment_remove(
                payment_id=payment.pk,
                reason=form.cleaned_data["reason"],
                actor=Actor.for_request(request),
            )
        except BillingError as error:
            attach_billing_error(form, error)
        else:
            text = (
                f"Payment {payment.pk} of {money_text(payment.amount, invoice.currency)} "
                f"removed from invoice {invoice.invoice_no}."
            )
            return _done(request, account, invoice, payment.pk, text)
    return render_page(
        request,
        "billing/invoice_detail.html",
        {
            **_invoice_context(request, account, invoice),
            "payment": payment,
            "balance_after_removal": from_minor(
                invoice.balance_due_minor + payment.amount_minor, invoice.currency
            ),
            "remove_form": form,
            "step": "remove_payment",
        },
        partial="remove_popout",
    )


@login_required
@permission_required("billing.void_invoice", raise_exception=True)
@require_http_methods(["GET", "POST"])
def invoice_void_view(request: HtmxHttpRequest, acct_no: int, invoice_no: int) -> HttpResponse:
    """Void an invoice issued in error: a confirm pop-out asking for the reason. The
    service refuses while anything is paid, written off or held on it, and says what."""
    account = account_for(acct_no)
    invoice = invoice_for(account, invoice_no)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            invoice_void(
                invoice_id=invoice.pk,
                reason=form.cleaned_data["reason"],
                actor=Actor.for_request(request),
            )
        except BillingError as error:
            attach_billing_error(form, error)
        else:
            total = money_text(invoice.total, invoice.currency)
            messages.success(
                request,
                f"Invoice {invoice.invoice_no} voided: its {total} was reversed out of the "
                "books today, and nothing is due on it.",
            )
            # The whole page changes (status, totals, actions): load it again.
            next_url = invoice_url(account, invoice)
            if request.htmx:
                return HttpResponseClientRedirect(next_url)
            return redirect(next_url)
    return render_page(
        request,
        "billing/invoice_detail.html",
        {**_invoice_context(request, account, invoice), "void_form": form, "step": "void_invoice"},
        partial="void_popout",
    )


@login_required
@permission_required("billing.view_payment", raise_exception=True)
@require_http_methods(["GET"])
def payment_list(request: HtmxHttpRequest, acct_no: int) -> HttpResponse:
    account = account_for(acct_no)
    payments = keyset_window(account_payments(account), request.GET, PAYMENTS_PER_PAGE)
    return render_page(
        request,
        "billing/payment_list.html",
        {"account": account, "section": "payments", "payments": payments},
        partial="results",
    )


def invoice_url(account: Account, invoice: Invoice) -> str:
    return reverse("invoice_detail", args=[account.acct_no, invoice.invoice_no])


def _done(
    request: HtmxHttpRequest, account: Account, invoice: Invoice, payment_id: int, text: str
) -> HttpResponse:
    next_url = invoice_url(account, invoice)
    return htmx_done(request, kind="payment", pk=payment_id, message=text, next_url=next_url)
