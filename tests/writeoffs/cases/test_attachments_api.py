"""writeoffs/api/case_files.py: POST /api/v1/cases/{number}/attachments and the download."""

import pytest
from django.test.client import encode_multipart

from billing.api.keys import api_key_create
from billing.factories import AccountFactory
from tests.writeoffs.cases import samples
from tests.writeoffs.cases.support import make_case
from writeoffs.models import CaseAttachment


@pytest.fixture
def case(db):
    return make_case(AccountFactory(acct_no=6101))


def bearer(role="clerk", name=None):
    return {"HTTP_AUTHORIZATION": f"Bearer {api_key_create(name or f'k-{role}', role)[1]}"}


def upload_url(case):
    return f"/api/v1/cases/{case.number}/attachments"


def test_upload_answers_201_with_the_attachment_and_its_download_url(client, case):
    response = client.post(
        upload_url(case), {"file": samples.upload("usage.csv", samples.CSV)}, **bearer()
    )
    assert response.status_code == 201
    body = response.json()
    assert body["error_code"] == 0
    attachment = CaseAttachment.objects.get()
    assert body["attachment"]["name"] == "usage.csv"
    assert body["attachment"]["content_type"] == "text/csv"
    assert body["attachment"]["url"] == (
        f"http://localhost:8000/api/v1/cases/{case.number}/attachments/{attachment.pk}"
    )
    assert attachment.uploaded_by_label == "API key k-clerk"


def test_download_with_a_key_is_the_file_as_an_attachment(client, case):
    headers = bearer()
    url = client.post(
        upload_url(case), {"file": samples.upload("scan.png", samples.png())}, **headers
    ).json()["attachment"]["url"]
    response = client.get(url.removeprefix("http://localhost:8000"), **headers)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == samples.png()
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith('attachment; filename="scan.png"')


def test_html_named_pdf_is_400_with_its_code_and_field(client, case):
    response = client.post(
        upload_url(case), {"file": samples.upload("x.pdf", samples.HTML)}, **bearer()
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == 3191 and response.json()["field"] == "file"
    assert not CaseAttachment.objects.exists()


def test_over_the_limit_is_413_3190_without_reading_the_body(client, case, settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    body = encode_multipart("BoUnDaRy", {"file": samples.upload("big.pdf", bytes(200_000))})
    response = client.post(
        upload_url(case), body, content_type="multipart/form-data; boundary=BoUnDaRy", **bearer()
    )
    assert response.status_code == 413
    assert response.json()["error_code"] == 3190


def test_missing_file_is_1010(client, case):
    response = client.post(upload_url(case), {}, **bearer())
    assert response.status_code == 400 and response.json()["error_code"] == 1010


def test_unknown_case_is_404_3160(client, db):
    response = client.post(
        "/api/v1/cases/999999/attachments",
        {"file": samples.upload("a.pdf", samples.PDF)},
        **bearer(),
    )
    assert response.status_code == 404 and response.json()["error_code"] == 3160


def test_no_key_is_401_and_get_on_upload_is_405(client, case):
    assert client.post(upload_url(case), {}).status_code == 401
    assert client.get(upload_url(case), **bearer()).status_code == 405


def test_another_cases_attachment_is_404(client, case):
    headers = bearer()
    url = client.post(
        upload_url(case), {"file": samples.upload("a.pdf", samples.PDF)}, **headers
    ).json()["attachment"]["url"]
    other = make_case(AccountFactory(acct_no=6102))
    attachment_id = url.rsplit("/", 1)[1]
    assert url.startswith("http://localhost:8000/api/v1/cases/")
    response = client.get(f"/api/v1/cases/{other.number}/attachments/{attachment_id}", **headers)
    assert response.status_code == 404 and response.json()["error_code"] == 3160


def test_the_case_answer_links_each_attachment_to_the_api_download(client, case):
    headers = bearer()
    url = client.post(
        upload_url(case), {"file": samples.upload("a.pdf", samples.PDF)}, **headers
    ).json()["attachment"]["url"]
    answer = client.get(f"/api/v1/cases/{case.number}", **headers).json()
    assert [row["url"] for row in answer["attachments"]] == [url]


def test_a_case_number_that_is_not_a_number_is_404_3160(client, db):
    response = client.post("/api/v1/cases/abc/attachments", {}, **bearer())
    assert response.status_code == 404 and response.json()["error_code"] == 3160


def test_the_openapi_document_names_both_calls_and_their_codes(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    upload = paths["/api/v1/cases/{number}/attachments"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {3190, 3191} <= set(upload["x-error-codes"])
    assert "201" in upload["responses"] and "413" in upload["responses"]
    assert "get" in paths["/api/v1/cases/{number}/attachments/{attachment_id}"]


def test_multipart_without_a_boundary_is_400_1007(client, case):
    response = client.post(
        upload_url(case), b"file=abc", content_type="multipart/form-data", **bearer()
    )
    assert response.status_code == 400 and response.json()["error_code"] == 1007


def test_the_screen_upload_without_a_boundary_is_a_clean_answer(client, clerk, case):
    client.force_login(clerk)
    response = client.post(
        f"/cases/{case.number}/attachments/new/", b"file=abc", content_type="multipart/form-data"
    )
    assert response.status_code < 500
