"""writeoffs/cases/files.py: what a case accepts, read from the content, refused
before anything is stored."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.errors import ATTACHMENT_REFUSED, ATTACHMENT_TOO_LARGE, BillingError
from tests.writeoffs.cases import samples
from writeoffs.cases.files import (
    MAX_NAME_LENGTH,
    XLSX_MAX_ENTRIES,
    check_upload,
    clean_file_name,
    storage_name,
)


def refusal(name, content):
    with pytest.raises(BillingError) as caught:
        check_upload(samples.upload(name, content))
    assert caught.value.field == "file"
    return caught.value


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("statement.pdf", samples.PDF, "application/pdf"),
        ("photo.png", samples.png(), "image/png"),
        ("scan.jpg", samples.JPEG, "image/jpeg"),
        ("scan.JPEG", samples.JPEG, "image/jpeg"),
        ("complaint.eml", samples.EML, "message/rfc822"),
        ("usage.csv", samples.CSV, "text/csv"),
        ("ledger.xlsx", samples.xlsx(), samples.XLSX_TYPE),
    ],
)
def test_each_accepted_type_passes_with_the_content_type_read_from_its_content(
    name, content, content_type
):
    checked = check_upload(samples.upload(name, content, content_type="text/html"))
    # The browser's claim (text/html here) is ignored: the stored type is the checked one.
    assert checked.content_type == content_type
    assert checked.size == len(content)
    assert checked.original_name == name
    assert len(checked.sha256) == 64


def test_html_named_pdf_is_refused():
    error = refusal("invoice.pdf", samples.HTML)
    assert error.code == ATTACHMENT_REFUSED
    assert "not PDF" in error.message


def test_svg_named_pdf_is_refused():
    error = refusal("invoice.pdf", samples.SVG)
    assert error.code == ATTACHMENT_REFUSED
    assert "Scalable Vector Graphics" in error.message


def test_pdf_named_png_is_refused_because_name_and_content_disagree():
    assert refusal("photo.png", samples.PDF).code == ATTACHMENT_REFUSED


def test_html_named_csv_or_eml_is_refused_as_a_web_page():
    assert "web page" in refusal("data.csv", samples.HTML).message
    assert "web page" in refusal("mail.eml", b"  \n<svg onload=alert(1)>").message


def test_csv_with_a_script_tag_inside_is_refused():
    error = refusal("data.csv", b"a,b\n1,<script>alert(1)</script>\n")
    assert "script" in error.message


def test_text_that_is_not_utf8_is_refused_with_a_hint():
    assert "UTF-8" in refusal("data.csv", "Caf\xe9,1\n".encode("latin-1")).message


def test_eml_without_mail_headers_is_refused():
    assert "e-mail headers" in refusal("mail.eml", b"just some words\n").message


def test_zip_bomb_named_xlsx_is_refused_without_unpacking_it():
    error = refusal("quarter.xlsx", samples.zip_bomb())
    assert error.code == ATTACHMENT_REFUSED
    assert "zip bomb" in error.message


def test_xlsx_with_too_many_parts_is_refused():
    assert "parts" in refusal("parts.xlsx", samples.many_parts(XLSX_MAX_ENTRIES + 1)).message


def test_zip_that_is_not_a_workbook_named_xlsx_is_refused():
    assert "not a workbook" in refusal("book.xlsx", samples.plain_zip()).message


def test_pdf_named_xlsx_is_refused():
    assert refusal("book.xlsx", samples.PDF).code == ATTACHMENT_REFUSED


def test_unaccepted_extension_is_refused_naming_the_accepted_types():
    error = refusal("run.exe", b"MZ\x90\x00")
    assert "PDF, PNG, JPEG, EML, CSV, XLSX" in error.message


def test_empty_file_is_refused():
    assert "empty" in refusal("empty.pdf", b"").message


def test_over_the_limit_is_refused_before_the_content_is_read(settings):
    settings.ATTACHMENT_MAX_BYTES = 100

    class Unreadable(samples.SimpleUploadedFile):
        def read(self, *args, **kwargs):
            raise AssertionError("the content was read")

        def chunks(self, *args, **kwargs):
            raise AssertionError("the content was read")

    with pytest.raises(BillingError) as caught:
        check_upload(Unreadable("big.pdf", samples.PDF + b" " * 100))
    assert caught.value.code == ATTACHMENT_TOO_LARGE
    assert "up to 100 bytes" in caught.value.message


def test_exactly_the_limit_is_accepted(settings):
    settings.ATTACHMENT_MAX_BYTES = len(samples.PDF)
    assert check_upload(samples.upload("a.pdf", samples.PDF)).size == len(samples.PDF)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\win.ini.pdf", "win.ini.pdf"),
        ("/abs/path/statement.pdf", "statement.pdf"),
        ("state\x00ment\r\n.pdf", "statement.pdf"),
        ("invoice\u202egpj.pdf", "invoicegpj.pdf"),
        ("...hidden.pdf", "hidden.pdf"),
        ("", "attachment"),
        ("../", "attachment"),
    ],
)
def test_file_name_keeps_only_its_last_part_without_control_characters(raw, shown):
    assert clean_file_name(raw) == shown


def test_a_300_character_name_is_capped_and_keeps_its_extension():
    name = clean_file_name("x" * 296 + ".pdf")
    assert len(name) == MAX_NAME_LENGTH
    assert name.endswith("xx.pdf")


def test_path_traversal_name_is_accepted_as_its_last_part_only():
    checked = check_upload(samples.upload("../../../../tmp/evil.pdf", samples.PDF))
    assert checked.original_name == "evil.pdf"


def test_storage_name_is_generated_and_never_the_users_name():
    first, second = storage_name(), storage_name()
    assert first != second
    assert first.isalnum() and len(first) == 32


@given(st.text(max_size=600))
def test_any_name_cleans_to_a_short_single_part_without_control_characters(raw):
    import unicodedata

    name = clean_file_name(raw)
    assert 0 < len(name) <= MAX_NAME_LENGTH
    assert "/" not in name and "\\" not in name
    assert not name.startswith(".")
    assert all(unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp") for ch in name)
