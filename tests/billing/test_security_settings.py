"""Production settings: the deploy check, cookies, HSTS, framing, CSP, sign-in throttling.

The production cases run in a subprocess with DEBUG=0 and the deployment
variables, because most of these settings are computed from DEBUG at import.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

BASE_DIR = Path(__file__).resolve().parents[2]


def production_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "billing.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "example.com",
        # Production mails through SMTP (check --deploy refuses the console default).
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        **extra,
    }
    # Overrides a developer or the test run may have set, which production does not:
    # the browser tests' conftest sets DJANGO_ALLOW_ASYNC_UNSAFE (async.E001).
    for name in ("SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    return env


def run_in_production(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_deploy_check_passes_with_no_warnings_in_production():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output
    assert "WARNINGS" not in output


def test_deploy_check_fails_on_the_local_development_secret_key():
    """The check is not vacuous: production without its own SECRET_KEY is refused."""
    env = production_env()
    env.pop("SECRET_KEY")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "security.W009" in result.stderr + result.stdout


SETTINGS_SHOWN = [
    "DEBUG",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
]


def test_production_cookies_are_secure_and_http_only_with_hsts_and_no_framing(
    production_login_page,
):
    values = production_login_page["settings"]
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_HTTPONLY"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True


# A sign-in page fetched over HTTPS with production settings, and the settings
# themselves, from one production process. Static files are served from the
# finders here: the manifest needs collectstatic, which is not what this checks.
PRODUCTION_RESPONSE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client, override_settings
from django.test.utils import setup_test_environment
setup_test_environment()
storages = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(STORAGES=storages):
    client = Client(HTTP_HOST="example.com")
    plain = client.get("/login/")
    page = client.get("/login/", secure=True)
print(json.dumps({
    "settings": {name: getattr(settings, name) for name in %r},
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location", ""),
    "status": page.status_code,
    "headers": dict(page.headers),
    "cookies": {name: dict(morsel) for name, morsel in page.cookies.items()},
}))
"""


@pytest.fixture(scope="module")
def production_login_page():
    return json.loads(run_in_production(PRODUCTION_RESPONSE % (SETTINGS_SHOWN,)))


def test_production_redirects_plain_http_to_https(production_login_page):
    assert production_login_page["plain_status"] == 301
    assert production_login_page["plain_location"] == "https://example.com/login/"


def test_production_page_sends_hsts_frame_denial_and_enforced_csp(production_login_page):
    headers = production_login_page["headers"]
    assert production_login_page["status"] == 200
    assert "max-age=31536000" in headers["Strict-Transport-Security"]
    assert "includeSubDomains" in headers["Strict-Transport-Security"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in headers
    assert "Content-Security-Policy-Report-Only" not in headers


def test_production_csrf_cookie_is_secure_http_only_and_same_site(production_login_page):
    csrf = production_login_page["cookies"]["csrftoken"]
    assert csrf["secure"] is True
    assert csrf["httponly"] is True
    assert csrf["samesite"] == "Lax"


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


@pytest.mark.django_db
def test_app_pages_enforce_a_csp_without_unsafe_inline(client, clerk):
    client.force_login(clerk)
    for url in (reverse("login"), reverse("account_list"), "/admin/login/"):
        response = client.get(url)
        assert "Content-Security-Policy-Report-Only" not in response.headers, url
        policy = directives(response.headers["Content-Security-Policy"])
        for directive in ("script-src", "style-src"):
            assert policy[directive] == ["'self'"], (url, policy)
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
        assert policy["img-src"] == ["'self'", "data:"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["object-src"] == ["'none'"]


# --- Sign-in throttling (django-axes) ---------------------------------------


@pytest.fixture
def guessed_user(db):
    from billing.factories import UserFactory

    return UserFactory(username="target", password="the-right-password-42")


def sign_in(client, password: str):
    return client.post(
        reverse("login"),
        {"username": "target", "password": password},
        REMOTE_ADDR="203.0.113.9",
    )


def test_five_failed_sign_ins_lock_out_even_the_right_password(client, guessed_user, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        response = sign_in(client, "guess")
        assert response.status_code == 200  # the form again, with its error
    locked = sign_in(client, "guess")
    assert locked.status_code == 429

    after = sign_in(client, "the-right-password-42")

    assert after.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_page_is_a_readable_page_in_the_app_layout(client, guessed_user):
    for _ in range(5):
        sign_in(client, "guess")

    response = sign_in(client, "guess")

    body = response.content.decode()
    assert response.status_code == 429
    assert "Sign-in temporarily locked" in body
    assert "Too many failed sign-in attempts for <strong>target</strong>" in body
    assert "Try again in 1:00:00" in body
    assert 'href="/login/"' in body
    assert "Content-Security-Policy" in response.headers


def test_a_locked_address_is_locked_for_every_username_and_others_still_sign_in(
    client, guessed_user
):
    """Five failures from one address lock it, whatever usernames they tried; the same
    people sign in from elsewhere (tests/billing/test_client_address.py has the rest)."""
    from billing.factories import UserFactory

    UserFactory(username="colleague", password="colleague-password-42")
    for _ in range(5):
        sign_in(client, "guess")

    def colleague(address):
        return client.post(
            reverse("login"),
            {"username": "colleague", "password": "colleague-password-42"},
            REMOTE_ADDR=address,
        ).status_code

    assert colleague("203.0.113.9") == 429
    assert colleague("198.51.100.20") == 302


def test_a_successful_sign_in_before_the_limit_resets_the_failure_count(client, guessed_user):
    for _ in range(4):
        sign_in(client, "guess")
    assert sign_in(client, "the-right-password-42").status_code == 302
    client.logout()
    for _ in range(4):
        assert sign_in(client, "guess").status_code == 200
    assert sign_in(client, "the-right-password-42").status_code == 302
