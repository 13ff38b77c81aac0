"""writeoffs/cases/attachments.py: a checked file stored under a generated key."""

from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from billing.actors import Actor
from billing.errors import ATTACHMENT_REFUSED, PERMISSION_DENIED, BillingError
from billing.factories import AccountFactory
from tests.writeoffs.cases import samples
from tests.writeoffs.cases.support import make_case
from writeoffs.cases.attachments import attachment_add
from writeoffs.models import CaseAttachment


@pytest.fixture
def case(db):
    return make_case(AccountFactory())


def test_attachment_is_stored_under_a_generated_key_and_recorded(case, clerk, settings):
    attachment = attachment_add(
        case_id=case.pk,
        upload=samples.upload("../../statement march.pdf", samples.PDF),
        actor=Actor.for_user(clerk),
    )
    assert attachment.original_name == "statement march.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(samples.PDF)
    assert attachment.uploaded_by == clerk
    stored = attachment.file.name
    assert "statement" not in stored and ".." not in stored
    assert stored.startswith("cases/")
    assert Path(settings.MEDIA_ROOT, stored).read_bytes() == samples.PDF


def test_refused_file_stores_nothing_and_records_nothing(case, clerk, settings):
    with pytest.raises(BillingError) as caught:
        attachment_add(
            case_id=case.pk,
            upload=samples.upload("invoice.pdf", samples.HTML),
            actor=Actor.for_user(clerk),
        )
    assert caught.value.code == ATTACHMENT_REFUSED
    assert not CaseAttachment.objects.exists()
    assert not any(p.is_file() for p in Path(settings.MEDIA_ROOT).rglob("*"))


def test_viewer_may_not_attach(case, viewer):
    with pytest.raises(BillingError) as caught:
        attachment_add(
            case_id=case.pk,
            upload=samples.upload("a.pdf", samples.PDF),
            actor=Actor.for_user(viewer),
        )
    assert caught.value.code == PERMISSION_DENIED
    assert not CaseAttachment.objects.exists()


def test_a_failed_insert_deletes_the_file_just_stored(case, clerk, monkeypatch, settings):
    def fail(self, *args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(CaseAttachment, "save", fail)
    with pytest.raises(RuntimeError):
        attachment_add(
            case_id=case.pk,
            upload=samples.upload("a.pdf", samples.PDF),
            actor=Actor.for_user(clerk),
        )
    assert Path(default_storage.location) == Path(settings.MEDIA_ROOT)
    assert not any(p.is_file() for p in Path(settings.MEDIA_ROOT).rglob("*"))


def test_attaching_to_a_case_that_does_not_exist_is_refused_and_stores_nothing(clerk, settings):
    with pytest.raises(BillingError) as caught:
        attachment_add(
            case_id=987654,
            upload=samples.upload("a.pdf", samples.PDF),
            actor=Actor.for_user(clerk),
        )
    assert caught.value.code == 3160
    assert not any(p.is_file() for p in Path(settings.MEDIA_ROOT).rglob("*"))
