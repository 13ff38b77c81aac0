"""The client's address (billing.ops.client_address), which the sign-in lockout and
the API key throttle both count by, and the lockout per username and per address.

Through the shipped nginx the same is checked end to end by tests/proxy_checks.py.
"""

from __future__ import annotations

import logging

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory
from django.urls import reverse

from billing.ops import client_address as module
from billing.ops.client_address import client_address

PASSWORD = "the-right-password-42"


def request(remote_addr: str = "", **headers: str):
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, headers=headers)


def test_axes_asks_this_function_and_locks_by_username_and_by_address_alone():
    assert django_settings.AXES_CLIENT_IP_CALLABLE == "billing.ops.client_address.client_address"
    assert django_settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]


def test_without_the_setting_the_connection_address_is_used_and_headers_are_ignored(settings):
    settings.CLIENT_ADDRESS_HEADER = ""

    spoofed = request("192.0.2.10", **{"X-Real-IP": "203.0.113.1", "X-Forwarded-For": "1.2.3.4"})

    assert client_address(spoofed) == "192.0.2.10"


def test_with_the_setting_the_header_the_proxy_sets_is_the_address(settings):
    settings.CLIENT_ADDRESS_HEADER = "X-Real-IP"

    assert client_address(request("", **{"X-Real-IP": "203.0.113.1"})) == "203.0.113.1"
    assert client_address(request("127.0.0.1", **{"X-Real-IP": "2001:DB8::1"})) == "2001:db8::1"
    # Only the named header: another one a client adds is not looked at.
    assert client_address(request("", **{"X-Forwarded-For": "203.0.113.1"})) is None


def test_a_forwarded_list_counts_by_the_entry_the_trusted_proxy_appended(settings):
    settings.CLIENT_ADDRESS_HEADER = "X-Forwarded-For"

    forwarded = request("", **{"X-Forwarded-For": "10.9.9.9, 198.51.100.7, 203.0.113.5"})

    assert client_address(forwarded) == "203.0.113.5"


def test_a_request_that_did_not_come_through_the_proxy_has_its_connection_address(settings):
    settings.CLIENT_ADDRESS_HEADER = "X-Real-IP"

    assert client_address(request("192.0.2.10")) == "192.0.2.10"


@pytest.mark.parametrize("value", ["", "unknown", "203.0.113.999", "<script>", "1.2.3.4:80"])
def test_an_address_that_is_not_an_ip_address_is_unknown_and_logged_once(
    settings, monkeypatch, caplog, value
):
    settings.CLIENT_ADDRESS_HEADER = "X-Real-IP"
    monkeypatch.setattr(module, "_warned", False)

    with caplog.at_level(logging.WARNING, logger="billing.ops.client_address"):
        first = client_address(request("", **{"X-Real-IP": value}))
        second = client_address(request(""))

    assert (first, second) == (None, None)
    assert [r.getMessage() for r in caplog.records if "CLIENT_ADDRESS_HEADER" in r.getMessage()]
    assert len(caplog.records) == 1


def test_a_header_name_that_is_not_one_stops_start_up():
    import os
    import subprocess
    import sys

    env = {**os.environ, "CLIENT_ADDRESS_HEADER": "X-Real-IP: 1.2.3.4"}
    result = subprocess.run(
        [sys.executable, "-c", "import billing.settings"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=django_settings.BASE_DIR,
    )
    assert result.returncode != 0
    assert "CLIENT_ADDRESS_HEADER" in result.stderr


def test_the_former_name_of_the_setting_is_still_read():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "CLIENT_ADDRESS_HEADER"}
    env["API_CLIENT_ADDRESS_HEADER"] = "X-Real-IP"
    result = subprocess.run(
        [sys.executable, "-c", "import billing.settings as s; print(s.CLIENT_ADDRESS_HEADER)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=django_settings.BASE_DIR,
    )
    assert result.stdout.strip() == "X-Real-IP"


# --- the lockout, by username and by address ------------------------------------------


@pytest.fixture
def users(db):
    from billing.factories import UserFactory

    return [UserFactory(username=f"user{n}", password=PASSWORD) for n in range(8)]


def sign_in(client, username: str, password: str, **headers: str) -> int:
    response = client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR="",
        headers=headers,
    )
    return response.status_code


def test_behind_the_proxy_an_empty_remote_addr_still_locks_a_username(client, users, settings):
    """What production saw: over nginx's unix socket REMOTE_ADDR is empty. The
    username is locked all the same, and the right password then does not sign in."""
    settings.CLIENT_ADDRESS_HEADER = "X-Real-IP"
    answers = [
        sign_in(client, "user0", "guess", **{"X-Real-IP": f"203.0.113.{n}"}) for n in range(5)
    ]

    after = sign_in(client, "user0", PASSWORD, **{"X-Real-IP": "198.51.100.1"})

    assert answers == [200, 200, 200, 200, 429]
    assert after == 429
    assert "_auth_user_id" not in client.session


def test_guesses_spread_over_usernames_from_one_address_lock_the_address(client, users, settings):
    settings.CLIENT_ADDRESS_HEADER = "X-Real-IP"
    here = {"X-Real-IP": "203.0.113.50"}
    answers = [sign_in(client, f"user{n}", "guess", **here) for n in range(1, 6)]

    assert answers == [200, 200, 200, 200, 429]
    assert sign_in(client, "user6", PASSWORD, **here) == 429
    assert sign_in(client, "user6", PASSWORD, **{"X-Real-IP": "203.0.113.51"}) == 302


def test_without_the_setting_a_client_cannot_escape_the_address_lock_with_a_header(
    client, users, settings
):
    settings.CLIENT_ADDRESS_HEADER = ""
    answers = [
        client.post(
            reverse("login"),
            {"username": f"user{n}", "password": "guess"},
            REMOTE_ADDR="192.0.2.77",
            headers={"X-Real-IP": f"203.0.113.{n}", "X-Forwarded-For": f"198.51.100.{n}"},
        ).status_code
        for n in range(1, 6)
    ]

    assert answers == [200, 200, 200, 200, 429]
