"""``/api/v1/cases``: open, read, note and settle dispute cases with Bearer API keys."""

import json

import pytest
from django.test import Client

from billing.api.keys import api_key_create
from billing.models import Invoice
from writeoffs.api.openapi import openapi_document
from writeoffs.models import Case, CaseStatus, DisputeHold

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk_key():
    return api_key_create("billing-clerk", "clerk")[1]


@pytest.fixture
def supervisor_key():
    return api_key_create("billing-supervisor", "supervisor")[1]


def call(method, url, body=None, *, key, headers=None):
    extra = {"Authorization": f"Bearer {key}"} if key else {}
    extra.update(headers or {})
    client = Client()
    if method == "get":
        return client.get(url, headers=extra)
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return getattr(client, method)(url, data, content_type="application/json", headers=extra)


@pytest.fixture
def create_body(account, invoice, second_invoice):
    return {
        "acct_no": account.acct_no,
        "category": "pricing",
        "holds": [
            {"invoice_no": invoice.invoice_no, "amount": "50.00"},
            {"invoice_no": second_invoice.invoice_no},
        ],
        "contact_name": "Jo Buyer",
        "contact_email": "jo@example.com",
        "comments": "Price list was wrong.",
    }


def test_opening_a_case_answers_201_with_the_case(clerk_key, create_body, invoice):
    response = call("post", "/api/v1/cases", create_body, key=clerk_key)
    assert response.status_code == 201, response.json()
    body = response.json()
    case = Case.objects.get()
    assert body["error_code"] == 0
    assert (body["number"], body["status"], body["category"]) == (case.number, "open", "pricing")
    assert [(h["invoice_no"], h["amount"], h["status"]) for h in body["holds"]] == [
        (invoice.invoice_no, "50.00", "open"),
        (10024, "80.00", "open"),
    ]
    assert body["holds"][0]["dispute_no"] == case.holds.order_by("pk").first().pk
    assert [n["text"] for n in body["notes"]] == ["Price list was wrong."]
    assert body["notes"][0]["author"] == "API key billing-clerk"
    assert body["attachments"] == []
    assert case.holds.first().source == "api"


def test_a_refused_hold_names_it_and_writes_nothing(clerk_key, create_body):
    create_body["holds"][1]["amount"] = "80.01"
    response = call("post", "/api/v1/cases", create_body, key=clerk_key)
    assert response.status_code == 400
    body = response.json()
    assert (body["error_code"], body["field"]) == (3119, "holds.1.amount")
    assert body["errors"][0]["field"] == "holds.1.amount"
    assert not Case.objects.exists() and not DisputeHold.objects.exists()


def test_a_malformed_amount_is_1016(clerk_key, create_body):
    create_body["holds"][0]["amount"] = "1,50"
    body = call("post", "/api/v1/cases", create_body, key=clerk_key).json()
    assert (body["error_code"], body["field"]) == (1016, "holds.0.amount")


def test_every_invalid_field_is_listed(clerk_key):
    response = call(
        "post", "/api/v1/cases", {"acct_no": "x", "holds": [], "colour": 1}, key=clerk_key
    )
    assert response.status_code == 400
    fields = {p["field"]: p["error_code"] for p in response.json()["errors"]}
    assert fields == {"acct_no": 1011, "category": 1010, "holds": 1011, "colour": 1011}


def test_an_unknown_account_is_1009(clerk_key, create_body):
    create_body["acct_no"] = 999999
    response = call("post", "/api/v1/cases", create_body, key=clerk_key)
    assert (response.status_code, response.json()["error_code"]) == (404, 1009)


def test_an_unknown_category_is_3163(clerk_key, create_body):
    create_body["category"] = "weather"
    response = call("post", "/api/v1/cases", create_body, key=clerk_key)
    assert (response.status_code, response.json()["field"]) == (400, "category")
    assert response.json()["error_code"] == 3163


def test_no_key_is_401_with_the_bearer_challenge(create_body):
    response = call("post", "/api/v1/cases", create_body, key=None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_form_body_is_refused(clerk_key):
    response = Client().post(
        "/api/v1/cases", {"acct_no": "1"}, headers={"Authorization": f"Bearer {clerk_key}"}
    )
    assert (response.status_code, response.json()["error_code"]) == (400, 1007)


def test_the_wrong_method_is_405_with_allow(clerk_key):
    response = call("get", "/api/v1/cases", key=clerk_key)
    assert (response.status_code, response["Allow"]) == (405, "POST")
    response = call("delete", "/api/v1/cases/1", {}, key=clerk_key)
    assert (response.status_code, response["Allow"]) == (405, "GET, HEAD")


def test_a_retry_with_the_idempotency_key_replays_the_first_answer(clerk_key, create_body):
    first = call(
        "post", "/api/v1/cases", create_body, key=clerk_key, headers={"Idempotency-Key": "k1"}
    )
    again = call(
        "post", "/api/v1/cases", create_body, key=clerk_key, headers={"Idempotency-Key": "k1"}
    )
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Case.objects.count() == 1
    create_body["comments"] = "Something else"
    clash = call(
        "post", "/api/v1/cases", create_body, key=clerk_key, headers={"Idempotency-Key": "k1"}
    )
    assert (clash.status_code, clash.json()["error_code"]) == (409, 1005)


def test_reading_a_case(clerk_key, create_body):
    number = call("post", "/api/v1/cases", create_body, key=clerk_key).json()["number"]
    response = call("get", f"/api/v1/cases/{number}", key=clerk_key)
    assert response.status_code == 200
    assert response.json()["number"] == number
    assert response.json()["contact_email"] == "jo@example.com"


@pytest.mark.parametrize("number", ["999", "abc", "1.5"])
def test_an_unknown_case_is_404_3160(clerk_key, number):
    response = call("get", f"/api/v1/cases/{number}", key=clerk_key)
    assert (response.status_code, response.json()["error_code"]) == (404, 3160)


def test_adding_a_note(clerk_key, create_body):
    number = call("post", "/api/v1/cases", create_body, key=clerk_key).json()["number"]
    response = call(
        "post", f"/api/v1/cases/{number}/notes", {"text": "Called them."}, key=clerk_key
    )
    assert response.status_code == 201
    assert response.json()["note"]["text"] == "Called them."
    assert Case.objects.get().notes.count() == 2


def test_an_empty_note_is_refused(clerk_key, create_body):
    number = call("post", "/api/v1/cases", create_body, key=clerk_key).json()["number"]
    response = call("post", f"/api/v1/cases/{number}/notes", {"text": ""}, key=clerk_key)
    assert (response.status_code, response.json()["field"]) == (400, "text")


def test_a_clerk_key_may_not_settle(clerk_key, create_body):
    body = call("post", "/api/v1/cases", create_body, key=clerk_key).json()
    response = call(
        "post",
        f"/api/v1/cases/{body['number']}/settle",
        {"holds": [{"dispute_no": body["holds"][0]["dispute_no"], "action": "release"}]},
        key=clerk_key,
    )
    assert (response.status_code, response.json()["error_code"]) == (403, 1003)


def test_settling_every_hold_resolves_the_case(clerk_key, supervisor_key, create_body, invoice):
    body = call("post", "/api/v1/cases", create_body, key=clerk_key).json()
    first, second = body["holds"]
    response = call(
        "post",
        f"/api/v1/cases/{body['number']}/settle",
        {
            "holds": [
                {"dispute_no": first["dispute_no"], "action": "convert", "amount": "20.00"},
                {"dispute_no": second["dispute_no"], "action": "release"},
            ],
            "root_cause": "pricing_error",
        },
        key=supervisor_key,
        headers={"Idempotency-Key": "settle-1"},
    )
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert (answer["status"], answer["root_cause"]) == (CaseStatus.RESOLVED, "pricing_error")
    part = [h for h in answer["holds"] if h["status"] == "written_off"]
    assert [(h["amount"], h["writeoff_no"] is not None) for h in part] == [("20.00", True)]
    assert Invoice.objects.get(pk=invoice.pk).written_off_minor == 2000


def test_settling_without_a_root_cause_is_3164(clerk_key, supervisor_key, create_body):
    body = call("post", "/api/v1/cases", create_body, key=clerk_key).json()
    response = call(
        "post",
        f"/api/v1/cases/{body['number']}/settle",
        {"holds": [{"dispute_no": h["dispute_no"], "action": "release"} for h in body["holds"]]},
        key=supervisor_key,
    )
    assert (response.status_code, response.json()["error_code"]) == (400, 3164)


def test_a_hold_of_another_case_is_3167(clerk_key, supervisor_key, create_body):
    body = call("post", "/api/v1/cases", create_body, key=clerk_key).json()
    response = call(
        "post",
        f"/api/v1/cases/{body['number']}/settle",
        {"holds": [{"dispute_no": 987654, "action": "release"}]},
        key=supervisor_key,
    )
    assert response.json()["error_code"] == 3167
    assert response.json()["field"] == "holds.0.dispute_no"


def test_an_unknown_action_is_refused_per_field(supervisor_key, clerk_key, create_body):
    body = call("post", "/api/v1/cases", create_body, key=clerk_key).json()
    response = call(
        "post",
        f"/api/v1/cases/{body['number']}/settle",
        {"holds": [{"dispute_no": 1, "action": "forgive"}]},
        key=supervisor_key,
    )
    assert (response.status_code, response.json()["field"]) == (400, "holds.0.action")


def test_the_openapi_document_describes_the_case_calls():
    paths = openapi_document()["paths"]
    assert set(paths["/api/v1/cases"]) == {"post"}
    assert "201" in paths["/api/v1/cases"]["post"]["responses"]
    assert 3164 in paths["/api/v1/cases/{number}/settle"]["post"]["x-error-codes"]
    assert paths["/api/v1/cases/{number}"]["get"]["security"] == [{"bearerApiKey": []}]
