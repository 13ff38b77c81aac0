"""The dispute case pages (measure_cases): one case's page and its tabs, and the list
of every account's cases, each against the bare page floor (``/bare/``: a fixed string
behind the same middleware and session).

The seed opens a case for each of its dispute holds; the measured case is made busier
here, through the services a person's clicks call: ``NOTES`` notes and ``ATTACHMENTS``
small files, so its notes, attachments and timeline tabs have something to show.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count
from django.test import Client
from django.test.utils import override_settings

from billing.actors import Actor
from writeoffs.cases.attachments import attachment_add
from writeoffs.cases.notes import case_add_note
from writeoffs.models import Case

NOTES = 30
ATTACHMENTS = 5
TABS = ("timeline", "notes", "attachments")
# A small valid PDF: the upload checks read its magic bytes.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


class NoCase(Exception):
    """The database has no dispute case to measure."""


def busy_case(actor: Actor, media_root: str) -> Case:
    """The seeded case with the most holds, with ``NOTES`` notes and ``ATTACHMENTS``
    files added (the files stored under ``media_root``, a throwaway directory)."""
    case = (
        Case.objects.annotate(n=Count("holds"))
        .order_by("-n", "number")
        .only("pk", "number")
        .first()
    )
    if case is None:
        raise NoCase("no dispute case in the database")
    for n in range(NOTES):
        case_add_note(
            case_id=case.pk,
            text=f"Benchmark note {n}: called the customer, who disputes the quantity billed.",
            actor=actor,
        )
    with override_settings(MEDIA_ROOT=media_root):
        for n in range(ATTACHMENTS):
            upload = SimpleUploadedFile(f"evidence-{n}.pdf", PDF, content_type="application/pdf")
            attachment_add(case_id=case.pk, upload=upload, actor=actor)
    return case


def variants(client: Client, case: Case) -> dict[str, Callable[[], object]]:
    """The case's page (its first tab, the holds), each other tab as a whole page (a
    deep link), the cases list, and the floor."""
    page = f"/cases/{case.number}/"
    calls: dict[str, Callable[[], object]] = {"case_page": lambda: client.get(page)}
    for tab in TABS:
        calls[f"case_{tab}"] = lambda url=f"{page}?tab={tab}": client.get(url)
    calls["case_list"] = lambda: client.get("/cases/")
    calls["bare"] = lambda: client.get("/bare/")
    return calls


def media_directory() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="billing_bench_media_")
