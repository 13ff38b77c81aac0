"""``GET /api/v1/events``: Bearer API keys, the limit's bounds, and a cursor that
returns every event once, in order."""

import pytest
from django.core.cache import cache
from django.test import Client

from billing.api.keys import api_key_create, api_key_revoke
from billing.factories import InvoiceFactory
from billing.models import Event
from billing.receivables.payments import payment_record

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


@pytest.fixture
def key():
    return api_key_create("feed-reader", "clerk")[1]


@pytest.fixture
def payments(invoice, clerk_actor):
    """Five payments of 1.00: five events."""
    for _ in range(5):
        payment_record(invoice_id=invoice.pk, amount="1.00", actor=clerk_actor)
    return Event.objects.count()


def get(params=None, *, key=None, authorization=None, method="get"):
    headers = {}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if authorization is not None:
        headers["Authorization"] = authorization
    return getattr(Client(), method)(URL, params or {}, headers=headers)


def test_the_feed_answers_events_in_order_with_the_next_cursor(key, payments, invoice):
    response = get(key=key)
    assert response.status_code == 200
    body = response.json()
    assert body["error_code"] == 0
    assert [e["id"] for e in body["events"]] == [1, 2, 3, 4, 5]
    assert body["next_cursor"] == "5"
    assert body["has_more"] is False
    first = body["events"][0]
    assert first["type"] == "payment.recorded"
    assert first["invoice"]["invoice_no"] == invoice.invoice_no
    assert first["amounts"] == {"amount": "1.00"}
    assert response["Cache-Control"] == "no-store"


def test_paging_with_the_cursor_returns_every_event_once_in_order(key, payments):
    seen, query = [], {"limit": 2}
    for _ in range(10):
        body = get(query, key=key).json()
        seen += [e["id"] for e in body["events"]]
        query = {"after": body["next_cursor"], "limit": 2}
        if not body["has_more"]:
            break
    assert seen == [1, 2, 3, 4, 5]
    again = get(query, key=key).json()
    assert (again["events"], again["next_cursor"], again["has_more"]) == ([], "5", False)


def test_an_event_written_after_the_last_page_comes_on_the_next_read(
    key, payments, invoice, clerk_actor
):
    cursor = get(key=key).json()["next_cursor"]
    payment_record(invoice_id=invoice.pk, amount="2.00", actor=clerk_actor)
    body = get({"after": cursor}, key=key).json()
    assert [e["id"] for e in body["events"]] == [6]


def test_the_default_limit_is_100_and_1000_is_the_most(key, invoice, clerk_actor):
    big = InvoiceFactory(account=invoice.account, total_minor=1_000_000)
    for _ in range(101):
        payment_record(invoice_id=big.pk, amount="0.01", actor=clerk_actor)
    assert len(get(key=key).json()["events"]) == 100
    assert len(get({"limit": 1000}, key=key).json()["events"]) == 101


@pytest.mark.parametrize("limit", ["", "0", "1001", "-1", "abc", "1.5", "00001500", "99999999999"])
def test_a_limit_out_of_bounds_or_not_a_number_is_400_with_1011(key, limit):
    response = get({"limit": limit}, key=key)
    assert response.status_code == 400
    assert response.json() == {
        "error_code": 1011,
        "error_msg": "limit must be a whole number from 1 to 1000.",
        "field": "limit",
    }


@pytest.mark.parametrize("after", ["", "-1", "abc", "1e3", "9" * 20])
def test_a_cursor_that_is_not_one_we_gave_is_400_with_1011(key, after):
    response = get({"after": after}, key=key)
    assert response.status_code == 400
    assert response.json()["error_code"] == 1011
    assert response.json()["field"] == "after"


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not-a-real-key-000000000000"],
)
def test_without_a_valid_bearer_key_the_feed_is_401_with_1004(payments, authorization):
    response = get(authorization=authorization)
    assert response.status_code == 401
    assert response.json()["error_code"] == 1004
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "events" not in response.json()


def test_a_revoked_key_is_401(key, payments):
    api_key_revoke("feed-reader")
    assert get(key=key).status_code == 401


def test_a_supervisor_key_reads_the_feed_too(payments):
    raw = api_key_create("feed-supervisor", "supervisor")[1]
    assert get(key=raw).status_code == 200


def test_repeated_bad_keys_are_throttled_with_429_and_1014(settings, key):
    settings.API_AUTH_FAILURE_LIMIT = 3
    cache.clear()
    for _ in range(3):
        assert get(authorization="Bearer wrong-key-wrong-key-wrong").status_code == 401
    response = get(key=key)
    assert response.status_code == 429
    assert response.json()["error_code"] == 1014
    assert "Retry-After" in response


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_other_methods_are_405_with_1008_and_allow(key, method):
    response = get(key=key, method=method)
    assert response.status_code == 405
    assert response.json()["error_code"] == 1008
    assert response["Allow"] == "GET, HEAD"


def test_requests_without_any_authorization_header_are_not_counted_as_guesses(settings, key):
    settings.API_AUTH_FAILURE_LIMIT = 3
    cache.clear()
    for _ in range(5):
        assert get().status_code == 401
    assert get(key=key).status_code == 200


# --- the OpenAPI document describes what the feed answers ---------------------------


def feed_validator(status):
    import jsonschema

    from writeoffs.api.openapi import EVENTS_PATH, openapi_document

    document = openapi_document()
    responses = document["paths"][EVENTS_PATH]["get"]["responses"]
    assert str(status) in responses, f"the feed does not document HTTP {status}"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def test_a_page_of_each_kind_of_event_matches_the_documented_schema(key, invoice, supervisor_actor):
    from writeoffs.lifecycle.create import writeoff_create
    from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle

    payment_record(invoice_id=invoice.pk, amount="10.00", actor=supervisor_actor)
    writeoff_create(
        invoice_id=invoice.pk, amount="5.00", reason_code=0, comments="Bad", actor=supervisor_actor
    )
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="7.00", comments="Disputed", actor=supervisor_actor
    )
    dispute_hold_settle(dispute_hold_id=hold.pk, action="convert", actor=supervisor_actor)
    body = get({"limit": 1000}, key=key).json()
    assert [e["object"]["kind"] for e in body["events"]] == [
        "payment",
        "writeoff",
        "dispute",
        # The hold's case of its own (SPEC Part 3): collections paused. (Resumed follows
        # once the conversion commits: the case closes in a transaction of its own.)
        "case",
        "writeoff",
        "dispute",
    ]
    feed_validator(200).validate(body)


@pytest.mark.parametrize(
    ("status", "request_kwargs"),
    [
        (401, {}),
        (400, {"params": {"limit": "0"}}),
        (405, {"method": "post"}),
    ],
)
def test_each_documented_error_matches_its_schema(key, status, request_kwargs):
    kwargs = dict(request_kwargs)
    params = kwargs.pop("params", None)
    if status != 401:
        kwargs["key"] = key
    response = get(params, **kwargs)
    assert response.status_code == status
    feed_validator(status).validate(response.json())
