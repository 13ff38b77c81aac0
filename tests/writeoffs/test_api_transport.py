"""The API's transport: keys stay out of URLs, chunked bodies get 411, key guessing
is throttled per client address, and the throttle's cache is chosen by setting."""

import io
import json
import os
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client, override_settings

from billing.api.keys import api_key_create
from billing.models import ApiKey
from writeoffs.models import WriteOff

CREATE = "/api/create_writeoff_or_dispute_m"
LIST = "/api/get_acct_writeoff_or_disputes_m"


@pytest.fixture
def clerk_key(db):
    return api_key_create("erp-clerk", "clerk")[1]


def list_body(key, **extra):
    return json.dumps({"client_no": 1000, "auth_key": key, "acct_no": 5001, **extra})


def post(client, body, *, address="127.0.0.1", path=LIST):
    return client.post(path, body, content_type="application/json", REMOTE_ADDR=address)


# --- auth_key never in a URL ---------------------------------------------------


def test_list_by_get_is_405_and_never_reads_a_key_from_the_url(client, clerk_key, account):
    response = client.get(LIST, {"client_no": 1000, "auth_key": clerk_key, "acct_no": 5001})

    body = response.json()
    assert (response.status_code, body["error_code"]) == (405, 1008)
    assert response["Allow"] == "POST"
    assert "body" in body["error_msg"]
    assert ApiKey.objects.get(name="erp-clerk").last_used_at is None


def test_list_by_post_takes_the_key_from_the_body(client, clerk_key, account):
    response = post(client, list_body(clerk_key))

    assert response.status_code == 200, response.json()


def test_no_documented_operation_takes_a_query_or_header_key():
    """The seed's calls take the key in the body; the events feed (a GET) and the sync's
    PUT calls take it only in the Authorization header (a security scheme), never in
    their query or path."""
    from writeoffs.api.openapi import EVENTS_PATH, openapi_document

    for path, operations in openapi_document()["paths"].items():
        if path.startswith("/api/v1/") and path.endswith("/{external_id}"):
            assert set(operations) == {"put"}
            parameters = operations["put"]["parameters"]
            assert {p["name"] for p in parameters} == {"external_id", "Idempotency-Key"}
            assert operations["put"]["security"] == [{"bearerApiKey": []}]
            continue
        if path == EVENTS_PATH:
            assert set(operations) == {"get"}
            parameters = operations["get"]["parameters"]
            assert {p["name"] for p in parameters} == {"after", "limit"}
            assert operations["get"]["security"] == [{"bearerApiKey": []}]
            continue
        if path.startswith("/api/v1/cases"):
            # The case calls: the key in the Authorization header, the number in the path.
            for operation in operations.values():
                assert operation["security"] == [{"bearerApiKey": []}]
                names = {p["name"] for p in operation["parameters"] if p["in"] != "path"}
                assert names <= {"Idempotency-Key"}, path
            continue
        assert set(operations) == {"post"}, path
        parameters = operations["post"].get("parameters", [])
        assert {p["name"] for p in parameters} <= {"Idempotency-Key"}, path


# --- chunked bodies, through the WSGI handler ------------------------------------


def wsgi_post(path: str, body: bytes, headers: dict[str, str]):
    """A request straight through Django's WSGI application, as gunicorn hands it
    over: a chunked request has Transfer-Encoding and no CONTENT_LENGTH."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"] = int(status.split()[0])
        started["headers"] = dict(response_headers)

    # As Django's test client does: the handler would otherwise close the test
    # transaction's connection at the start and end of the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(get_wsgi_application()(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return started["status"], started["headers"], json.loads(content)


@pytest.mark.django_db
def test_chunked_body_is_answered_411_with_1015_not_read_as_empty(clerk_key, invoice):
    payload = json.dumps(
        {
            "client_no": 1000,
            "auth_key": clerk_key,
            "acct_no": 5001,
            "invoice_no": 10023,
            "reason_code": 1,
            "comments": "Sent chunked",
        }
    ).encode()

    status, headers, body = wsgi_post(
        CREATE, payload, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    )

    assert (status, body["error_code"]) == (411, 1015)
    assert "Content-Length" in body["error_msg"]
    assert headers["Content-Type"] == "application/json"
    assert not WriteOff.objects.exists()


@pytest.mark.django_db
def test_the_same_body_with_its_content_length_is_accepted(clerk_key, invoice):
    payload = json.dumps(
        {
            "client_no": 1000,
            "auth_key": clerk_key,
            "acct_no": 5001,
            "invoice_no": 10023,
            "reason_code": 1,
            "comments": "Sent with a length",
        }
    ).encode()

    status, _, body = wsgi_post(
        CREATE,
        payload,
        {"Content-Type": "application/json", "Content-Length": str(len(payload))},
    )

    assert (status, body["error_code"]) == (200, 0), body
    assert WriteOff.objects.count() == 1


# --- the failed-authentication throttle -------------------------------------------


@pytest.fixture
def limit(settings):
    settings.API_AUTH_FAILURE_LIMIT = 5
    settings.API_AUTH_FAILURE_WINDOW = 60
    return 5


def test_wrong_keys_past_the_limit_get_429_with_1014_and_retry_after(client, account, limit):
    answers = [post(client, list_body("x" * 43)).status_code for _ in range(limit + 3)]

    assert answers == [401] * limit + [429] * 3
    response = post(client, list_body("x" * 43))
    assert response.json()["error_code"] == 1014
    assert response["Retry-After"] == "60"


def test_a_throttled_address_is_refused_even_with_a_good_key(client, clerk_key, account, limit):
    for _ in range(limit):
        post(client, list_body("x" * 43))

    response = post(client, list_body(clerk_key))

    assert (response.status_code, response.json()["error_code"]) == (429, 1014)
    # Refused before the key was looked at: a guess from here learns nothing.
    assert ApiKey.objects.get(name="erp-clerk").last_used_at is None


def test_good_keys_from_other_addresses_keep_working_while_one_is_throttled(
    client, clerk_key, account, limit
):
    for _ in range(limit + 2):
        post(client, list_body("x" * 43), address="203.0.113.9")

    response = post(client, list_body(clerk_key), address="198.51.100.7")

    assert response.status_code == 200, response.json()


def test_successful_authentications_do_not_count_toward_the_limit(
    client, clerk_key, account, limit
):
    answers = [post(client, list_body(clerk_key)).status_code for _ in range(limit * 3)]

    assert set(answers) == {200}


def test_wrong_client_no_counts_as_a_failure(client, clerk_key, account, limit):
    for _ in range(limit):
        post(client, json.dumps({"client_no": 999, "auth_key": clerk_key, "acct_no": 5001}))

    assert post(client, list_body(clerk_key)).status_code == 429


def test_the_address_may_try_again_when_the_window_ends(
    client, clerk_key, account, settings, monkeypatch
):
    settings.API_AUTH_FAILURE_LIMIT = 2
    settings.API_AUTH_FAILURE_WINDOW = 1
    for _ in range(2):
        post(client, list_body("x" * 43))
    assert post(client, list_body(clerk_key)).status_code == 429

    # 1.2 s later, by the clock the cache reads its expiry from (no real wait).
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 1.2)

    assert post(client, list_body(clerk_key)).status_code == 200


def test_behind_a_proxy_the_named_header_is_the_client_address(clerk_key, account, limit, settings):
    settings.CLIENT_ADDRESS_HEADER = "X-Real-IP"
    client = Client(REMOTE_ADDR="")  # nginx's unix socket: no peer address
    for _ in range(limit):
        client.post(
            LIST,
            list_body("x" * 43),
            content_type="application/json",
            headers={"X-Real-IP": "203.0.113.9"},
        )

    other = client.post(
        LIST,
        list_body(clerk_key),
        content_type="application/json",
        headers={"X-Real-IP": "10.1.1.1"},
    )
    same = client.post(
        LIST,
        list_body(clerk_key),
        content_type="application/json",
        headers={"X-Real-IP": "203.0.113.9"},
    )

    assert (other.status_code, same.status_code) == (200, 429)


def test_without_the_setting_a_client_header_does_not_escape_the_throttle(
    client, clerk_key, account, limit, settings
):
    """The bypass: a header nobody overwrites is the client's own to rotate."""
    settings.CLIENT_ADDRESS_HEADER = ""
    answers = [
        client.post(
            LIST,
            list_body("x" * 43),
            content_type="application/json",
            REMOTE_ADDR="192.0.2.77",
            headers={"X-Real-IP": f"203.0.113.{n}", "X-Forwarded-For": f"198.51.100.{n}"},
        ).status_code
        for n in range(limit + 1)
    ]

    assert answers == [401] * limit + [429]


def test_the_throttle_and_the_sign_in_lockout_share_one_client_address(
    clerk_key, account, limit, settings, monkeypatch
):
    from billing.api import keys

    seen = []

    def fake(request):
        seen.append(request)
        return "198.51.100.99"

    monkeypatch.setattr(keys, "client_address", fake)
    for _ in range(limit):
        post(Client(), list_body("x" * 43), address="203.0.113.1")

    other = post(Client(), list_body(clerk_key), address="203.0.113.2")

    assert seen and other.status_code == 429
    assert settings.AXES_CLIENT_IP_CALLABLE == "billing.ops.client_address.client_address"


# --- the cache behind it -------------------------------------------------------------


def settings_caches(env: dict[str, str]) -> dict:
    code = "import json, billing.settings as s; print(json.dumps(s.CACHES))"
    clean = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "REDIS_URL")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_default_settings_use_local_memory_and_a_cache_url_selects_redis():
    assert settings_caches({})["default"]["BACKEND"].endswith("LocMemCache")
    redis = settings_caches({"CACHE_URL": "redis://127.0.0.1:6379/3"})["default"]
    assert redis == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/3",
    }
    assert settings_caches({"REDIS_URL": "redis://10.0.0.2:6379/0"})["default"]["LOCATION"] == (
        "redis://10.0.0.2:6379/0"
    )


def redis_running() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.2).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not redis_running(), reason="no Redis on 127.0.0.1:6379")
def test_the_throttle_counts_in_redis_when_configured(client, clerk_key, account, limit):
    redis_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": f"test-throttle-{os.getpid()}",
        }
    }
    with override_settings(CACHES=redis_cache):
        cache.clear()
        try:
            answers = [post(client, list_body("x" * 43)).status_code for _ in range(limit + 1)]
            good = post(client, list_body(clerk_key), address="198.51.100.7").status_code
        finally:
            cache.clear()

    assert answers == [401] * limit + [429]
    assert good == 200


# --- the Bearer calls answer refusals alike ------------------------------------

# Each /api/v1/ call, with the module whose view reads its Bearer key.
BEARER_CALLS = [
    ("get", "/api/v1/events", "feed"),
    ("put", "/api/v1/accounts/cus_1", "sync"),
    ("post", "/api/v1/cases", "cases"),
    ("get", "/api/v1/cases/1", "cases"),
    ("post", "/api/v1/cases/1/notes", "cases"),
    ("post", "/api/v1/cases/1/settle", "cases"),
    ("post", "/api/v1/cases/1/attachments", "case_files"),
    ("get", "/api/v1/cases/1/attachments/1", "case_files"),
]


def bearer_call(method, path, key):
    headers = {"Authorization": f"Bearer {key}"}
    if method == "get":
        return Client().get(path, headers=headers)
    return getattr(Client(), method)(path, "{}", content_type="application/json", headers=headers)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "module"), BEARER_CALLS)
def test_every_bearer_call_answers_a_wrong_key_401_with_the_challenge(method, path, module):
    response = bearer_call(method, path, "not-a-key")

    assert (response.status_code, response.json()["error_code"]) == (401, 1004)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "module"), BEARER_CALLS)
def test_every_bearer_call_answers_an_unexpected_failure_500_without_details(
    method, path, module, clerk_key, monkeypatch, caplog
):
    def broken(request):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(f"writeoffs.api.{module}.bearer_api_key", broken)

    response = bearer_call(method, path, clerk_key)

    assert (response.status_code, response.json()["error_code"]) == (500, 1001)
    assert "secret internal detail" not in response.content.decode()
    assert "WWW-Authenticate" not in response
    assert "secret internal detail" in caplog.text
