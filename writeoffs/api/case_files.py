"""A dispute case's files over the API (SPEC Part 3, "Dispute cases"; the /api/v1/
conventions: ``Authorization: Bearer <key>``, JSON answers):

- ``POST /api/v1/cases/{number}/attachments``: multipart, the file in field ``file``;
  201 with the attachment and its download ``url``. The same checks as the screen's
  upload (writeoffs/cases/files.py), and the same bound on the body
  (billing/ops/uploads.py): too large is 413 (3190), a type the case does not take
  or content that is not what the name says is 400 (3191).
- ``GET /api/v1/cases/{number}/attachments/{id}``: the file, as an attachment with
  its checked type and ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseBase

from billing.actors import Actor
from billing.errors import (
    CASE_NOT_FOUND,
    MALFORMED_BODY,
    MISSING_INPUT,
    PERMISSION_DENIED,
    BillingError,
)
from billing.ops.uploads import upload_exceeded
from billing.parsing import whole_number
from writeoffs.api.attachment_answers import AttachmentResponse, attachment_row
from writeoffs.api.transport import bearer_api_key, bearer_endpoint, method_not_allowed
from writeoffs.cases.attachments import VIEW_CASE_PERMISSION, attachment_add
from writeoffs.cases.files import content_disposition, too_large
from writeoffs.cases.rules import case_id_for
from writeoffs.models import Case, CaseAttachment


def _case(number: str) -> Case:
    return Case.objects.get(pk=case_id_for(number))


@bearer_endpoint()
def case_attachment_upload(request: HttpRequest, number: str) -> HttpResponseBase:
    if request.method != "POST":
        return method_not_allowed("POST")
    actor = Actor.for_api_key(bearer_api_key(request))
    case = _case(number)
    if upload_exceeded(request):
        raise too_large()
    try:
        upload = request.FILES.get("file")
    except MultiPartParserError:
        raise BillingError(
            MALFORMED_BODY, "The body is not multipart/form-data with a boundary."
        ) from None
    if upload is None:
        raise BillingError(
            MISSING_INPUT, "Send the file as multipart/form-data, field file.", field="file"
        )
    attachment = attachment_add(case_id=case.pk, upload=upload, actor=actor)
    answer = AttachmentResponse.ok(attachment=attachment_row(attachment))
    return JsonResponse(answer.body(), status=201)


@bearer_endpoint()
def case_attachment_file(request: HttpRequest, number: str, attachment_id: str) -> HttpResponseBase:
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed("GET, HEAD")
    actor = Actor.for_api_key(bearer_api_key(request))
    if not actor.has_perm(VIEW_CASE_PERMISSION):
        raise BillingError(PERMISSION_DENIED, "This key may not read cases.")
    case = _case(number)
    wanted = whole_number(attachment_id)
    attachment = CaseAttachment.objects.filter(case=case, pk=wanted).first() if wanted else None
    if attachment is None:
        raise BillingError(CASE_NOT_FOUND, f"Case {number} has no attachment {attachment_id}.")
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Content-Disposition"] = content_disposition(attachment.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Length"] = str(attachment.size)
    response["Cache-Control"] = "no-store"
    return response
