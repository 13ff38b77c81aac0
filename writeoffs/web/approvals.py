"""The Approvals queue across accounts, with approve and reject pop-outs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from billing.actors import Actor
from billing.errors import BillingError
from billing.money import money_text
from billing.web.forms import ReasonForm, attach_billing_error
from billing.web.htmx import HtmxHttpRequest, htmx_done, render_page
from billing.web.pagination import page_window
from writeoffs.approvals.decisions import writeoff_approve, writeoff_reject
from writeoffs.bulk.preview import bulk_run_preview
from writeoffs.bulk.runs import bulk_runs_awaiting_approval
from writeoffs.models import WriteOff
from writeoffs.selectors import (
    MY_REQUEST_FILTERS,
    pending_approval_for,
    pending_approvals,
    requests_of,
)
from writeoffs.web.context_processors import announce_approvals_count
from writeoffs.web.page import WRITEOFF

APPROVALS_TEMPLATE = "writeoffs/approvals.html"


APPROVALS_PER_PAGE = 25


@login_required
@permission_required("writeoffs.approve_writeoff", raise_exception=True)
@require_http_methods(["GET"])
def approval_queue(request: HtmxHttpRequest) -> HttpResponse:
    """Write-offs waiting for approval, oldest first, with their invoice's balances."""
    window = page_window(pending_approvals(), request.GET.get("page"), APPROVALS_PER_PAGE)
    context = {"step": "queue", "window": window, "rows": window.items}
    if not request.htmx:
        # Bulk runs sent for approval: a handful of drafts, each with its figures now.
        context["bulk_runs"] = [
            (run, bulk_run_preview(run)) for run in bulk_runs_awaiting_approval()
        ]
    return render_page(request, APPROVALS_TEMPLATE, context, partial="queue")


@login_required
@permission_required("writeoffs.approve_writeoff", raise_exception=True)
@require_http_methods(["GET", "POST"])
def approval_approve(request: HtmxHttpRequest, writeoff_id: int) -> HttpResponse:
    """The confirm pop-out to approve a pending write-off."""
    writeoff = pending_approval_for(writeoff_id)
    error = None
    if request.method == "POST":
        try:
            writeoff = writeoff_approve(writeoff_id=writeoff.pk, actor=Actor.for_request(request))
        except BillingError as refused:
            error = refused.message
            writeoff.refresh_from_db()
        else:
            invoice = writeoff.invoice
            return _decided(
                request,
                writeoff,
                f"Write-off {writeoff.number} approved: "
                f"{money_text(writeoff.amount, invoice.currency)} written "
                f"off on invoice {invoice.invoice_no}.",
            )
    context = {"step": "approve", "writeoff": writeoff, "invoice": writeoff.invoice}
    context["error"] = error
    return render_page(request, APPROVALS_TEMPLATE, context, partial="approve")


@login_required
@permission_required("writeoffs.approve_writeoff", raise_exception=True)
@require_http_methods(["GET", "POST"])
def approval_reject(request: HtmxHttpRequest, writeoff_id: int) -> HttpResponse:
    """The confirm pop-out to reject a pending write-off: a reason is required."""
    writeoff = pending_approval_for(writeoff_id)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            writeoff = writeoff_reject(
                writeoff_id=writeoff.pk,
                reason=form.cleaned_data["reason"],
                actor=Actor.for_request(request),
            )
        except BillingError as refused:
            writeoff.refresh_from_db()
            attach_billing_error(form, refused)
        else:
            return _decided(
                request,
                writeoff,
                f"Write-off {writeoff.number} rejected; its amount is available again on "
                f"invoice {writeoff.invoice.invoice_no}.",
            )
    context = {
        "step": "reject",
        "writeoff": writeoff,
        "invoice": writeoff.invoice,
        "reject_form": form,
    }
    return render_page(request, APPROVALS_TEMPLATE, context, partial="reject")


@login_required
@permission_required("writeoffs.add_writeoff", raise_exception=True)
@require_http_methods(["GET"])
def my_requests(request: HtmxHttpRequest) -> HttpResponse:
    """The requester's own write-offs that went for approval: pending, approved,
    rejected (or withdrawn) and lapsed, newest first, filtered by status."""
    status = request.GET.get("status", "")
    if status not in MY_REQUEST_FILTERS:
        status = ""
    window = page_window(requests_of(request.user, status), request.GET.get("page"), 25)
    context = {
        "window": window,
        "rows": window.items,
        "status": status,
        "filters": [("", "All"), *((name, name.capitalize()) for name in MY_REQUEST_FILTERS)],
    }
    return render_page(request, "writeoffs/my_requests.html", context, partial="requests")


def _decided(request: HtmxHttpRequest, writeoff: WriteOff, message: str) -> HttpResponse:
    """After an approval or rejection: htmx closes the pop-out and the queue or the
    Write-Offs table refreshes; without JS, back to the queue with the message."""
    next_url = reverse("approval_queue")
    response = htmx_done(
        request, kind=WRITEOFF.key, pk=writeoff.pk, message=message, next_url=next_url
    )
    return announce_approvals_count(request, response)
