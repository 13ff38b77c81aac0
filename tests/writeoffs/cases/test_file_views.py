"""writeoffs/web/case_files.py: the upload drawer and the download, over HTTP."""

import pytest
from django.test.client import encode_multipart
from django.urls import reverse

from billing.actors import Actor
from billing.factories import AccountFactory
from tests.writeoffs.cases import samples
from tests.writeoffs.cases.support import make_case
from writeoffs.cases.attachments import attachment_add
from writeoffs.cases.files import content_disposition
from writeoffs.models import CaseAttachment

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def case(db):
    return make_case(AccountFactory(acct_no=6001))


def upload_url(case):
    return reverse("case_attachment_new", args=[case.number])


def download_url(attachment):
    return reverse("case_attachment_download", args=[attachment.case.number, attachment.pk])


def test_upload_drawer_is_a_partial_for_htmx_and_a_page_otherwise(client, clerk, case):
    client.force_login(clerk)
    partial = client.get(upload_url(case), **HTMX)
    full = client.get(upload_url(case))
    assert partial.status_code == full.status_code == 200
    assert b"<html" not in partial.content and b"<html" in full.content
    assert b'enctype="multipart/form-data"' in partial.content
    assert "HX-Request" in partial["Vary"]


def test_upload_stores_the_file_and_says_so(client, clerk, case):
    client.force_login(clerk)
    response = client.post(
        upload_url(case), {"file": samples.upload("statement.pdf", samples.PDF)}, **HTMX
    )
    assert response.status_code == 204
    assert "statement.pdf attached to case" in response["HX-Trigger"]
    attachment = CaseAttachment.objects.get()
    assert attachment.case == case and attachment.original_name == "statement.pdf"


def test_html_named_pdf_is_refused_next_to_the_field_and_nothing_is_stored(client, clerk, case):
    client.force_login(clerk)
    response = client.post(
        upload_url(case), {"file": samples.upload("invoice.pdf", samples.HTML)}, **HTMX
    )
    assert response.status_code == 200
    assert b"is not PDF" in response.content
    assert b"Nothing was saved" in response.content
    assert not CaseAttachment.objects.exists()


def test_an_oversized_upload_is_refused_before_its_body_is_read(client, clerk, case, settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    client.force_login(clerk)
    body = encode_multipart(
        "BoUnDaRy", {"file": samples.upload("big.pdf", b"%PDF" + bytes(200_000))}
    )
    response = client.post(
        upload_url(case), body, content_type="multipart/form-data; boundary=BoUnDaRy"
    )
    assert response.status_code == 413
    assert b"a case accepts files up to 1000 bytes" in response.content
    assert not CaseAttachment.objects.exists()


def test_a_file_over_the_limit_inside_an_allowed_body_is_skipped_while_it_streams(
    client, clerk, case, settings
):
    # The body is within the limit plus the framing allowance, so it is read; the
    # upload handler stops taking the file at the limit.
    settings.ATTACHMENT_MAX_BYTES = 1000
    client.force_login(clerk)
    response = client.post(
        upload_url(case),
        {"file": samples.upload("big.pdf", b"%PDF" + bytes(5000))},
        **HTMX,
    )
    assert response.status_code == 200
    assert b"a case accepts files up to 1000 bytes" in response.content
    assert not CaseAttachment.objects.exists()


def test_upload_without_a_file_asks_for_one(client, clerk, case):
    client.force_login(clerk)
    response = client.post(upload_url(case), {}, **HTMX)
    assert b"Choose a file to attach." in response.content


def test_upload_needs_the_csrf_token(clerk, case):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(clerk)
    response = strict.post(upload_url(case), {"file": samples.upload("a.pdf", samples.PDF)})
    assert response.status_code == 403
    assert not CaseAttachment.objects.exists()


def test_viewer_may_not_upload_and_anonymous_is_sent_to_sign_in(client, viewer, case):
    assert client.get(upload_url(case))["Location"].startswith("/login/")
    client.force_login(viewer)
    assert client.get(upload_url(case)).status_code == 403
    assert client.post(upload_url(case), {}).status_code == 403


def test_upload_to_a_case_that_does_not_exist_is_404(client, clerk, db):
    client.force_login(clerk)
    assert client.get(reverse("case_attachment_new", args=[999999])).status_code == 404


@pytest.fixture
def attachment(case, clerk):
    return attachment_add(
        case_id=case.pk,
        upload=samples.upload('Überweisung "März".pdf', samples.PDF),
        actor=Actor.for_user(clerk),
    )


def test_download_is_an_attachment_with_its_stored_type_never_sniffed(client, viewer, attachment):
    client.force_login(viewer)
    response = client.get(download_url(attachment))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == samples.PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert "filename*=UTF-8''%C3%9Cberweisung%20%22M%C3%A4rz%22.pdf" in disposition


def test_content_disposition_has_an_ascii_fallback_and_the_exact_name():
    header = content_disposition('a"b\\c;d.pdf')
    assert header == ("attachment; filename=\"a_b_c_d.pdf\"; filename*=UTF-8''a%22b%5Cc%3Bd.pdf")


def test_download_of_another_cases_attachment_is_404(client, viewer, attachment):
    other = make_case(AccountFactory(acct_no=6002))
    client.force_login(viewer)
    url = reverse("case_attachment_download", args=[other.number, attachment.pk])
    assert client.get(url).status_code == 404


def test_download_needs_sign_in_and_refuses_post(client, viewer, attachment):
    assert client.get(download_url(attachment))["Location"].startswith("/login/")
    client.force_login(viewer)
    assert client.post(download_url(attachment)).status_code == 405


def test_download_needs_the_view_permission(client, attachment):
    from billing.factories import UserFactory

    client.force_login(UserFactory(username="nobody"))
    assert client.get(download_url(attachment)).status_code == 403


def test_a_file_name_with_markup_is_shown_escaped(client, clerk, case):
    attachment_add(
        case_id=case.pk,
        upload=samples.upload("<img src=x onerror=alert(1)>.pdf", samples.PDF),
        actor=Actor.for_user(clerk),
    )
    client.force_login(clerk)
    content = client.get(reverse("case_detail", args=[case.number]) + "?tab=attachments")
    html = content.content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;.pdf" in html
    assert "<img src=x" not in html
