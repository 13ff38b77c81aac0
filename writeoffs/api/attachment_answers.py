"""A dispute case's attachment as the API answers with it, and the error codes of the
two attachment calls: declared once, for the views (case_files.py) and the OpenAPI
document (openapi.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from pydantic import BaseModel, Field

from writeoffs.api.answers import Ok
from writeoffs.models import CaseAttachment

UPLOAD_ERROR_CODES = (1001, 1003, 1004, 1007, 1008, 1010, 1014, 3160, 3190, 3191)
DOWNLOAD_ERROR_CODES = (1001, 1003, 1004, 1008, 1014, 3160)


class AttachmentRow(BaseModel):
    id: int = Field(description="The attachment's number within the API.")
    name: str = Field(description="The file's name as given, cleaned of path parts.")
    content_type: str = Field(description="The type read from the content.")
    size: int = Field(description="Bytes.")
    sha256: str = Field(description="The content's SHA-256, hex.")
    uploaded_at: str = Field(description="ISO 8601 with offset.")
    uploaded_by: str = Field(description="Who uploaded it.")
    url: str = Field(description="Where to download it (GET, the same Bearer key).")


class AttachmentResponse(Ok):
    attachment: AttachmentRow


def attachment_url(attachment: CaseAttachment) -> str:
    """The same download link the case's own answer gives (writeoffs/api/cases.py)."""
    path = f"/api/v1/cases/{attachment.case.number}/attachments/{attachment.pk}"
    return settings.SITE_URL.rstrip("/") + path


def attachment_row(attachment: CaseAttachment) -> dict[str, Any]:
    return AttachmentRow(
        id=attachment.pk,
        name=attachment.original_name,
        content_type=attachment.content_type,
        size=attachment.size,
        sha256=attachment.sha256,
        uploaded_at=attachment.uploaded_at.isoformat(),
        uploaded_by=attachment.uploaded_by_label,
        url=attachment_url(attachment),
    ).model_dump()
