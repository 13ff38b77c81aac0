"""The books: the lock-date screen, the trial balance and the journal export."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods

from billing.actors import Actor
from billing.csv_export import csv_response
from billing.errors import PERMISSION_DENIED, BillingError
from billing.ledger.aggregates import trial_balance_runs_as_job
from billing.ledger.books import journal_lines, trial_balance
from billing.ledger.close import lock_date_move, lock_date_move_check
from billing.ledger.export import EXPORT_HEADER, journal_export_rows
from billing.ledger.periods import lock_date
from billing.ledger.snapshot import close_checklist
from billing.models import AccountingPeriodLock
from billing.rules import today
from billing.web.forms import (
    DateRangeForm,
    JournalExportForm,
    LockDateForm,
    attach_billing_error,
)
from billing.web.htmx import HtmxHttpRequest, render_page

# Billing's pages show write-offs and holds too; they read them through the write-offs
# app's selectors (the import-linter contract in pyproject.toml allows views this).

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
        arguments = {
            "locked_through": data["locked_through"],
            "reason": data["reason"],
            "actor": Actor.for_request(request),
        }
        if not data["confirmed"]:
            # Every rule before the confirm step: a refusal shows next to the date now.
            try:
                lock_date_move_check(**arguments)
            except BillingError as error:
                _attach_lock_refusal(form, error)
            else:
                confirming = True
        else:
            try:
                move = lock_date_move(**arguments)
            except BillingError as error:
                _attach_lock_refusal(form, error)
            else:
                text = f"The books are closed through {date_format(move.locked_through)}."
                messages.success(request, text)
                if request.htmx:
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = reverse("lock_date")
                    return response
                return redirect("lock_date")
    locked = lock_date()
    # The months the close would take in: through the date being confirmed, else
    # through yesterday (the furthest a close can go).
    through = form.cleaned_data["locked_through"] if confirming else today() - timedelta(days=1)
    return render_page(
        request,
        "billing/lock_date.html",
        {
            "form": form,
            "confirming": confirming,
            "lock_date": locked,
            "today": today(),
            "checklist": close_checklist(locked, through),
            "moves": AccountingPeriodLock.objects.select_related("moved_by")[:LOCK_HISTORY_ROWS],
        },
        partial="lock_form",
    )


def _attach_lock_refusal(form: LockDateForm, error: BillingError) -> None:
    """The service's refusal next to the date. Moving the date back is a superuser's
    (the service says so): for a controller, who may move it, that is what is in the
    way of this date, not a page they may not open."""
    if error.code == PERMISSION_DENIED and error.field == "locked_through":
        form.add_error("locked_through", error.message)
    else:
        attach_billing_error(form, error)


@login_required
@permission_required("billing.export_journal", raise_exception=True)
@require_http_methods(["GET"])
def trial_balance_page(request: HtmxHttpRequest) -> HttpResponse:
    """Per code and currency: opening, debits, credits, closing; debits = credits
    per currency."""
    initial = {"start": today().replace(day=1), "end": today()}
    form = DateRangeForm(request.GET or initial)
    balance, job_offer = None, False
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        # Too many lines to read in a request: the page offers a report job instead.
        job_offer = trial_balance_runs_as_job(start, end)
        if not job_offer:
            balance = trial_balance(start=start, end=end)
    return render_page(
        request,
        "billing/trial_balance.html",
        {"form": form, "balance": balance, "job_offer": job_offer, "lock_date": lock_date()},
        partial="results",
    )


@login_required
@permission_required("billing.export_journal", raise_exception=True)
@require_http_methods(["GET"])
def journal_export_page(request: HttpRequest) -> HttpResponse:
    """Choose the range to export; the form GETs the CSV's own URL."""
    form = JournalExportForm(initial={"start": today().replace(day=1), "end": today()})
    return render(request, "billing/journal_export.html", {"form": form})


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
    if data["start"] or data["end"]:
        name = f"journal-{data['start'] or 'start'}-{data['end'] or 'end'}.csv"
    else:
        name = f"journal-{data['first_entry'] or 1}-{data['last_entry'] or 'last'}.csv"
    return csv_response(name, EXPORT_HEADER, journal_export_rows(lines))
