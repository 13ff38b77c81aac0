"""The drawers that work a case (add a note, assign, change status, move the due
date, settle its holds), the pop-out that rejects it, and the Cases page's bulk
assign. Each posts back to its own URL; a refusal is shown
next to its field in the drawer, a success closes it and refreshes the page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.views.decorators.http import require_http_methods
from django_htmx.http import trigger_client_event

from billing.actors import Actor
from billing.errors import BillingError
from billing.web.forms import attach_billing_error
from billing.web.htmx import SHOW_MESSAGE, HtmxHttpRequest, htmx_done, render_page
from writeoffs.cases.notes import case_add_note
from writeoffs.cases.resolution import case_reject, case_settle
from writeoffs.cases.work import (
    case_assign,
    case_bulk_assign,
    case_change_status,
    case_set_due_date,
)
from writeoffs.cases.worklist import case_for
from writeoffs.models import Case
from writeoffs.web.case_forms import (
    AssignForm,
    BulkAssignForm,
    CaseSettleForm,
    DueDateForm,
    NoteForm,
    RejectForm,
    StatusForm,
)
from writeoffs.web.cases import CASE_TEMPLATE, case_context, open_hold_totals


def _drawer(
    request: HtmxHttpRequest, case: Case, step: str, form: forms.Form, tab: str = "holds"
) -> HttpResponse:
    context: dict[str, Any] = {**case_context(request, case, tab), "step": step, "form": form}
    return render_page(request, CASE_TEMPLATE, context, partial=step)


def _done(request: HtmxHttpRequest, case: Case, message: str, tab: str = "holds") -> HttpResponse:
    next_url = reverse("case_detail", args=[case.number]) + f"?tab={tab}"
    return htmx_done(request, kind="case", pk=case.pk, message=message, next_url=next_url)


def _posted(request: HtmxHttpRequest):
    return request.POST if request.method == "POST" else None


@login_required
@permission_required("writeoffs.add_casenote", raise_exception=True)
@require_http_methods(["GET", "POST"])
def case_note_new(request: HtmxHttpRequest, number: int) -> HttpResponse:
    case = case_for(number)
    form = NoteForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            case_add_note(
                case_id=case.pk, text=form.cleaned_data["text"], actor=Actor.for_request(request)
            )
        except BillingError as error:
            attach_billing_error(form, error)
        else:
            return _done(request, case, f"Note added to case {case.number}.", tab="notes")
    return _drawer(request, case, "note", form, tab="notes")


@login_required
@permission_required("writeoffs.change_case", raise_exception=True)
@require_http_methods(["GET", "POST"])
def case_assign_view(request: HtmxHttpRequest, number: int) -> HttpResponse:
    case = case_for(number)
    form = AssignForm(_posted(request), initial={"assignee": case.assignee_id or ""})
    if request.method == "POST" and form.is_valid():
        try:
            case = case_assign(
                case_id=case.pk,
                assignee_id=form.cleaned_data["assignee"] or None,
                actor=Actor.for_request(request),
            )
        except BillingError as error:
            attach_billing_error(form, error)
        else:
            who = case.assignee.get_username() if case.assignee else "nobody"
            return _done(request, case, f"Case {case.number} assigned to {who}.")
    return _drawer(request, case, "assign", form)


@login_required
@permission_required("writeoffs.change_case", raise_exception=True)
@require_http_methods(["GET", "POST"])
def case_status_view(request: HtmxHttpRequest, number: int) -> HttpResponse:
    case = case_for(number)
    form = StatusForm(_posted(request), case=case)
    if request.method == "POST" and form.is_valid():
        try:
            case = case_change_status(
                case_id=case.pk,
                status=form.cleaned_data["status"],
                actor=Actor.for_request(request),
            )
        except BillingError as error:
            attach_billing_error(form, error)
        else:
            return _done(
                request, case, f"Case {case.number} is now {case.get_status_display().lower()}."
            )
    return _drawer(request, case, "status", form)


@login_required
@permission_required("writeoffs.edit_case_due_date", raise_exception=True)
@require_http_methods(["GET", "POST"])
def case_due_date_view(request: HtmxHttpRequest, number: int) -> HttpResponse:
    """A supervisor moves the due date; the service says which dates it takes."""
    case = case_for(number)
    form = DueDateForm(_posted(request), initial={"due_date": case.due_date})
    if request.method == "POST" and form.is_valid():
        try:
            case = case_set_due_date(
                case_id=case.pk,
                due_date=form.cleaned_data["due_date"],
                actor=Actor.for_request(request),
            )
        except BillingError as error:
            attach_billing_error(form, error)
        else:
            return _done(
                request, case, f"Case {case.number} is now due {date_format(case.due_date)}."
            )
    return _drawer(request, case, "due_date", form)


@login_required
@permission_required("writeoffs.settle_disputehold", raise_exception=True)
@require_http_methods(["GET", "POST"])
def case_reject_view(request: HtmxHttpRequest, number: int) -> HttpResponse:
    """Reject the case: the pop-out names the holds it releases before anyone confirms."""
    case = case_for(number)
    form = RejectForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            case = case_reject(
                case_id=case.pk,
                reason=form.cleaned_data["reason"],
                actor=Actor.for_request(request),
            )
        except BillingError as error:
            attach_billing_error(form, error)
        else:
            return _done(request, case, f"Case {case.number} rejected; its holds are released.")
    context: dict[str, Any] = {
        **case_context(request, case),
        "step": "reject",
        "form": form,
        "hold_totals": open_hold_totals(case),
    }
    return render_page(request, CASE_TEMPLATE, context, partial="reject")


@login_required
@permission_required("writeoffs.settle_disputehold", raise_exception=True)
@require_http_methods(["GET", "POST"])
def case_settle_view(request: HtmxHttpRequest, number: int) -> HttpResponse:
    """Settle the case's holds, each its own way; the case is resolved with its last."""
    case = case_for(number)
    holds = list(case.holds.select_related("invoice").order_by("id"))
    form = CaseSettleForm(_posted(request), holds=holds)
    if request.method == "POST" and form.is_valid():
        settlements = form.settlements()
        try:
            case = case_settle(
                case_id=case.pk,
                settlements=settlements,
                root_cause_code=form.cleaned_data["root_cause"] or None,
                actor=Actor.for_request(request),
            )
        except BillingError as error:
            for each in getattr(error, "errors", [error]):
                field = form.field_for(each.field, settlements)
                attach_billing_error(form, BillingError(each.code, each.message, field=field))
        else:
            case.refresh_from_db()
            state = "resolved" if not case.is_open else "still open"
            return _done(
                request,
                case,
                f"{len(settlements)} dispute hold(s) of case {case.number} settled; "
                f"the case is {state}.",
            )
    return _drawer(request, case, "settle", form)


@login_required
@permission_required("writeoffs.change_case", raise_exception=True)
@require_http_methods(["POST"])
def case_bulk_assign_view(request: HtmxHttpRequest) -> HttpResponse:
    """Assign the cases ticked on the Cases page to one person (or to nobody)."""
    ids = [int(raw) for raw in request.POST.getlist("cases") if raw.isdigit()]
    form = BulkAssignForm(request.POST, case_ids=ids)
    back = request.POST.get("back", "")
    next_url = back if back.startswith("/cases/") else reverse("case_list")
    if form.is_valid():
        try:
            cases = case_bulk_assign(
                case_ids=form.cleaned_data["cases"],
                assignee_id=form.cleaned_data["assignee"] or None,
                actor=Actor.for_request(request),
            )
        except BillingError as error:
            message = error.message
        else:
            who = cases[0].assignee.get_username() if cases and cases[0].assignee else "nobody"
            numbers = ", ".join(str(case.number) for case in cases)
            return htmx_done(
                request,
                kind="case",
                pk=cases[0].pk if cases else 0,
                message=f"Cases {numbers} assigned to {who}.",
                next_url=next_url,
            )
    else:
        message = " ".join(str(error) for errors in form.errors.values() for error in errors)
    return _refused(request, message, next_url)


def _refused(request: HtmxHttpRequest, message: str, next_url: str) -> HttpResponse:
    if request.htmx:
        response = HttpResponse(status=204)
        trigger_client_event(response, SHOW_MESSAGE, {"level": "danger", "text": message})
        patch_vary_headers(response, ["HX-Request"])
        return response
    messages.error(request, message)
    return redirect(next_url)
