"""The import screen (SPEC Part 3): upload → check → preview → Import → progress →
result, with a CSV of the refused rows; and a column mapping beside the file's header.

Checking and importing run on the task worker (``billing.sync.tasks``); the page
polls its status fragment with htmx while the worker has the run, and every link
and form also works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods

from billing.actors import Actor
from billing.csv_export import csv_response
from billing.errors import BODY_TOO_LARGE, BillingError
from billing.models import ImportRun
from billing.sync.imports.mappings import mapping_save
from billing.sync.imports.reading import file_header
from billing.sync.imports.runs import refused_header, refused_rows
from billing.sync.imports.service import IMPORT_PERMISSION
from billing.sync.tasks import create_import_run, remap_import_run, start_import_run
from billing.web.htmx import HtmxHttpRequest, render_page
from billing.web.import_forms import ImportUploadForm, MappingForm

TEMPLATE = "billing/imports.html"
RECENT_RUNS = 20
PROBLEMS_SHOWN = 100
# Room for the form's other fields and the multipart framing around the file.
_FORM_OVERHEAD_BYTES = 64 * 1024


@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def import_upload(request: HtmxHttpRequest) -> HttpResponse:
    form = ImportUploadForm()
    status = 200
    refusal = ""
    if request.method == "POST":
        if _declared_size(request) > settings.IMPORT_MAX_BYTES + _FORM_OVERHEAD_BYTES:
            # Refused on its declared length, before the body is read.
            refusal = _too_large_message()
            status = 413
        else:
            form = ImportUploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    run = create_import_run(
                        kind=form.cleaned_data["kind"],
                        upload=form.cleaned_data["file"],
                        mapping=form.cleaned_data["mapping"],
                        actor=Actor.for_request(request),
                    )
                except BillingError as error:
                    form.add_error("file", error.message)
                    status = 413 if error.code == BODY_TOO_LARGE else 200
                else:
                    return redirect("import_detail", import_id=run.pk)
    context = {
        "step": "upload",
        "form": form,
        "refusal": refusal,
        "runs": ImportRun.objects.select_related("created_by")[:RECENT_RUNS],
        "max_bytes": settings.IMPORT_MAX_BYTES,
    }
    return render_page(request, TEMPLATE, context, partial="upload", status=status)


@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
@require_http_methods(["GET"])
def import_detail(request: HtmxHttpRequest, import_id: int) -> HttpResponse:
    """The run's page: its check's preview, its progress, or its result."""
    run = _run(import_id)
    return render_page(request, TEMPLATE, _status_context(run), partial="status")


@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
@require_http_methods(["POST"])
def import_start(request: HttpRequest, import_id: int) -> HttpResponse:
    try:
        start_import_run(run_id=_run(import_id).pk, actor=Actor.for_request(request))
    except BillingError as error:
        messages.error(request, error.message)
    return redirect("import_detail", import_id=import_id)


@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def import_mapping(request: HtmxHttpRequest, import_id: int) -> HttpResponse:
    """The file's header beside the layout's fields: map each, save it by name, and
    check the file again through it."""
    run = _run(import_id)
    with run.file.open("rb") as binary:
        header = file_header(binary)
    form = MappingForm(request.POST or None, kind=run.kind, header=header)
    if request.method == "POST" and form.is_valid():
        columns, fixed = form.mapping()
        try:
            mapping = mapping_save(
                name=form.cleaned_data["name"],
                kind=run.kind,
                columns=columns,
                fixed=fixed,
                dates_from_timestamps=form.cleaned_data["dates_from_timestamps"],
                currency_in_capitals=form.cleaned_data["currency_in_capitals"],
            )
            remap_import_run(run_id=run.pk, mapping=mapping, actor=Actor.for_request(request))
        except BillingError as error:
            form.add_error("name" if error.field == "name" else None, error.message)
        else:
            return redirect("import_detail", import_id=run.pk)
    context = {"step": "mapping", "run": run, "form": form, "header": header}
    return render_page(request, TEMPLATE, context, partial="mapping")


@login_required
@permission_required(IMPORT_PERMISSION, raise_exception=True)
@require_http_methods(["GET"])
def import_refused_csv(request: HttpRequest, import_id: int) -> StreamingHttpResponse:
    run = _run(import_id)
    return csv_response(f"import-{run.pk}-refused.csv", refused_header(run), refused_rows(run))


def _run(import_id: int) -> ImportRun:
    return get_object_or_404(
        ImportRun.objects.select_related("mapping", "created_by"), pk=import_id
    )


def _status_context(run: ImportRun) -> dict[str, Any]:
    return {
        "step": "status",
        "run": run,
        "problems": run.problems[:PROBLEMS_SHOWN],
        "more_problems": max(0, len(run.problems) - PROBLEMS_SHOWN),
        "can_import": run.status == ImportRun.Status.CHECKED
        and not run.file_error
        and run.created + run.updated > 0,
    }


def _declared_size(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _too_large_message() -> str:
    return (
        f"The file is larger than {settings.IMPORT_MAX_BYTES:,} bytes, the most an import "
        "takes. Split it into smaller files."
    )
