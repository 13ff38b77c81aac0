"""The billing app's pages, and the error pages every view shares."""

from __future__ import annotations

import csv
import logging
import sys

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views import defaults
from django.views.decorators.http import require_http_methods
from django_htmx.http import reswap, retarget, trigger_client_event

from billing.actors import Actor
from billing.books import EXPORT_HEADER, journal_export_rows, journal_lines, trial_balance
from billing.errors import BillingError
from billing.forms import (
    DateRangeForm,
    InvoiceFilterForm,
    JournalExportForm,
    LockDateForm,
    PaymentForm,
    ReasonForm,
    SearchForm,
    attach_billing_error,
)
from billing.htmx import CLOSE_POPOUT, HtmxHttpRequest, htmx_done, render_page
from billing.journal import lock_date
from billing.models import Account, AccountingPeriodLock, Invoice
from billing.money import format_money, from_minor
from billing.pagination import keyset_window, page_window
from billing.rules import today
from billing.selectors import (
    account_for,
    account_payments,
    accounts_matching,
    invoice_for,
    invoices_filtered,
    payment_for,
)
from billing.services import lock_date_move, payment_record, payment_remove

# Billing's pages show write-offs and holds too; they read them through the write-offs
# app's selectors (the import-linter contract in pyproject.toml allows views this).
from writeoffs.models import WriteOff
from writeoffs.selectors import (
    account_totals,
    invoice_disputes,
    invoice_timeline,
    invoice_writeoffs,
    latest_disputes,
    latest_writeoffs,
)

logger = logging.getLogger(__name__)

ACCOUNTS_PER_PAGE = 25


@login_required
@permission_required("billing.view_account", raise_exception=True)
@require_http_methods(["GET"])
def account_list(request: HtmxHttpRequest) -> HttpResponse:
    search = SearchForm(request.GET, max_length=100)
    matching = accounts_matching(search.query) if search.is_valid() else Account.objects.none()
    accounts = page_window(matching, request.GET.get("page"), ACCOUNTS_PER_PAGE)
    return render_page(
        request,
        "billing/account_list.html",
        {"accounts": accounts, "query": search.query, "search": search},
        partial="results",
    )


def _error_page(request: HttpRequest, template: str, status: int) -> HttpResponse:
    """A full page normally; for htmx, just the message, shown in the drawer.

    htmx swaps 403/404 bodies (see responseHandling in base.html). Whatever asked,
    the message lands in the drawer, and a pop-out that asked is closed, so the
    user reads it where they were working rather than in a half-replaced table.
    """
    htmx = getattr(request, "htmx", False)
    response = render(
        request, f"{template}#message" if htmx else template, {"status": status}, status=status
    )
    patch_vary_headers(response, ["HX-Request"])
    if htmx:
        retarget(response, "#drawer-content")
        reswap(response, "innerHTML")
        trigger_client_event(response, CLOSE_POPOUT)
    return response


def permission_denied(request: HtmxHttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "403.html", 403)


def page_not_found(request: HtmxHttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "404.html", 404)


# --- Operations: load-balancer probe and a database outage -----------------

# How long a client should wait before retrying while the database is unreachable.
OUTAGE_RETRY_AFTER_SECONDS = 30


def database_is_unavailable(exception: BaseException | None) -> bool:
    """Whether the database being unreachable caused this exception. Django wraps
    the driver's error in OperationalError or InterfaceError; a session whose
    save failed arrives as SessionInterrupted with that error as its context."""
    seen = 0
    while exception is not None and seen < 10:
        if isinstance(exception, OperationalError | InterfaceError):
            return True
        exception = exception.__cause__ or exception.__context__
        seen += 1
    return False


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """A readable 503 with Retry-After. Rendered without the request's context: the
    context processors would read the user, which needs the very database that is down."""
    htmx = request.headers.get("HX-Request") == "true"
    body = render_to_string(
        "503.html#message" if htmx else "503.html", {"status": 503, "htmx": htmx}
    )
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
    patch_vary_headers(response, ["HX-Request"])
    if htmx:
        retarget(response, "#drawer-content")
        reswap(response, "innerHTML")
        trigger_client_event(response, "closePopout")
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if database_is_unavailable(exception):
        return service_unavailable(request)
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its ``except`` block, so the exception is at hand.
    if database_is_unavailable(sys.exc_info()[1]):
        return service_unavailable(request)
    return defaults.server_error(request)


def nul_in_input(request: HttpRequest) -> HttpResponse:
    """The answer to a request carrying NUL (billing.middleware.RefuseNulMiddleware),
    in the words check_text uses for an illegal character."""
    return _error_page(request, "illegal_input.html", 400)


@require_http_methods(["GET", "HEAD"])
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: 200 when the database answers and every migration is
    applied, otherwise 503. No sign-in; the body says nothing more than that, and
    what failed goes to the log. billing.middleware.HealthCheckMiddleware routes
    the probe here before the host and HTTPS checks."""
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        logger.exception("Health check: the database did not answer.")
        pending = None
    healthy = pending == []
    if pending:
        logger.error("Health check: %d migrations are not applied.", len(pending))
    response = HttpResponse(
        "ok\n" if healthy else "unavailable\n",
        status=200 if healthy else 503,
        content_type="text/plain; charset=utf-8",
    )
    response["Cache-Control"] = "no-store"
    # SecurityMiddleware and the CSP middleware never see this answer: their headers, by hand.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    return response


# --- Account Overview, Invoices, Payments (issue 4) ------------------------

INVOICES_PER_PAGE = 25
PAYMENTS_PER_PAGE = 25
LATEST_ENTRIES = 5


@login_required
@permission_required("billing.view_account", raise_exception=True)
@require_http_methods(["GET"])
def account_overview(request: HtmxHttpRequest, acct_no: int) -> HttpResponse:
    account = account_for(acct_no)
    return render_page(
        request,
        "billing/account_overview.html",
        {
            "account": account,
            "section": "overview",
            "totals": account_totals(account),
            "latest_writeoffs": latest_writeoffs(account, LATEST_ENTRIES),
            "latest_disputes": latest_disputes(account, LATEST_ENTRIES),
        },
    )


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
    user = request.user
    writeoffs = invoice_writeoffs(invoice)
    return {
        "account": account,
        "section": "invoices",
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "payments": list(invoice.payments.order_by("-paid_on", "-id")),
        "writeoffs": writeoffs,
        "active_writeoffs": [w for w in writeoffs if w.status == WriteOff.Status.ACTIVE],
        "disputes": invoice_disputes(invoice),
        "timeline": invoice_timeline(invoice),
        "can_record_payment": user.has_perm("billing.add_payment")
        and invoice.status == Invoice.Status.SENT
        and invoice.available_minor > 0,
        "can_remove_payment": user.has_perm("billing.remove_payment"),
        # Seed 003's "Write Off Invoice", worded as everywhere else ("Create a Write-off"):
        # the Write-Offs page's own entry drawer, for this invoice.
        "can_write_off": user.has_perm("writeoffs.add_writeoff")
        and invoice.status == Invoice.Status.SENT
        and invoice.available_minor > 0,
        "can_dispute": user.has_perm("writeoffs.add_disputehold")
        and invoice.status == Invoice.Status.SENT
        and invoice.available_minor > 0,
        # Bad-debt recovery: the customer pays a written-off invoice after all.
        "can_record_recovery": user.has_perm("billing.add_payment")
        and invoice.status == Invoice.Status.SENT
        and any(w.is_recoverable for w in writeoffs),
    }


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
    """Record Payment: a drawer over the invoice, or a page of its own without JS."""
    account = account_for(acct_no)
    invoice = invoice_for(account, invoice_no)
    form = PaymentForm(request.POST if request.method == "POST" else None, invoice=invoice)
    if request.method == "POST" and form.is_valid():
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
            attach_billing_error(form, error)
        else:
            invoice.refresh_from_db()
            text = (
                f"Payment {payment.pk} of {format_money(payment.amount, invoice.currency)} "
                f"{invoice.currency} recorded on invoice {invoice.invoice_no}. Remaining balance: "
                f"{format_money(invoice.balance_due, invoice.currency)} {invoice.currency}."
            )
            return _done(request, account, invoice, payment.pk, text)
    return render_page(
        request,
        "billing/invoice_detail.html",
        {**_invoice_context(request, account, invoice), "payment_form": form, "step": "payment"},
        partial="payment_drawer",
    )


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
                f"Payment {payment.pk} of {format_money(payment.amount, invoice.currency)} "
                f"{invoice.currency} removed from invoice {invoice.invoice_no}."
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


# --- The books: lock date, trial balance, journal export (issue 11) -------------------

LOCK_HISTORY_ROWS = 50


@login_required
@permission_required("billing.move_lock_date", raise_exception=True)
@require_http_methods(["GET", "POST"])
def lock_date_page(request: HtmxHttpRequest) -> HttpResponse:
    """Books closed through: move the lock date with a reason, after a confirm step."""
    form = LockDateForm(request.POST if request.method == "POST" else None)
    confirming = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not data["confirmed"]:
            confirming = True
        else:
            try:
                move = lock_date_move(
                    locked_through=data["locked_through"],
                    reason=data["reason"],
                    actor=Actor.for_request(request),
                )
            except BillingError as error:
                attach_billing_error(form, error)
            else:
                text = f"The books are closed through {move.locked_through}."
                messages.success(request, text)
                if request.htmx:
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = reverse("lock_date")
                    return response
                return redirect("lock_date")
    return render_page(
        request,
        "billing/lock_date.html",
        {
            "form": form,
            "confirming": confirming,
            "lock_date": lock_date(),
            "today": today(),
            "moves": AccountingPeriodLock.objects.select_related("moved_by")[:LOCK_HISTORY_ROWS],
        },
        partial="lock_form",
    )


@login_required
@permission_required("billing.export_journal", raise_exception=True)
@require_http_methods(["GET"])
def trial_balance_page(request: HtmxHttpRequest) -> HttpResponse:
    """Per code and currency: opening, debits, credits, closing; debits = credits
    per currency."""
    initial = {"start": today().replace(day=1), "end": today()}
    form = DateRangeForm(request.GET or initial)
    balance = None
    if form.is_valid():
        balance = trial_balance(start=form.cleaned_data["start"], end=form.cleaned_data["end"])
    return render_page(
        request,
        "billing/trial_balance.html",
        {"form": form, "balance": balance, "lock_date": lock_date()},
        partial="results",
    )


@login_required
@permission_required("billing.export_journal", raise_exception=True)
@require_http_methods(["GET"])
def journal_export_page(request: HttpRequest) -> HttpResponse:
    """Choose the range to export; the form GETs the CSV's own URL."""
    form = JournalExportForm(initial={"start": today().replace(day=1), "end": today()})
    return render(request, "billing/journal_export.html", {"form": form})


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@permission_required("billing.export_journal", raise_exception=True)
@require_http_methods(["GET"])
def journal_export_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The journal as CSV, one row per line, streamed as it is read."""
    form = JournalExportForm(request.GET)
    if not form.is_valid():
        return render(request, "billing/journal_export.html", {"form": form}, status=400)
    data = form.cleaned_data
    lines = journal_lines(
        start=data["start"],
        end=data["end"],
        first_entry=data["first_entry"],
        last_entry=data["last_entry"],
    )
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(EXPORT_HEADER)
        for row in journal_export_rows(lines):
            yield writer.writerow(row)

    if data["start"] or data["end"]:
        name = f"journal-{data['start'] or 'start'}-{data['end'] or 'end'}.csv"
    else:
        name = f"journal-{data['first_entry'] or 1}-{data['last_entry'] or 'last'}.csv"
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
