"""Bulk write-off runs: the list, a new run's criteria, the preview and the progress page.

No view writes anything itself or runs a run: they call ``writeoffs.bulk``, and
a started run is executed by a task worker (``manage.py db_worker``). Start,
cancel and resume are plain form posts that redirect back to the run, so they
work without JavaScript; the progress fragment polls with htmx until the run is
finished.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from billing.actors import Actor
from billing.csv_export import csv_response
from billing.errors import ERROR_CODES, PERMISSION_DENIED, BillingError
from billing.web.htmx import HtmxHttpRequest, render_page
from billing.web.pagination import page_window
from writeoffs.approvals.limits import DEFAULT_CURRENCIES
from writeoffs.bulk import execute, log, preview, runs, tasks
from writeoffs.models import ApprovalLimit, BulkRun, BulkRunItem
from writeoffs.web.forms import BulkRunForm

TEMPLATE = "writeoffs/bulk_run.html"
RUNS_PER_PAGE = 25
INVOICES_PER_PAGE = 25
FAILURES_SHOWN = 50
VIEW_PERM = "writeoffs.view_writeoff"


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
@require_http_methods(["GET"])
def bulk_run_list(request: HtmxHttpRequest) -> HttpResponse:
    all_runs = BulkRun.objects.select_related("created_by", "approved_by").order_by("-id")
    context = {
        "step": "list",
        "runs": page_window(all_runs, request.GET.get("page"), RUNS_PER_PAGE),
        "can_create": request.user.has_perm(runs.CREATE_PERM),
    }
    return render_page(request, TEMPLATE, context)


@login_required
@permission_required(runs.CREATE_PERM, raise_exception=True)
@require_http_methods(["GET", "POST"])
def bulk_run_new(request: HtmxHttpRequest) -> HttpResponse:
    """The criteria form; a valid one saves a draft and opens its preview."""
    currencies = _currencies()
    form = BulkRunForm(request.POST or None, currencies=currencies)
    if request.method == "POST" and form.is_valid():
        try:
            run = runs.bulk_run_create(actor=Actor.for_request(request), **form.create_arguments())
        except BillingError as error:
            form.add_billing_error(error)
        else:
            return redirect("bulk_run_detail", run_id=run.pk)
    return render_page(request, TEMPLATE, {"step": "new", "form": form})


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
@require_http_methods(["GET"])
def bulk_run_detail(request: HtmxHttpRequest, run_id: int) -> HttpResponse:
    """A draft's preview (htmx swaps only its list on a page turn), or a run's progress."""
    run = _run(run_id)
    if run.status == BulkRun.Status.DRAFT:
        context = _preview_context(request, run)
        return render_page(request, TEMPLATE, context, partial="preview")
    return render_page(request, TEMPLATE, _progress_context(request, run), partial="progress")


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
@require_http_methods(["GET"])
def bulk_run_progress(request: HtmxHttpRequest, run_id: int) -> HttpResponse:
    """The progress fragment the run's page polls every 2 seconds until the run is finished."""
    run = _run(run_id)
    return render_page(request, TEMPLATE, _progress_context(request, run), partial="progress")


@login_required
@permission_required(runs.CREATE_PERM, raise_exception=True)
@require_http_methods(["POST"])
def bulk_run_exclude(request: HtmxHttpRequest, run_id: int) -> HttpResponse:
    """Leave one invoice of a draft out (``excluded=1``) or put it back (``excluded=0``)."""
    run = _run(run_id)
    try:
        runs.bulk_run_exclude(
            run_id=run.pk,
            invoice_id=int(request.POST.get("invoice", "")),
            excluded=request.POST.get("excluded") == "1",
            actor=Actor.for_request(request),
        )
    except ValueError:
        messages.error(request, "Choose an invoice to exclude.")
    except BillingError as error:
        _refuse(request, error)
    if request.htmx:
        return render_page(request, TEMPLATE, _preview_context(request, run), partial="preview")
    query = {k: request.POST[k] for k in ("currency", "page") if request.POST.get(k)}
    return redirect(_detail_url(run, query))


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
@require_http_methods(["GET", "POST"])
def bulk_run_start(request: HtmxHttpRequest, run_id: int) -> HttpResponse:
    """GET: the confirm pop-out, naming what starting freezes (count and total per
    currency) and whether it needs someone else's approval. POST: freeze and approve
    the draft, and hand it to the worker. The creator starts a run within their
    limit; above it, an approver (never the creator) starts it."""
    _require_any_perm(request, runs.CREATE_PERM, runs.APPROVE_PERM)
    run = _run(run_id)
    if request.method == "GET":
        if run.status != BulkRun.Status.DRAFT:
            return redirect(_detail_url(run))
        checks = preview.bulk_run_start_check(run, Actor.for_request(request))
        context = {
            "step": "start",
            "run": run,
            "checks": checks,
            "within": all(check.within for check in checks),
            "is_creator": request.user.pk == run.created_by_id,
        }
        return render_page(request, TEMPLATE, context, partial="start")
    try:
        run = tasks.start_bulk_run(run_id=run.pk, actor=Actor.for_request(request))
    except BillingError as error:
        _refuse(request, error)
    else:
        messages.success(
            request,
            f"Bulk run {run.pk} started: {run.items.filter(excluded=False).count()} invoice(s) "
            f"frozen, write-off date {run.writeoff_date:%b %-d, %Y}. A worker writes them now.",
        )
    return redirect(_detail_url(run))


@login_required
@permission_required(runs.CREATE_PERM, raise_exception=True)
@require_http_methods(["POST"])
def bulk_run_request_approval(request: HttpRequest, run_id: int) -> HttpResponse:
    """The creator sends a draft above their limit to the Approvals queue."""
    run = _run(run_id)
    try:
        run = runs.bulk_run_request_approval(run_id=run.pk, actor=Actor.for_request(request))
    except BillingError as error:
        # Someone else's draft: the service says whose it is, on the run's page.
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Bulk run {run.pk} is in the Approvals queue: a supervisor or the finance "
            "controller whose limit covers it approves and starts it.",
        )
    return redirect(_detail_url(run))


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
@require_http_methods(["POST"])
def bulk_run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    _require_any_perm(request, runs.CREATE_PERM, runs.APPROVE_PERM)
    run = _run(run_id)
    try:
        run = runs.bulk_run_cancel(run_id=run.pk, actor=Actor.for_request(request))
    except BillingError as error:
        _refuse(request, error)
    else:
        progress = execute.bulk_run_progress(run)
        messages.success(
            request,
            f"Bulk run {run.pk} cancelled after {progress.done} of {progress.total} invoice(s) "
            f"({progress.written} written). The worker stops before its next invoice; "
            f"the {progress.pending} not reached will not be written.",
        )
    return redirect(_detail_url(run))


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
@require_http_methods(["POST"])
def bulk_run_resume(request: HttpRequest, run_id: int) -> HttpResponse:
    _require_any_perm(request, runs.CREATE_PERM, runs.APPROVE_PERM)
    run = _run(run_id)
    try:
        run = tasks.resume_bulk_run(run_id=run.pk, actor=Actor.for_request(request))
    except BillingError as error:
        _refuse(request, error)
    else:
        messages.success(request, f"Bulk run {run.pk} resumed: a worker picks it up again.")
    return redirect(_detail_url(run))


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
@require_http_methods(["GET"])
def bulk_run_log(request: HttpRequest, run_id: int) -> StreamingHttpResponse:
    """The run's log as CSV, one row per invoice, streamed."""
    run = _run(run_id)
    return csv_response(f"bulk-run-{run.pk}-log.csv", log.LOG_HEADER, log.bulk_run_log_rows(run))


# --- helpers ----------------------------------------------------------------------


def _run(run_id: int) -> BulkRun:
    return get_object_or_404(
        BulkRun.objects.select_related("created_by", "approved_by", "accounting_code"), pk=run_id
    )


def _currencies() -> list[str]:
    """The currencies a run can cover: those with approval limits (USD and EUR by default)."""
    found = set(ApprovalLimit.objects.values_list("currency", flat=True)) or set(DEFAULT_CURRENCIES)
    return sorted(found, key=lambda c: (c not in DEFAULT_CURRENCIES, c))


def _detail_url(run: BulkRun, query: dict[str, str] | None = None) -> str:
    url = reverse("bulk_run_detail", args=[run.pk])
    return f"{url}?{urlencode(query)}" if query else url


def _require_any_perm(request: HttpRequest, *perms: str) -> None:
    if not any(request.user.has_perm(perm) for perm in perms):
        raise PermissionDenied("Your role does not allow this action. Nothing was changed.")


def _refuse(request: HttpRequest, error: BillingError) -> None:
    if error.code == PERMISSION_DENIED:
        raise PermissionDenied(error.message) from error
    messages.error(request, error.message)


def _preview_context(request: HttpRequest, run: BulkRun) -> dict[str, Any]:
    figures = preview.bulk_run_preview(run)
    currencies = sorted(run.max_balance_minor)
    currency = request.GET.get("currency") or request.POST.get("currency") or ""
    if currency not in currencies:
        currency = currencies[0]
    page = request.GET.get("page") or request.POST.get("page")
    invoices = page_window(
        preview.bulk_run_preview_invoices(run, currency), page, INVOICES_PER_PAGE
    )
    is_creator = request.user.pk == run.created_by_id
    return {
        "over_limit": preview.over_creators_limit(run, currency, invoices),
        "window_days": settings.WRITEOFF_APPROVAL_WINDOW_DAYS,
        "step": "preview",
        "run": run,
        "figures": figures,
        "currencies": currencies,
        "currency": currency,
        "invoices": invoices,
        "excluded": set(preview.excluded_invoice_ids(run)),
        "can_edit": is_creator and request.user.has_perm(runs.CREATE_PERM),
        "can_start": request.user.has_perm(runs.CREATE_PERM if is_creator else runs.APPROVE_PERM),
        "is_creator": is_creator,
    }


def _progress_context(request: HttpRequest, run: BulkRun) -> dict[str, Any]:
    progress = execute.bulk_run_progress(run)
    failures = (
        run.items.filter(state=BulkRunItem.State.FAILED)
        .select_related("invoice__account")
        .order_by("id")[:FAILURES_SHOWN]
    )
    may_act = request.user.has_perm(runs.CREATE_PERM) or request.user.has_perm(runs.APPROVE_PERM)
    return {
        "step": "progress",
        "run": run,
        "progress": progress,
        "stalled": run.is_stalled(timezone.now()),
        "skips": [
            (BulkRunItem.SkipRule(rule).label, count)
            for rule, count in sorted(progress.skipped_by_rule.items())
        ],
        "failure_codes": [
            (code, ERROR_CODES.get(code, ("Unknown error",))[0], count)
            for code, count in sorted(progress.failed_by_code.items())
        ],
        "failures": failures,
        "can_act": may_act,
    }
