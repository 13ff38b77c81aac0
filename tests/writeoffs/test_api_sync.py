"""``PUT /api/v1/accounts|invoices|payments/{external_id}``: the import's rules for one
record, Bearer keys, Idempotency-Key, and answers that match the OpenAPI document."""

import datetime
import json

import jsonschema
import pytest
from django.test import Client

from billing.api.keys import api_key_create
from billing.errors import INVALID_INPUT, MALFORMED_AMOUNT, MISSING_INPUT
from billing.factories import AccountFactory, AccountingCodeFactory
from billing.models import Account, Invoice, Payment
from writeoffs.api.openapi import openapi_document

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
BILL = (TODAY - datetime.timedelta(days=20)).isoformat()
DUE = (TODAY + datetime.timedelta(days=10)).isoformat()


@pytest.fixture
def key():
    return api_key_create("billing-system", "clerk")[1]


@pytest.fixture
def revenue(db):
    return AccountingCodeFactory(code="4000", name="Subscription revenue")


def put(path, body, *, key, headers=None, raw=None):
    data = raw if raw is not None else json.dumps(body)
    return Client().put(
        f"/api/v1/{path}",
        data,
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}", **(headers or {})},
    )


def matches_schema(path, response):
    document = openapi_document()
    operation = document["paths"][path]["put"]
    schema = operation["responses"][str(response.status_code)]["content"]["application/json"]
    root = {**schema["schema"], "components": document["components"]}
    jsonschema.validate(response.json(), root)


def test_an_account_put_creates_201_then_answers_200_unchanged_or_updated(key):
    body = {"name": "Acme Corp", "currency": "USD", "email": "ar@acme.example"}
    created = put("accounts/cus_1", body, key=key)
    assert created.status_code == 201, created.json()
    answer = created.json()
    assert (answer["outcome"], answer["external_id"], answer["name"]) == (
        "created",
        "cus_1",
        "Acme Corp",
    )
    assert answer["acct_no"] == Account.objects.get(external_id="cus_1").acct_no
    matches_schema("/api/v1/accounts/{external_id}", created)
    same = put("accounts/cus_1", body, key=key)
    assert (same.status_code, same.json()["outcome"]) == (200, "unchanged")
    renamed = put("accounts/cus_1", {**body, "name": "Acme Inc"}, key=key)
    assert (renamed.status_code, renamed.json()["outcome"]) == (200, "updated")
    assert Account.objects.get(external_id="cus_1").name == "Acme Inc"


def test_an_invoice_put_issues_a_sent_invoice_with_its_lines(key, revenue):
    account = AccountFactory(external_id="cus_1")
    body = {
        "account_external_id": "cus_1",
        "bill_date": BILL,
        "due_date": DUE,
        "lines": [
            {"description": "Subscription", "amount": "100.00"},
            {"description": "Setup", "amount": 20},
        ],
    }
    response = put("invoices/in_1", body, key=key)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["total"] == "120.00" and answer["acct_no"] == account.acct_no
    assert [line["amount"] for line in answer["lines"]] == ["100.00", "20.00"]
    assert Invoice.objects.get(external_id="in_1").status == "sent"
    matches_schema("/api/v1/invoices/{external_id}", response)


def test_a_refused_invoice_names_each_problem_by_field(key, revenue):
    AccountFactory(external_id="cus_1")
    body = {
        "account_external_id": "cus_1",
        "bill_date": "2026/01/01",
        "due_date": DUE,
        "lines": [{"description": "A", "amount": "1,000.00"}, {"description": "B", "amount": "1"}],
    }
    response = put("invoices/in_1", body, key=key)
    assert response.status_code == 400
    answer = response.json()
    fields = {(e["field"], e["error_code"]) for e in answer["errors"]}
    assert ("bill_date", 1024) in fields and ("lines[0].amount", 1016) in fields
    assert not Invoice.objects.exists()
    matches_schema("/api/v1/invoices/{external_id}", response)


def test_a_body_that_does_not_fit_the_schema_is_refused_by_field(key):
    response = put("accounts/cus_1", {"name": 5, "colour": "red"}, key=key)
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"name", "currency", "colour"}


def test_a_payment_put_records_a_payment_and_an_over_balance_one_is_refused(key, invoice):
    invoice.external_id = "in_1"
    invoice.save(update_fields=["external_id"])
    body = {"invoice_external_id": "in_1", "amount": "20.00", "paid_on": TODAY.isoformat()}
    response = put("payments/py_1", body, key=key)
    assert response.status_code == 201, response.json()
    payment = Payment.objects.get(external_id="py_1")
    assert response.json()["payment_no"] == payment.pk
    matches_schema("/api/v1/payments/{external_id}", response)
    over = put("payments/py_2", {**body, "amount": "500.00"}, key=key)
    assert over.status_code == 400 and over.json()["errors"][0]["field"] == "amount"


def test_an_idempotency_key_replays_the_first_answer(key):
    body = {"name": "Acme", "currency": "USD"}
    first = put("accounts/cus_1", body, key=key, headers={"Idempotency-Key": "k1"})
    again = put("accounts/cus_1", body, key=key, headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    clash = put("accounts/cus_1", {**body, "name": "B"}, key=key, headers={"Idempotency-Key": "k1"})
    assert clash.status_code == 409


def test_without_a_bearer_key_the_answer_is_401(db):
    response = Client().put("/api/v1/accounts/cus_1", "{}", content_type="application/json")
    assert response.status_code == 401


def test_a_viewer_cannot_exist_as_a_key_but_a_get_is_405(key):
    response = Client().get("/api/v1/accounts/cus_1", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 405 and response["Allow"] == "PUT"


def test_a_body_over_the_limit_is_413(key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = put("accounts/cus_1", {"name": "x" * 200, "currency": "USD"}, key=key)
    assert (response.status_code, response.json()["error_code"]) == (413, 1006)
    assert "100 bytes" in response.json()["error_msg"]


def taxed_body(*lines: dict) -> dict:
    return {"account_external_id": "cus_1", "bill_date": BILL, "due_date": DUE, "lines": lines}


def test_a_taxed_invoice_put_answers_each_lines_tax_as_stored_and_a_rerun_is_unchanged(
    key, revenue
):
    AccountFactory(external_id="cus_1", currency="USD")
    body = taxed_body(
        {"description": "Seats", "amount": "100.00", "tax_code": "STD20"},
        {"description": "Support", "amount": "50.00", "tax_code": "STD20", "tax_amount": "9.99"},
        {"description": "Setup", "amount": "5.00"},
    )
    response = put("invoices/in_1", body, key=key)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert (answer["total"], answer["tax"]) == ("184.99", "29.99")
    assert [(line["amount"], line["tax_code"], line["tax_amount"]) for line in answer["lines"]] == [
        ("100.00", "STD20", "20.00"),
        ("50.00", "STD20", "9.99"),
        ("5.00", None, "0.00"),
    ]
    matches_schema("/api/v1/invoices/{external_id}", response)
    again = put("invoices/in_1", body, key=key)
    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")


def test_bad_tax_in_a_put_is_refused_by_line_and_field_and_nothing_is_written(key, revenue):
    AccountFactory(external_id="cus_1", currency="USD")
    body = taxed_body(
        {"description": "Seats", "amount": "100.00", "tax_code": "STD20", "tax_amount": "1,00"},
        {"description": "Setup", "amount": "5.00", "tax_code": "VAT99"},
        {"description": "Fee", "amount": "5.00", "tax_amount": "1.00"},
    )
    response = put("invoices/in_1", body, key=key)
    assert response.status_code == 400
    fields = {(e["field"], e["error_code"]) for e in response.json()["errors"]}
    assert {
        ("lines[0].tax_amount", MALFORMED_AMOUNT),
        ("lines[1].tax_code", INVALID_INPUT),
        ("lines[2].tax_code", MISSING_INPUT),
    } <= fields
    assert not Invoice.objects.exists()
    matches_schema("/api/v1/invoices/{external_id}", response)


def test_a_put_that_changes_a_sent_invoices_tax_is_refused(key, revenue):
    AccountFactory(external_id="cus_1", currency="USD")
    line = {"description": "Seats", "amount": "100.00", "tax_code": "STD20"}
    assert put("invoices/in_1", taxed_body(line), key=key).status_code == 201
    changed = put("invoices/in_1", taxed_body({**line, "tax_amount": "19.00"}), key=key)
    assert changed.status_code == 400
    assert changed.json()["field"] == "lines[0].tax_amount"
    assert Invoice.objects.get(external_id="in_1").tax_minor == 2000
