"""No template syntax reaches the screen.

Django's ``{# … #}`` comment ends at the end of its line: one that runs over several
lines is printed as text (issue 25 found one on the invoice list and one on the
Write-Offs page). Checked twice: in every template's source, and in the HTML every
page renders.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.test.utils import override_settings

from tests.test_csp_markup import rendered_pages
from tests.test_permissions_matrix import SU, make_ledgers, make_users

ROOTS = [Path(settings.BASE_DIR) / "templates", *Path(settings.BASE_DIR).glob("*/templates")]
TEMPLATE_SYNTAX = re.compile(r"\{#|#\}|\{%|%\}|\{\{|\}\}")


def template_files() -> list[Path]:
    return sorted(path for root in ROOTS for path in root.rglob("*.html"))


def multi_line_comments(source: str) -> list[str]:
    """Each line that opens a ``{#`` comment and does not close it on the same line."""
    return [
        f"{number}: {line.strip()}"
        for number, line in enumerate(source.splitlines(), 1)
        if "{#" in line and "#}" not in line[line.index("{#") :]
    ]


def test_the_scan_finds_a_comment_that_runs_over_two_lines():
    assert multi_line_comments("<p>\n{# one\n   two #}\n</p>") == ["2: {# one"]
    assert multi_line_comments("{# one line #}\n{% comment %}\nmany\n{% endcomment %}") == []


@pytest.mark.parametrize(
    "path", template_files(), ids=lambda p: str(p.relative_to(settings.BASE_DIR))
)
def test_no_template_has_a_multi_line_hash_comment(path):
    assert multi_line_comments(path.read_text()) == []


@pytest.fixture(scope="module")
def superuser_pages(django_db_setup, django_db_blocker, tmp_path_factory) -> dict[str, str]:
    """Every page and fragment as the superuser sees it, rendered once for both checks
    of the HTML below (a walk of every page takes seconds); the rows made for it are
    rolled back as soon as it is done."""
    with (
        django_db_blocker.unblock(),
        override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            MEDIA_ROOT=tmp_path_factory.mktemp("media"),
        ),
        transaction.atomic(),
    ):
        users = make_users()
        own, _ = make_ledgers(users)
        client = Client()
        client.force_login(users[SU])
        pages = rendered_pages(client, own)
        transaction.set_rollback(True)
    cache.clear()
    return pages


@pytest.mark.django_db
def test_no_page_or_fragment_shows_template_syntax(superuser_pages):
    pages = superuser_pages
    leaks = {
        name: [html[max(m.start() - 60, 0) : m.end() + 60] for m in TEMPLATE_SYNTAX.finditer(html)]
        for name, html in pages.items()
    }
    assert {name: found for name, found in leaks.items() if found} == {}


ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
TAG = re.compile(r"<script\b.*?</script>|<[^>]+>", re.S)


def visible_dates_in_iso(html: str) -> list[str]:
    """ISO dates in a page's text (not in its attributes, links or data), other than the
    example a date box gives of the ISO format it also takes."""
    text = TAG.sub(" ", html)
    return [
        text[max(m.start() - 40, 0) : m.end() + 10]
        for m in ISO_DATE.finditer(text)
        if not text[: m.start()].endswith(" or ")
    ]


@pytest.mark.django_db
def test_every_page_shows_dates_in_the_one_display_format(superuser_pages):
    """Dates read "Dec 1, 2026" everywhere on screen (issue 25 found ISO dates in the
    timeline and the refusals beside screens in that format)."""
    pages = superuser_pages
    found = {name: visible_dates_in_iso(html) for name, html in pages.items()}
    assert {name: dates for name, dates in found.items() if dates} == {}
