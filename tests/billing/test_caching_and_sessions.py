"""Nothing behind sign-in is kept by a cache, and a session ends after a working day
without use (SESSION_COOKIE_AGE, sliding)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from billing.ops.middleware import NoStoreWhenSignedInMiddleware
from tests.test_permissions_matrix import (
    EXPECTED,
    ROLES,
    SU,
    make_ledgers,
    make_users,
    project_routes,
    url_for,
)

pytestmark = pytest.mark.django_db


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_every_page_fragment_and_export_behind_sign_in_is_no_store(client):
    users = make_users()
    own, _ = make_ledgers(users)
    client.force_login(users[SU])
    seen = []
    for route in project_routes():
        expect = EXPECTED[route.name]
        if expect.api or expect.get[ROLES.index(SU)] != 200:
            continue
        url = url_for(route, own)
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.get(url, **headers)
            assert response.status_code == 200, url
            assert no_store(response), (url, response.get("Cache-Control"))
            seen.append((url, response["Content-Type"].split(";")[0], response.streaming))
    assert len(seen) >= 40
    # The exports were walked too, and every one of them streams (billing/csv_export.py).
    exports = [streaming for _, kind, streaming in seen if kind == "text/csv"]
    assert exports and all(exports)


def test_a_streamed_csv_export_is_no_store(client, supervisor, invoice):
    client.force_login(supervisor)

    response = client.get("/books/journal/export.csv", {"first_entry": 1})

    assert response.status_code == 200 and response.streaming
    assert response["Cache-Control"] == "no-store"


def test_errors_shown_to_a_signed_in_user_are_no_store(client, viewer):
    client.force_login(viewer)

    assert no_store(client.get("/accounts/999999/"))  # 404
    assert no_store(client.get("/books/lock-date/"))  # 403


def test_a_view_that_sets_its_own_cache_control_keeps_it(client, supervisor):
    """Admin pages are never_cache: their header (which has no-store too) stays as set."""
    supervisor.is_staff = supervisor.is_superuser = True
    supervisor.save()
    client.force_login(supervisor)

    response = client.get("/admin/")

    assert response.status_code == 200
    assert "private" in response["Cache-Control"] and no_store(response)


@pytest.mark.parametrize("signed_in", [True, False])
@pytest.mark.parametrize("streaming", [True, False])
def test_the_middleware_marks_signed_in_answers_only(viewer, signed_in, streaming):
    request = RequestFactory().get("/")
    request.user = viewer if signed_in else AnonymousUser()
    answer = StreamingHttpResponse(iter([b"a"])) if streaming else HttpResponse("a")

    response = NoStoreWhenSignedInMiddleware(lambda r: answer)(request)

    assert response.get("Cache-Control") == ("no-store" if signed_in else None)


def test_the_sign_in_page_and_anonymous_answers_are_not_marked_by_it(client):
    response = client.get("/accounts/")  # the redirect to sign-in
    assert response.status_code == 302
    assert "Cache-Control" not in response


# --- sessions --------------------------------------------------------------------------


def test_a_session_lasts_eight_hours_from_the_last_request_by_default():
    assert django_settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    assert django_settings.SESSION_SAVE_EVERY_REQUEST is True


def test_the_session_age_is_a_setting_from_the_environment():
    env = {**os.environ, "SESSION_COOKIE_AGE": "1800"}
    result = subprocess.run(
        [sys.executable, "-c", "import billing.settings as s; print(s.SESSION_COOKIE_AGE)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=django_settings.BASE_DIR,
    )
    assert result.stdout.strip() == "1800"


def stored_expiry(client):
    from django.contrib.sessions.models import Session

    return Session.objects.get(session_key=client.cookies["sessionid"].value).expire_date


def test_every_request_renews_the_cookie_and_the_stored_expiry_slides(client, viewer, monkeypatch):
    """Sliding: eight hours of work never sign anyone out. The cookie is renewed on
    every answer; the stored session, unchanged, is written at most once a minute."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.ops import sessions

    client.force_login(viewer)
    first = client.get("/accounts/")
    before = stored_expiry(client)
    with CaptureQueriesContext(connection) as queries:
        second = client.get("/accounts/")
    assert first.cookies["sessionid"]["max-age"] == 8 * 60 * 60
    assert second.cookies["sessionid"]["max-age"] == 8 * 60 * 60
    assert not [q for q in queries if "UPDATE" in q["sql"] and "django_session" in q["sql"]]
    assert stored_expiry(client) == before

    later = sessions.time.time() + sessions.RENEW_AFTER_SECONDS + 1
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    client.get("/accounts/")

    assert stored_expiry(client) > before


def test_a_session_idle_past_its_age_is_signed_out(client, viewer, settings):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client.force_login(viewer)
    assert client.get("/accounts/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timezone.timedelta(seconds=1))

    response = client.get("/accounts/")

    assert response.status_code == 302 and response["Location"].startswith("/login/")
