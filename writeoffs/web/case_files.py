"""A dispute case's files: the upload drawer and the download.

The upload reads no more than ``ATTACHMENT_MAX_BYTES`` of a file
(billing/ops/uploads.py sets that bound before anything reads the body), so an
oversized file never reaches a temporary file, let alone storage. The download is
the only way to a stored file: it checks the permission and the case, and answers
as an attachment that no browser renders.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from billing.actors import Actor
from billing.errors import BillingError
from billing.ops.uploads import upload_exceeded
from billing.web.forms import attach_billing_error
from billing.web.htmx import HtmxHttpRequest, htmx_done, render_page
from writeoffs.cases.attachments import (
    ADD_ATTACHMENT_PERMISSION,
    VIEW_CASE_PERMISSION,
    attachment_add,
)
from writeoffs.cases.files import (
    ACCEPT_ATTRIBUTE,
    ACCEPTED_LABELS,
    content_disposition,
    describe_size,
    too_large,
)
from writeoffs.cases.worklist import attachment_for, case_for
from writeoffs.web.cases import CASE_TEMPLATE, case_context


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text="",
        error_messages={"required": "Choose a file to attach."},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "file"
        ].help_text = f"{ACCEPTED_LABELS}, up to {describe_size(settings.ATTACHMENT_MAX_BYTES)}."
        self.fields["file"].widget.attrs["accept"] = ACCEPT_ATTRIBUTE


def _render(request: HtmxHttpRequest, case, form: AttachmentForm, status: int = 200):
    context = {**case_context(request, case, "attachments"), "step": "upload", "form": form}
    # htmx 2 swaps no 4xx answer: the drawer shows the refusal with a 200.
    return render_page(
        request, CASE_TEMPLATE, context, partial="upload", status=200 if request.htmx else status
    )


@login_required
@permission_required(ADD_ATTACHMENT_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
@csrf_exempt
def case_attachment_new(request: HtmxHttpRequest, number: int) -> HttpResponse:
    """The upload drawer. A body too large to read (billing.ops.uploads) is answered
    with the limit before the CSRF check, which would need the unread token: that
    answer changes nothing. Everything else is checked for CSRF as usual."""
    case = case_for(number)
    if request.method == "POST" and getattr(request, "upload_unread", False):
        return _too_large(request, case)
    return _attachment_new(request, case)


def _too_large(request: HtmxHttpRequest, case) -> HttpResponse:
    # Bound and checked, so that the one error shown is the limit, not "choose a file".
    form = AttachmentForm({}, {})
    form.is_valid()
    form.errors["file"] = form.error_class([too_large().message])
    return _render(request, case, form, status=413)


@csrf_protect
def _attachment_new(request: HtmxHttpRequest, case) -> HttpResponse:
    if request.method != "POST":
        return _render(request, case, AttachmentForm())
    if upload_exceeded(request):
        return _too_large(request, case)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            attachment = attachment_add(
                case_id=case.pk, upload=form.cleaned_data["file"], actor=Actor.for_request(request)
            )
        except BillingError as error:
            attach_billing_error(form, error)
        else:
            return htmx_done(
                request,
                kind="case",
                pk=case.pk,
                message=f"{attachment.original_name} attached to case {case.number}.",
                next_url=reverse("case_detail", args=[case.number]) + "?tab=attachments",
            )
    return _render(request, case, form)


@login_required
@permission_required(VIEW_CASE_PERMISSION, raise_exception=True)
@require_http_methods(["GET"])
def case_attachment_download(
    request: HtmxHttpRequest, number: int, attachment_id: int
) -> FileResponse:
    """The stored file, as an attachment with its checked type, never sniffed."""
    attachment = attachment_for(case_for(number), attachment_id)
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Content-Disposition"] = content_disposition(attachment.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Length"] = str(attachment.size)
    response["Cache-Control"] = "private, no-store"
    return response
