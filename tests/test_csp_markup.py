"""Nothing the strict Content-Security-Policy would block: no inline script, no
inline style, no ``style=""`` attribute, no inline event handler, no ``hx-on``.

Checked twice: in every template's source, and in the HTML every page actually
renders (full page and htmx fragment), since a widget or a template tag can add
markup no template file shows.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.test_permissions_matrix import (
    EXPECTED,
    ROLES,
    SU,
    make_ledgers,
    make_users,
    project_routes,
    url_for,
)

TEMPLATES = Path(settings.BASE_DIR) / "templates"

FORBIDDEN = {
    "inline <script>": re.compile(
        r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I
    ),
    "<style> element": re.compile(r"<style\b", re.I),
    # Any style= attribute, however it is preceded ("{% endif %}style=", a quote, a
    # newline) and however quoted: a CSP with style-src 'self' blocks each one.
    'style="" attribute': re.compile(r"(?<![\w-])style\s*=", re.I),
    "inline event handler": re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I),
    "hx-on attribute": re.compile(r"\s(?:data-)?hx-on", re.I),
    "javascript: URL": re.compile(r"\bjavascript:", re.I),
}


def inline_code(html: str) -> list[str]:
    found = []
    for what, pattern in FORBIDDEN.items():
        for match in pattern.finditer(html):
            start = max(match.start() - 40, 0)
            found.append(f"{what}: …{html[start : match.end() + 40]}…")
    return found


@pytest.fixture
def users(db):
    return make_users()


@pytest.fixture
def ledgers(users):
    return make_ledgers(users)


def template_files() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_there_are_templates_to_check():
    assert len(template_files()) >= 5


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_source_has_no_inline_script_or_style(path):
    assert inline_code(path.read_text()) == []


def test_no_template_anywhere_has_a_style_attribute():
    """The project's templates and every app's (templates/ and <app>/templates/)."""
    roots = [TEMPLATES, *Path(settings.BASE_DIR).glob("*/templates")]
    offenders = [
        f"{path}: {found}"
        for root in roots
        for path in sorted(root.rglob("*.html"))
        for found in inline_code(path.read_text())
        if found.startswith('style="" attribute')
    ]
    assert offenders == []


# What our own scripts must not do: the CSP blocks a style attribute or element they
# add (setAttribute("style"), markup with style= or <style>), though not el.style.x.
SCRIPT_STYLE = re.compile(
    r"""setAttribute\(\s*["']style["']|createElement\(\s*["']style["']|<style\b|\sstyle\s*=""",
    re.I,
)


def test_our_scripts_add_no_style_attribute_or_element():
    scripts = sorted((Path(settings.BASE_DIR) / "static/js").rglob("*.js"))
    assert scripts
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in scripts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SCRIPT_STYLE.search(line)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "line",
    [
        'el.setAttribute("style", "color: red")',
        "x.innerHTML = '<p style=\"a\">'",
        "createElement('style')",
    ],
)
def test_the_script_scan_finds_each_way_of_adding_a_style(line):
    assert SCRIPT_STYLE.search(line)


@pytest.mark.django_db
def test_a_refused_csrf_token_gets_the_apps_page_with_no_inline_style(clerk, invoice):
    """Django's own CSRF page has a <style> element the policy blocks."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(clerk)
    url = f"/accounts/5001/invoices/{invoice.invoice_no}/payments/new/"

    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client.post(url, {"amount": "1.00"}, **headers)
        html = response.content.decode()
        assert response.status_code == 403
        assert "This form has expired" in html and "CSRF" in html
        assert inline_code(html) == []
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]


@pytest.mark.django_db
def test_favicon_is_served_and_linked(client, clerk):
    icon = client.get("/favicon.ico")
    body = b"".join(icon.streaming_content) if icon.streaming else icon.content
    assert icon.status_code == 200
    assert icon["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file

    client.force_login(clerk)
    page = client.get("/").content.decode()
    assert '<link rel="icon" href="/favicon.ico"' in page


@pytest.mark.django_db
def test_htmx_is_configured_for_the_csp(client, clerk):
    """htmx would otherwise inject its indicator <style> (blocked by style-src) and
    may evaluate code from attributes; the indicator CSS lives in app.css instead."""
    client.force_login(clerk)
    html = client.get("/").content.decode()
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'", html)
    assert config is not None
    assert '"includeIndicatorStyles":false' in config.group(1)
    assert '"allowEval":false' in config.group(1)
    css = (Path(settings.BASE_DIR) / "static/css/app.css").read_text()
    assert ".htmx-indicator" in css
    assert ".htmx-request .htmx-indicator" in css


def rendered_pages(client: Client, ledger) -> dict[str, str]:
    """Every page a superuser can GET, as a full page and as an htmx fragment."""
    pages = {}
    for route in project_routes():
        expect = EXPECTED[route.name]
        if expect.api or expect.get[ROLES.index(SU)] != 200:
            continue
        if route.name == "healthz":
            continue  # a text/plain probe answered before the middleware (test_operations.py)
        url = url_for(route, ledger)
        for variant, headers in (("page", {}), ("htmx", {"HTTP_HX_REQUEST": "true"})):
            response = client.get(url, **headers)
            assert response.status_code == 200, url
            assert "Content-Security-Policy-Report-Only" not in response.headers, url
            policy = dict(
                (part.split()[0], part.split()[1:])
                for part in response.headers["Content-Security-Policy"].split(";")
                if part.strip()
            )
            assert policy["script-src"] == policy["style-src"] == ["'self'"], url
            if not response["Content-Type"].startswith("text/html"):
                continue  # a CSV export
            pages[f"{variant} {url}"] = response.content.decode()
    return pages


def test_every_page_and_fragment_is_served_under_the_policy_with_no_inline_code(
    client, users, ledgers
):
    own, _ = ledgers
    client.force_login(users[SU])
    pages = rendered_pages(client, own)
    # And the steps only a POST renders: an entry with errors, and the confirm pop-out.
    base = f"/accounts/{own.acct_no}"
    for url, data in (
        (f"{base}/write-offs/new/{own.invoice_no}/", {"amount": "x", "comments": ""}),
        (
            f"{base}/write-offs/new/{own.invoice_no}/",
            {"amount": "1", "reason_code": "0", "comments": "ok", "revenue_impacting": "on"},
        ),
        (f"{base}/disputes/new/{own.invoice_no}/", {"amount": "1", "comments": "ok"}),
        (f"{base}/invoices/{own.invoice_no}/payments/new/", {"amount": "-1"}),
        (
            f"{base}/invoices/{own.invoice_no}/payments/new/",
            {
                "amount": "1",
                "paid_on": timezone.localdate().isoformat(),
                "method": "check",
                "idempotency_key": "csp-review",
            },
        ),
    ):
        for variant, headers in (("page", {}), ("htmx", {"HTTP_HX_REQUEST": "true"})):
            response = client.post(url, data, **headers)
            assert response.status_code == 200, url
            pages[f"POST {variant} {url}"] = response.content.decode()

    problems = {name: inline_code(html) for name, html in pages.items()}
    assert {name: found for name, found in problems.items() if found} == {}
    assert len(pages) >= 20


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/writeoffs/writeoff/",
        "/admin/writeoffs/disputehold/",
        "/admin/billing/invoice/",
        "/admin/billing/payment/",
        "/admin/auth/user/",
    ],
)
def test_admin_pages_render_under_the_policy_with_no_inline_code(client, users, ledgers, url):
    """Admin's JavaScript comes from static files, and its data from JSON script
    tags, which the policy allows; the header is the same as on the app pages."""
    client.force_login(users[SU])
    response = client.get(url)
    assert response.status_code == 200
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert inline_code(response.content.decode()) == []


def test_every_admin_list_add_and_change_page_has_no_inline_code(client, users, ledgers):
    """Admin adds a <style> element to a changelist without actions, among others."""
    from django.contrib import admin
    from django.urls import reverse

    client.force_login(users[SU])
    checked = 0
    for model in admin.site._registry:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        row = model._default_manager.order_by("pk").first()
        urls = [reverse(f"{info}_changelist"), reverse(f"{info}_add")]
        if row is not None:
            urls.append(reverse(f"{info}_change", args=[row.pk]))
            urls.append(reverse(f"{info}_history", args=[row.pk]))
        for url in urls:
            response = client.get(url)
            if response.status_code == 403:  # adding ledger rows is not allowed
                continue
            assert response.status_code == 200, url
            assert inline_code(response.content.decode()) == [], url
            checked += 1
    assert checked >= 20


def test_admin_change_forms_render_under_the_policy(client, users, ledgers):
    own, _ = ledgers
    client.force_login(users[SU])
    for url in (
        f"/admin/writeoffs/writeoff/{own.writeoff_id}/change/",
        f"/admin/writeoffs/disputehold/{own.dispute_hold_id}/change/",
        f"/admin/billing/payment/{own.payment_id}/change/",
        f"/admin/writeoffs/writeoff/{own.writeoff_id}/history/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response.content.decode()) == [], url


@pytest.mark.parametrize(
    ("html", "what"),
    [
        ("<script>alert(1)</script>", "inline <script>"),
        ('<script defer>x()</script><script src="/s.js"></script>', "inline <script>"),
        ("<style>p{}</style>", "<style> element"),
        ('<p style="color:red">', 'style="" attribute'),
        ('<button onclick="go()">', "inline event handler"),
        ('<div hx-on:click="go()">', "hx-on attribute"),
        ('<a href="javascript:go()">', "javascript: URL"),
    ],
)
def test_the_scan_finds_each_kind_of_inline_code(html, what):
    found = inline_code(html)
    assert len(found) == 1 and found[0].startswith(what)


def test_the_scan_allows_static_scripts_and_json_data():
    assert inline_code('<script src="/static/js/app.js" defer></script>') == []
    assert inline_code('<script type="application/json" id="d">{}</script>') == []
    assert inline_code('<div data-on-select="x" class="one">') == []
