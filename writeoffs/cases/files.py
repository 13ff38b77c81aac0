"""What a dispute case accepts as an attachment, checked before anything is stored.

A case takes PDF, PNG, JPEG, EML, CSV and XLSX files up to ``ATTACHMENT_MAX_BYTES``.
The type is read from the content (puremagic's magic numbers, and our own checks for
the two text types and the spreadsheet package), and the name's extension must say
the same: an HTML page or an SVG image named ``.pdf`` would otherwise be served back
to a colleague's browser as whatever it really is. A spreadsheet is a zip file, so
it is opened as one and bounded (entries, declared uncompressed size) without
unpacking it: a zip bomb named ``.xlsx`` is refused here.

The name the user gave is kept only to be shown (escaped) and offered on download;
it is cleaned of path parts and control characters and capped. The file itself is
stored under a generated key (``storage_name``), never under that name.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import default as default_email_policy
from urllib.parse import quote

import puremagic
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from billing.errors import ATTACHMENT_REFUSED, ATTACHMENT_TOO_LARGE, BillingError

# The column that keeps the shown name (CaseAttachment.original_name) is this long.
MAX_NAME_LENGTH = 255
# A spreadsheet package: at most this many entries and, unpacked, this many bytes. A
# real workbook of ten megabytes unpacks to well under this; a bomb declares far more.
XLSX_MAX_ENTRIES = 2000
XLSX_MAX_UNPACKED_BYTES = 200 * 1024 * 1024
# The [Content_Types].xml part is small; read no more of it than this.
XLSX_CONTENT_TYPES_MAX_BYTES = 256 * 1024
XLSX_MAIN_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
# How much of the start puremagic and the markup check read.
HEAD_BYTES = 8192


@dataclass(frozen=True)
class AttachmentType:
    label: str
    content_type: str
    # The extensions a name of this type may end with (lower case, no dot).
    extensions: tuple[str, ...]
    # "magic": the content's magic numbers say it (puremagic); "zip": an OOXML package;
    # "text": UTF-8 text that is not markup.
    check: str


ATTACHMENT_TYPES = (
    AttachmentType("PDF", "application/pdf", ("pdf",), "magic"),
    AttachmentType("PNG", "image/png", ("png",), "magic"),
    AttachmentType("JPEG", "image/jpeg", ("jpg", "jpeg"), "magic"),
    AttachmentType("EML", "message/rfc822", ("eml",), "text"),
    AttachmentType("CSV", "text/csv", ("csv",), "text"),
    AttachmentType(
        "XLSX",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ("xlsx",),
        "zip",
    ),
)
TYPE_BY_EXTENSION = {ext: kind for kind in ATTACHMENT_TYPES for ext in kind.extensions}
ACCEPTED_LABELS = ", ".join(kind.label for kind in ATTACHMENT_TYPES)
# For the file input's accept= attribute: a hint to the picker, never the check.
ACCEPT_ATTRIBUTE = ",".join(f".{ext}" for ext in TYPE_BY_EXTENSION)

# What a browser would sniff as a page (WHATWG MIME sniffing looks for these tags at
# the start), or markup and script anywhere in a CSV file.
MARKUP_START = re.compile(
    rb"^\s*<\s*(?:!doctype|html|head|body|script|svg|iframe|object|embed|style|title|"
    rb"img|table|div|font|br|p|a|b|h1|!--|\?xml)\b",
    re.IGNORECASE,
)
MARKUP_ANYWHERE = re.compile(
    rb"<\s*(?:script|html|svg|iframe|object|embed|body)\b|javascript:", re.IGNORECASE
)
# An e-mail message starts with a header field: a name of printable characters but
# the colon, then a colon (RFC 5322 section 2.2).
HEADER_FIELD = re.compile(rb"^[!-9;-~]+:")
EMAIL_HEADERS = ("from", "to", "subject", "date", "message-id")


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed every check: what the attachment row records."""

    original_name: str
    content_type: str
    size: int
    sha256: str


def max_bytes() -> int:
    return int(settings.ATTACHMENT_MAX_BYTES)


def describe_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def too_large(size: int | None = None) -> BillingError:
    limit = describe_size(max_bytes())
    said = f"The file is {describe_size(size)}; " if size is not None else "The file is too large; "
    return BillingError(
        ATTACHMENT_TOO_LARGE, f"{said}a case accepts files up to {limit}.", field="file"
    )


def refused(message: str) -> BillingError:
    return BillingError(ATTACHMENT_REFUSED, message, field="file")


def clean_file_name(raw: str) -> str:
    """The name to show and offer on download: its last path part only, without
    control or invisible format characters (bidirectional overrides among them),
    without leading dots, at most ``MAX_NAME_LENGTH`` characters with the extension
    kept. Never used as a storage key."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    name = " ".join(name.split()).lstrip(". ")
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_NAME_LENGTH - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_NAME_LENGTH]
    return name or "attachment"


def extension_of(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def content_disposition(name: str) -> str:
    """``attachment`` with the name twice: a plain ASCII fallback, and the exact name
    in RFC 5987 form (``filename*=UTF-8''…``) that every current browser prefers."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;%' else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def storage_name() -> str:
    """The key a file is stored under: random, so it says nothing of the user's name
    and no two uploads meet (the FileField's upload_to adds the folder)."""
    return uuid.uuid4().hex


def check_upload(upload: UploadedFile) -> CheckedFile:
    """Refuse an upload that is too large, of a type a case does not take, or whose
    content is not what its name says; otherwise what the attachment row records.

    The size is checked first, from what the upload handler counted, so an oversized
    file is refused before its content is read.
    """
    size = upload.size or 0
    if size > max_bytes():
        raise too_large(size)
    name = clean_file_name(upload.name or "")
    extension = extension_of(name)
    kind = TYPE_BY_EXTENSION.get(extension)
    if kind is None:
        raise refused(f"A case accepts {ACCEPTED_LABELS} files; “{name}” is not one of them.")
    if size == 0:
        raise refused("The file is empty.")
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    if kind.check == "magic":
        _check_magic(head, kind)
    elif kind.check == "zip":
        _check_spreadsheet(upload)
    else:
        _check_text(upload.read(), kind)
        upload.seek(0)
    return CheckedFile(
        original_name=name, content_type=kind.content_type, size=size, sha256=digest.hexdigest()
    )


def _not_what_it_says(kind: AttachmentType, found: str | None = None) -> BillingError:
    seen = f" It looks like {found}." if found else ""
    return refused(f"The file's content is not {kind.label}, although its name says so.{seen}")


def _check_magic(head: bytes, kind: AttachmentType) -> None:
    # No file name is passed: puremagic would weigh the extension, and the content must
    # decide on its own.
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        matches = []
    if not matches:
        raise _not_what_it_says(kind)
    best = matches[0]
    if best.extension.lstrip(".").lower() not in kind.extensions and (
        best.mime_type != kind.content_type
    ):
        raise _not_what_it_says(kind, best.name or best.mime_type or best.extension)


def _check_spreadsheet(upload: UploadedFile) -> None:
    kind = TYPE_BY_EXTENSION["xlsx"]
    if not zipfile.is_zipfile(upload):
        upload.seek(0)
        raise _not_what_it_says(kind)
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as package:
            entries = package.infolist()
            if len(entries) > XLSX_MAX_ENTRIES:
                raise refused(
                    f"The spreadsheet has {len(entries)} parts; a workbook has at most "
                    f"{XLSX_MAX_ENTRIES}. It may be a zip bomb."
                )
            # The declared sizes are what zipfile would ever unpack (it stops there and
            # fails the CRC check if an entry holds more), so their sum bounds a bomb.
            unpacked = sum(entry.file_size for entry in entries)
            if unpacked > XLSX_MAX_UNPACKED_BYTES:
                raise refused(
                    f"The spreadsheet unpacks to {describe_size(unpacked)}; a workbook "
                    f"unpacks to at most {describe_size(XLSX_MAX_UNPACKED_BYTES)}. "
                    "It may be a zip bomb."
                )
            names = {entry.filename for entry in entries}
            if "[Content_Types].xml" not in names or not any(
                name.startswith("xl/") for name in names
            ):
                raise _not_what_it_says(kind, "a zip file that is not a workbook")
            with package.open("[Content_Types].xml") as part:
                content_types = part.read(XLSX_CONTENT_TYPES_MAX_BYTES + 1)
            if len(content_types) > XLSX_CONTENT_TYPES_MAX_BYTES or (
                XLSX_MAIN_TYPE not in content_types
            ):
                raise _not_what_it_says(kind, "a zip file that is not a workbook")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError):
        raise _not_what_it_says(kind, "a damaged zip file") from None
    finally:
        upload.seek(0)


def _check_text(content: bytes, kind: AttachmentType) -> None:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refused(f"The {kind.label} file is not UTF-8 text; save it as UTF-8.") from None
    if "\x00" in text:
        raise refused(f"The {kind.label} file holds binary data, not text.")
    if MARKUP_START.match(content.removeprefix(b"\xef\xbb\xbf")):
        raise _not_what_it_says(kind, "a web page (HTML or SVG)")
    if kind.label == "CSV":
        if MARKUP_ANYWHERE.search(content):
            raise refused("The CSV file holds web markup or script, which a case does not take.")
        return
    # An e-mail message: header fields first, and at least one of the usual ones.
    if not HEADER_FIELD.match(content.lstrip(b"\xef\xbb\xbf")):
        raise _not_what_it_says(kind, "text without e-mail headers")
    headers = BytesHeaderParser(policy=default_email_policy).parsebytes(content)
    if not any(headers.get(name) for name in EMAIL_HEADERS):
        raise _not_what_it_says(kind, "text without e-mail headers")
