"""Uploads are bounded before anything reads them.

A multipart body (the only kind that carries files: a dispute case's attachments,
in the UI and the API) is read by the first code that touches ``request.POST``,
which is a middleware (RefuseNulMiddleware), not the view. So the bound is set
here, first: a body that declares itself larger than ``ATTACHMENT_MAX_BYTES`` plus
the framing is not read at all (the view answers with the limit, ``upload_unread``),
and for the rest an upload handler stops taking a file part as soon as it passes
the limit (a body sent without a length, or one that lies about it): the rest of
that part is skipped, never written to memory or a temporary file.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.datastructures import MultiValueDict

# Room for the multipart framing and a form's other fields around the file.
MULTIPART_OVERHEAD = 64 * 1024


class SizeLimitHandler(FileUploadHandler):
    """Skips a file part once more than ``limit`` bytes of it have arrived; the
    handlers after this one (memory, temporary file) never see the rest."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def upload_exceeded(request: HttpRequest) -> bool:
    """Whether this request's upload passed the limit: refused unread, or a file part
    skipped while it streamed."""
    limit = getattr(request, "upload_limit", None)
    return bool(getattr(request, "upload_unread", False) or (limit and limit.exceeded))


class UploadLimitMiddleware:
    """Before any middleware that reads the body (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.content_type == "multipart/form-data":
            limit = int(settings.ATTACHMENT_MAX_BYTES)
            if declared_length(request) > limit + MULTIPART_OVERHEAD:
                # An empty form instead of the body: nothing reads it, and the view
                # says why (the body's CSRF token is unread too, so the view answers
                # with the refusal only, and changes nothing).
                request.upload_unread = True  # type: ignore[attr-defined]
                request._post = QueryDict()  # type: ignore[attr-defined]
                request._files = MultiValueDict()  # type: ignore[attr-defined]
            else:
                handler = SizeLimitHandler(request, limit)
                request.upload_limit = handler  # type: ignore[attr-defined]
                request.upload_handlers.insert(0, handler)
        return self.get_response(request)
