"""The OpenAPI document and the server agree, call by call.

For every call, a real request is made for its success and for each error code
the document lists for it, and the answer is validated (``jsonschema``) against
the response schema the document gives for that call and that HTTP status. A
code listed without a scenario here, or a scenario whose code is not listed,
fails too.
"""

import datetime
import json
from collections.abc import Callable

import jsonschema
import pytest
from django.test import Client

from billing.actors import Actor
from billing.api.keys import api_key_create
from billing.errors import ERROR_CODES
from billing.factories import AccountFactory, AccountingCodeFactory, InvoiceFactory
from billing.models import AccountingCode, AccountingPeriodLock, Invoice
from billing.receivables.invoices import invoice_void
from billing.rules import today
from tests.clock import clock_at
from writeoffs.api.fields import API_MAX_PAGE
from writeoffs.api.openapi import CALL_ERROR_CODES, openapi_document
from writeoffs.factories import WriteOffFactory
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle

CREATE = "create_writeoff_or_dispute_m"
LIST = "get_acct_writeoff_or_disputes_m"
SETTLE = "settle_dispute_hold_m"
JOURNAL = "get_journal_lines_m"


class World:
    """Keys, an account with an invoice and an open dispute hold, and a client."""

    def __init__(self, settings):
        self.settings = settings
        self.client = Client()
        self.clerk = api_key_create("schema-clerk", "clerk")[1]
        self.supervisor = api_key_create("schema-supervisor", "supervisor")[1]
        self.account = AccountFactory(acct_no=5001, client_acct_id="CL-5001")
        self.invoice = InvoiceFactory(account=self.account, invoice_no=10023, total_minor=12000)
        self.hold_no = self.call(
            CREATE,
            self.create_input(
                reason_code=9001, do_dispute=1, writeoff_dispute_amount="10", key=self.supervisor
            ),
        ).json()["rec_no"]
        WriteOffFactory(invoice=self.invoice, amount_minor=100)
        WriteOffFactory(invoice=self.invoice, amount_minor=200)
        self.expense_code = AccountingCodeFactory(
            code="6150", name="Dispute losses", kind=AccountingCode.Kind.EXPENSE
        )

    def call(self, name, data, *, headers=None, raw=None, content_type="application/json"):
        body = json.dumps(data) if raw is None else raw
        return self.client.post(
            f"/api/{name}", body, content_type=content_type, headers=headers or {}
        )

    def auth(self, key=None):
        return {"client_no": 1000, "auth_key": key or self.clerk}

    def create_input(self, key=None, **extra):
        return {
            **self.auth(key),
            "acct_no": 5001,
            "invoice_no": 10023,
            "reason_code": 1,
            "comments": "Schema check",
            **extra,
        }

    def list_input(self, **extra):
        return {**self.auth(), "acct_no": 5001, **extra}

    def journal_input(self, key=None, **extra):
        return {
            **self.auth(key or self.supervisor),
            "start_date": "2000-01-01",
            "end_date": "2999-12-31",
            **extra,
        }

    def settle_input(self, key=None, **extra):
        return {
            **self.auth(key or self.supervisor),
            "dispute_no": self.hold_no,
            "settlement_action": 3,
            **extra,
        }


@pytest.fixture
def world(db, settings):
    return World(settings)


def broken_service(world, name, target):
    def run(monkeypatch):
        def broken(*args, **kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(target, broken)
        inputs = {
            CREATE: world.create_input,
            LIST: world.list_input,
            SETTLE: world.settle_input,
            JOURNAL: world.journal_input,
        }
        return world.call(name, inputs[name]())

    return run


def common(world, name, valid: Callable[..., dict]) -> dict[int, Callable]:
    """Scenarios for the codes every call can answer with."""

    def throttled(monkeypatch):
        world.settings.API_AUTH_FAILURE_LIMIT = 0
        return world.call(name, valid())

    return {
        1004: lambda mp: world.call(name, {**valid(), "auth_key": "x" * 43}),
        1006: lambda mp: world.call(name, {**valid(), "pad": "x" * 70000}),
        1007: lambda mp: world.call(name, None, raw="{not json"),
        1010: lambda mp: world.call(name, _without_required(name, valid())),
        1011: lambda mp: world.call(name, {**valid(), **_invalid_value(name)}),
        1014: throttled,
        1015: lambda mp: world.client.generic("POST", f"/api/{name}", "", "application/json"),
        25020: lambda mp: world.call(name, {**valid(), "anything": "bad\x00byte"}),
    }


def _without_required(name, data):
    # The first required input after authentication.
    first = {CREATE: "invoice_no", LIST: "acct_no", SETTLE: "dispute_no", JOURNAL: "start_date"}[
        name
    ]
    return {k: v for k, v in data.items() if k != first}


def _invalid_value(name):
    return {
        CREATE: {"do_dispute": 2},
        LIST: {"page_size": 501},
        SETTLE: {"dispute_no": "ten"},
        JOURNAL: {"page_size": 0},
    }[name]


def scenarios(world) -> dict[str, dict[int | str, Callable]]:
    create, listing, settle = world.create_input, world.list_input, world.settle_input
    journal = world.journal_input

    def clash(name, first, second):
        def run(monkeypatch):
            headers = {"Idempotency-Key": f"clash-{name}"}
            world.call(name, first, headers=headers)
            return world.call(name, second, headers=headers)

        return run

    def draft_invoice(monkeypatch):
        Invoice.objects.filter(pk=world.invoice.pk).update(status=Invoice.Status.DRAFT)
        return world.call(CREATE, create())

    def void_invoice(monkeypatch):
        # A fresh invoice: the world's own carries a hold and write-offs, which a void
        # refuses.
        fresh = InvoiceFactory(account=world.invoice.account, invoice_no=77001)
        invoice_void(invoice_id=fresh.pk, reason="Issued in error", actor=Actor.for_system())
        return world.call(CREATE, create(invoice_no=fresh.invoice_no))

    def bad_dispute_settings(monkeypatch):
        world.settings.DISPUTE_HOLD_OVERRIDE_MAX_DAYS = 1000
        return world.call(CREATE, create(reason_code=9001, do_dispute=1))

    def closed_period(monkeypatch):
        bill_date = world.invoice.bill_date
        AccountingPeriodLock.objects.create(locked_through=bill_date, reason="Month end")
        return world.call(CREATE, create(writeoff_date=bill_date.isoformat()))

    def backdated_into_a_released_hold(monkeypatch):
        # 100.00 of the 120.00 was on hold from 20 to 10 days ago: 50.00 dated 30 days
        # ago fits today, not then.
        days_ago = [today() - datetime.timedelta(days=n) for n in (30, 20, 10)]
        system = Actor.for_system()
        with clock_at(days_ago[1]):
            hold = dispute_hold_create(
                invoice_id=world.invoice.pk, amount="100.00", comments="x", actor=system
            )
        with clock_at(days_ago[2]):
            dispute_hold_settle(dispute_hold_id=hold.pk, action="release", actor=system)
        return world.call(
            CREATE, create(writeoff_dispute_amount="50.00", writeoff_date=str(days_ago[0]))
        )

    def settled_twice(monkeypatch):
        world.call(SETTLE, settle())
        return world.call(SETTLE, settle())

    return {
        CREATE: {
            "ok": lambda mp: world.call(CREATE, create(writeoff_dispute_amount="1.00")),
            "ok dispute": lambda mp: world.call(
                CREATE, create(reason_code=9001, do_dispute=1, writeoff_dispute_amount="1")
            ),
            **common(world, CREATE, create),
            1001: broken_service(world, CREATE, "writeoffs.api.calls.writeoff_create"),
            1005: clash(
                CREATE,
                create(writeoff_dispute_amount="1"),
                create(writeoff_dispute_amount="2"),
            ),
            1009: lambda mp: world.call(CREATE, create(acct_no=999999)),
            1024: lambda mp: world.call(CREATE, create(writeoff_date="2026/01/05")),
            3004: lambda mp: world.call(CREATE, create(invoice_no=424242)),
            3024: lambda mp: world.call(CREATE, create(reason_code=9999)),
            3119: lambda mp: world.call(CREATE, create(writeoff_dispute_amount="999.00")),
            1016: lambda mp: world.call(CREATE, create(writeoff_dispute_amount="1,50")),
            3120: lambda mp: world.call(CREATE, create(writeoff_dispute_amount="0")),
            3121: draft_invoice,
            3128: void_invoice,
            3122: lambda mp: world.call(CREATE, create(writeoff_date="2999-01-01")),
            3127: lambda mp: world.call(CREATE, create(comments="x" * 3001)),
            3130: closed_period,
            3131: backdated_into_a_released_hold,
            29013: bad_dispute_settings,
            29014: lambda mp: world.call(
                CREATE, create(reason_code=9001, do_dispute=1, expire_hold_days=1)
            ),
        },
        LIST: {
            "ok": lambda mp: world.call(LIST, listing()),
            "ok page": lambda mp: world.call(LIST, listing(page_size=1, page=2)),
            "ok writeoffs only": lambda mp: world.call(LIST, listing(dispute_or_writeoff_flag=1)),
            "ok by cursor": lambda mp: world.call(
                LIST,
                listing(
                    page_size=1,
                    cursor=world.call(LIST, listing(page_size=1)).json()["next_cursor"],
                ),
            ),
            **common(world, LIST, listing),
            1001: broken_service(world, LIST, "writeoffs.api.calls.writeoffs_for"),
            1009: lambda mp: world.call(LIST, listing(acct_no=31337)),
            1013: lambda mp: world.call(LIST, listing(page=API_MAX_PAGE + 1)),
            1024: lambda mp: world.call(LIST, listing(start_date="yesterday")),
        },
        SETTLE: {
            "ok release": lambda mp: world.call(SETTLE, settle()),
            "ok convert": lambda mp: world.call(SETTLE, settle(settlement_action=1)),
            "ok convert to an expense code": lambda mp: world.call(
                SETTLE, settle(settlement_action=1, accounting_code=world.expense_code.code)
            ),
            **common(world, SETTLE, settle),
            1001: broken_service(world, SETTLE, "writeoffs.api.calls.dispute_hold_settle"),
            1003: lambda mp: world.call(SETTLE, settle(key=world.clerk)),
            1005: clash(SETTLE, settle(), settle(comments="other")),
            3024: lambda mp: world.call(SETTLE, settle(settlement_action=1, reason_code=9001)),
            3124: settled_twice,
            3125: lambda mp: world.call(SETTLE, settle(dispute_no=987654)),
            3126: lambda mp: world.call(SETTLE, settle(settlement_action=4)),
            3123: lambda mp: world.call(
                SETTLE, settle(settlement_action=1, accounting_code="no-such-code")
            ),
            3127: lambda mp: world.call(SETTLE, settle(comments="x" * 3001)),
        },
        JOURNAL: {
            "ok": lambda mp: world.call(JOURNAL, journal()),
            "ok by cursor": lambda mp: world.call(
                JOURNAL,
                journal(
                    page_size=1,
                    cursor=world.call(JOURNAL, journal(page_size=1)).json()["next_cursor"],
                ),
            ),
            **common(world, JOURNAL, journal),
            1001: broken_service(world, JOURNAL, "writeoffs.api.calls.journal_lines"),
            1003: lambda mp: world.call(JOURNAL, journal(key=world.clerk)),
            1024: lambda mp: world.call(JOURNAL, journal(end_date="31/12/2026")),
        },
    }


def response_validator(name: str, status: int) -> jsonschema.Draft202012Validator:
    document = openapi_document()
    responses = document["paths"][f"/api/{name}"]["post"]["responses"]
    assert str(status) in responses, f"{name} does not document HTTP {status}"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


SUCCESS_CASES = [
    (CREATE, "ok"),
    (CREATE, "ok dispute"),
    (LIST, "ok"),
    (LIST, "ok page"),
    (LIST, "ok writeoffs only"),
    (LIST, "ok by cursor"),
    (SETTLE, "ok release"),
    (SETTLE, "ok convert"),
    (SETTLE, "ok convert to an expense code"),
    (JOURNAL, "ok"),
    (JOURNAL, "ok by cursor"),
]


@pytest.mark.parametrize(("name", "case"), SUCCESS_CASES)
def test_each_calls_success_matches_its_documented_response_schema(world, monkeypatch, name, case):
    response = scenarios(world)[name][case](monkeypatch)

    assert response.status_code == 200, response.json()
    response_validator(name, 200).validate(response.json())


@pytest.mark.parametrize(
    ("name", "code"), [(name, code) for name, codes in CALL_ERROR_CODES.items() for code in codes]
)
def test_each_documented_error_of_each_call_matches_its_response_schema(
    world, monkeypatch, name, code
):
    scenario = scenarios(world)[name].get(code)
    assert scenario is not None, f"no scenario gives {code} for {name}"

    response = scenario(monkeypatch)

    body = response.json()
    assert body["error_code"] == code, body
    assert response.status_code == int(ERROR_CODES[code][1])
    response_validator(name, response.status_code).validate(body)


def test_every_error_scenario_is_documented_for_its_call(world):
    for name, cases in scenarios(world).items():
        codes = {case for case in cases if isinstance(case, int)}
        assert codes == set(CALL_ERROR_CODES[name]), name


def test_an_error_code_another_call_gives_does_not_match_this_calls_schema():
    # 1013 (page too deep) is the list's; create's 400 schema must not accept it.
    with pytest.raises(jsonschema.ValidationError):
        response_validator(CREATE, 400).validate({"error_code": 1013, "error_msg": "deep"})


def test_throttled_answer_documents_and_sends_retry_after(world, monkeypatch):
    response = common(world, LIST, world.list_input)[1014](monkeypatch)

    assert response.status_code == 429
    assert int(response["Retry-After"]) == world.settings.API_AUTH_FAILURE_WINDOW
    documented = openapi_document()["paths"][f"/api/{LIST}"]["post"]["responses"]["429"]
    assert "Retry-After" in documented["headers"]


# --- the request schemas say what the server accepts ------------------------------


def request_validator(name: str) -> jsonschema.Draft202012Validator:
    document = openapi_document()
    body = document["paths"][f"/api/{name}"]["post"]["requestBody"]["content"]
    schema = body["application/json"]["schema"]
    assert body["application/x-www-form-urlencoded"]["schema"] == schema
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def test_list_schema_bounds_page_and_page_size():
    page = openapi_document()["components"]["schemas"]["ListRequest"]["properties"]
    integers = {
        name: next(o for o in page[name]["anyOf"] if o.get("type") == "integer")
        for name in ("page", "page_size")
    }

    assert integers["page"] == {"type": "integer", "minimum": 1, "maximum": API_MAX_PAGE}
    assert integers["page_size"] == {"type": "integer", "minimum": 1, "maximum": 500}


@pytest.mark.parametrize(
    ("change", "valid", "code"),
    [
        ({"page": ""}, True, 0),  # blank means not given, in the document and on the server
        ({"page": None}, True, 0),
        ({"page": 0}, False, 1011),
        ({"page": "-1"}, True, 1011),  # the pattern allows a sign; the server refuses
        ({"page": API_MAX_PAGE + 1}, False, 1013),
        ({"page_size": 501}, False, 1011),
        ({"page": 1.5}, False, 1011),
        ({"page": " 1"}, False, 1011),
        ({"acct_no": None}, False, 1010),  # neither acct_no nor client_acct_id
        ({"acct_no": None, "client_acct_id": "CL-5001"}, True, 0),
    ],
)
def test_list_server_refuses_what_the_schema_forbids(world, change, valid, code):
    data = {k: v for k, v in {**world.list_input(), **change}.items() if v is not None}
    if change.get("acct_no", 0) is None:
        data.pop("acct_no", None)

    response = world.call(LIST, data)

    assert request_validator(LIST).is_valid(data) is valid
    assert response.json()["error_code"] == code, response.json()


def test_create_schema_requires_acct_no_or_client_acct_id(world):
    data = world.create_input()
    del data["acct_no"]

    assert not request_validator(CREATE).is_valid(data)
    assert world.call(CREATE, data).json()["error_code"] == 1010
    assert request_validator(CREATE).is_valid({**data, "client_acct_id": "CL-5001"})


def test_settle_documents_3127_for_long_comments(world):
    assert 3127 in openapi_document()["paths"][f"/api/{SETTLE}"]["post"]["x-error-codes"]
    data = world.settle_input(comments="x" * 3001)

    assert not request_validator(SETTLE).is_valid(data)
    assert world.call(SETTLE, data).json()["error_code"] == 3127


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [("get", f"/api/{LIST}", 1008), ("put", f"/api/{CREATE}", 1008), ("post", "/api/nope", 1012)],
)
def test_answers_outside_the_operations_match_the_error_schema(client, method, path, code):
    document = openapi_document()
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/ApiError", "components": document["components"]}
    )

    body = getattr(client, method)(path).json()

    assert body["error_code"] == code
    validator.validate(body)
