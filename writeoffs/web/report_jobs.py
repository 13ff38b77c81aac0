"""Report jobs under Reports: the list of the user's jobs, asking for one, a job's
page with its progress bar (polled while it runs) and its download.

A job is its requester's: another user's job answers 404, as if it did not exist.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods

from billing.actors import Actor
from billing.csv_export import CONTENT_TYPE
from billing.errors import BillingError
from billing.web.fields import DateField
from billing.web.htmx import HtmxHttpRequest, render_page
from billing.web.pagination import page_window
from writeoffs.models import ReportJob
from writeoffs.tasks import start_report_job

TEMPLATE = "writeoffs/report_jobs.html"
VIEW_PERM = "billing.view_invoice"
JOBS_PER_PAGE = 25


class ReportJobForm(forms.Form):
    kind = forms.ChoiceField(label="Report", choices=ReportJob.Kind.choices)
    as_of = DateField(label="As of")
    start = DateField(label="From", required=False)
    currency = forms.RegexField(label="Currency", regex=r"^[A-Z]{3}$", required=False, max_length=3)


def _job(request: HttpRequest, job_id: int) -> ReportJob:
    try:
        return ReportJob.objects.get(pk=job_id, requested_by_id=request.user.pk)
    except ReportJob.DoesNotExist:
        raise Http404("No such report job.") from None


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
@require_http_methods(["GET"])
def report_job_list(request: HtmxHttpRequest) -> HttpResponse:
    jobs = ReportJob.objects.filter(requested_by_id=request.user.pk).defer("content")
    context = {
        "section": "jobs",
        "step": "list",
        "jobs": page_window(jobs, request.GET.get("page"), JOBS_PER_PAGE),
        "form": ReportJobForm(),
    }
    return render_page(request, TEMPLATE, context, partial="list")


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
@require_http_methods(["POST"])
def report_job_new(request: HtmxHttpRequest) -> HttpResponse:
    """Ask for a job (the aging and trial balance pages offer this when a past date
    would take too long); a valid one opens the job's page."""
    form = ReportJobForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            job = start_report_job(
                kind=data["kind"],
                as_of=data["as_of"],
                start=data["start"],
                currency=data["currency"] or "",
                actor=Actor.for_request(request),
            )
        except BillingError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return redirect("report_job", job_id=job.pk)
    jobs = ReportJob.objects.filter(requested_by_id=request.user.pk).defer("content")
    context = {
        "section": "jobs",
        "step": "list",
        "jobs": page_window(jobs, None, JOBS_PER_PAGE),
        "form": form,
    }
    return render_page(request, TEMPLATE, context, status=400)


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
@require_http_methods(["GET"])
def report_job_detail(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """The job's page; htmx polls its progress fragment every 2 s until it is finished."""
    context = {"section": "jobs", "step": "detail", "job": _job(request, job_id)}
    return render_page(request, TEMPLATE, context, partial="progress")


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
@require_http_methods(["GET"])
def report_job_download(request: HttpRequest, job_id: int) -> StreamingHttpResponse:
    job = _job(request, job_id)
    if job.status != ReportJob.Status.DONE:
        raise Http404("This report job has no file yet.")
    # Streamed a line at a time, as every export is (billing/csv_export.py).
    lines = iter(job.content.splitlines(keepends=True))
    response = StreamingHttpResponse(lines, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, job.filename)
    response["Cache-Control"] = "no-store"
    return response
