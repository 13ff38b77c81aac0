"""Adding a file to a dispute case: checked (files.py) before anything is stored, then
stored through Django's default storage under a generated key, and recorded.

The row and the stored file go together: if the row cannot be written, the file
just stored is deleted again, so storage holds no file that no case names.
"""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from billing.actors import Actor
from billing.errors import CASE_NOT_FOUND, BillingError
from billing.rules import require_perm
from writeoffs.cases.files import check_upload, storage_name
from writeoffs.models import Case, CaseAttachment

# Adding needs this; reading (the case page, the download) needs view_case.
ADD_ATTACHMENT_PERMISSION = "writeoffs.add_caseattachment"
VIEW_CASE_PERMISSION = "writeoffs.view_case"


def attachment_add(*, case_id: int, upload: UploadedFile, actor: Actor) -> CaseAttachment:
    """Check ``upload`` and attach it to the case. Refused (``BillingError``, field
    ``file``) when it is too large, not an accepted type, or not what its name says."""
    require_perm(actor, ADD_ATTACHMENT_PERMISSION)
    # The checks read the whole file: do it before the transaction, not under a lock.
    checked = check_upload(upload)
    with transaction.atomic():
        case = Case.objects.filter(pk=case_id).first()
        if case is None:
            raise BillingError(CASE_NOT_FOUND, "The case does not exist.")
        attachment = CaseAttachment(
            case=case,
            original_name=checked.original_name,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            uploaded_by=actor.user,
            uploaded_by_label=actor.label,
        )
        upload.seek(0)
        attachment.file.save(storage_name(), upload, save=False)
        try:
            attachment.save()
        except BaseException:
            attachment.file.delete(save=False)
            raise
    return attachment
