"""The JSON API: seed 001's calls, error codes, keys and idempotency."""

import datetime
import io
import json
import re
import threading

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format

from billing.api.keys import api_key_create, api_key_revoke
from billing.errors import ERROR_CODES
from billing.factories import AccountFactory, InvoiceFactory
from billing.models import AccountingPeriodLock, ApiIdempotencyRecord, ApiKey, Invoice
from billing.receivables.invoices import invoice_void
from writeoffs.api.openapi import CALL_ERROR_CODES, UNKNOWN_CALL_ERROR_CODES
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.models import ApprovalLimit, DisputeHold, Source, WriteOff

CREATE = "/api/create_writeoff_or_dispute_m"
LIST = "/api/get_acct_writeoff_or_disputes_m"
SETTLE = "/api/settle_dispute_hold_m"


@pytest.fixture
def clerk_key(db):
    return api_key_create("erp-clerk", "clerk")[1]


@pytest.fixture
def supervisor_key(db):
    return api_key_create("erp-supervisor", "supervisor")[1]


@pytest.fixture
def api(client):
    """POST/GET an API call; JSON bodies unless ``form=True``."""

    class Api:
        def post(self, path, data, *, form=False, headers=None):
            if form:
                return client.post(path, data, headers=headers or {})
            return client.post(
                path, json.dumps(data), content_type="application/json", headers=headers or {}
            )

        def get(self, path, data):
            return client.get(path, data)

    return Api()


@pytest.fixture
def create_input(clerk_key, invoice):
    return {
        "client_no": 1000,
        "auth_key": clerk_key,
        "acct_no": 5001,
        "invoice_no": 10023,
        "reason_code": 1,
        "comments": "Goodwill credit agreed on the phone",
    }


@pytest.fixture
def ledger(invoice):
    """Snapshot of everything a call could write; ``unchanged()`` compares with now."""

    def snapshot():
        invoice.refresh_from_db()
        return (
            WriteOff.objects.count(),
            DisputeHold.objects.count(),
            ApiIdempotencyRecord.objects.count(),
            invoice.written_off_minor,
            invoice.held_minor,
            invoice.aging_date,
            list(DisputeHold.objects.values_list("status", flat=True)),
        )

    class Ledger:
        def __init__(self):
            self.before = snapshot()

        def unchanged(self):
            return snapshot() == self.before

    return Ledger


def assert_error(response, code, status):
    body = response.json()
    assert (response.status_code, body["error_code"]) == (status, code), body
    assert body["error_msg"]


def open_hold(invoice, api, key, amount="50.00"):
    response = api.post(
        CREATE,
        {
            "client_no": 1000,
            "auth_key": key,
            "acct_no": invoice.account.acct_no,
            "invoice_no": invoice.invoice_no,
            "reason_code": 9001,
            "do_dispute": 1,
            "comments": "Customer disputes the charge",
            "writeoff_dispute_amount": amount,
        },
    )
    assert response.status_code == 200, response.json()
    return response.json()["rec_no"]


# --- success ---------------------------------------------------------------


def test_partial_writeoff_returns_its_number_and_amount(api, create_input, invoice):
    response = api.post(CREATE, {**create_input, "writeoff_dispute_amount": "20.50"})

    assert response.status_code == 200
    body = response.json()
    writeoff = WriteOff.objects.get()
    assert body == {
        "error_code": 0,
        "error_msg": "OK",
        "rec_no": writeoff.pk,
        "invoice_no": 10023,
        "amount": "20.50",
        "currency": "USD",
        "dispute_ind": 0,
        "can_unsettle": False,
        "writeoff_date": timezone.localdate().isoformat(),
        "status": "active",
        # Revenue-impacting (the API's default): it credited the customer by a note.
        "credit_note_no": f"CN-{timezone.localdate().year}-000001",
    }
    invoice.refresh_from_db()
    assert invoice.written_off_minor == 2050
    assert writeoff.source == Source.API
    assert writeoff.api_key.name == "erp-clerk"
    assert writeoff.created_by_label == "API key erp-clerk"


def test_omitting_the_amount_writes_off_the_whole_available_amount(api, create_input, invoice):
    response = api.post(CREATE, create_input)

    assert response.json()["amount"] == "120.00"
    invoice.refresh_from_db()
    assert invoice.balance_due_minor == 0


def test_dispute_hold_returns_expiry_date_and_can_unsettle(api, create_input, invoice):
    response = api.post(
        CREATE,
        {**create_input, "reason_code": 9001, "do_dispute": 1, "writeoff_dispute_amount": "40"},
    )

    body = response.json()
    assert response.status_code == 200, body
    hold = DisputeHold.objects.get()
    assert body["rec_no"] == hold.pk
    assert body["dispute_ind"] == 1
    assert body["can_unsettle"] is True
    assert body["amount"] == "40.00"
    expected_expiry = timezone.localdate() + datetime.timedelta(days=30)
    assert body["dispute_exp_date"] == expected_expiry.isoformat()
    invoice.refresh_from_db()
    assert invoice.held_minor == 4000


def test_dispute_hold_takes_an_expire_hold_days_override(api, create_input):
    response = api.post(
        CREATE, {**create_input, "reason_code": 9001, "do_dispute": 1, "expire_hold_days": 60}
    )

    expected_expiry = timezone.localdate() + datetime.timedelta(days=60)
    assert response.json()["dispute_exp_date"] == expected_expiry.isoformat()
    assert DisputeHold.objects.get().expire_hold_days == 60


def test_form_encoded_body_is_accepted(api, create_input, invoice):
    response = api.post(CREATE, {**create_input, "writeoff_dispute_amount": "12.34"}, form=True)

    assert response.status_code == 200, response.json()
    invoice.refresh_from_db()
    assert invoice.written_off_minor == 1234


def test_json_amounts_are_read_as_exact_decimals(api, create_input, invoice):
    # 0.1 + 0.2 style amounts: as floats these would not be exact.
    body = '{"writeoff_dispute_amount": 100.10, ' + json.dumps(create_input)[1:]
    response = Client().post(CREATE, body, content_type="application/json")

    assert response.json()["amount"] == "100.10"
    invoice.refresh_from_db()
    assert invoice.written_off_minor == 10010


def test_client_acct_id_finds_the_account(api, create_input, invoice):
    data = {**create_input, "client_acct_id": invoice.account.client_acct_id}
    del data["acct_no"]

    assert api.post(CREATE, data).status_code == 200


def test_writeoff_date_in_the_past_is_kept(api, create_input):
    day = timezone.localdate() - datetime.timedelta(days=3)

    response = api.post(CREATE, {**create_input, "writeoff_date": day.isoformat()})

    assert response.json()["writeoff_date"] == day.isoformat()
    assert WriteOff.objects.get().writeoff_date == day


def test_authenticating_records_when_the_key_was_last_used(api, create_input):
    api.post(CREATE, create_input)

    assert ApiKey.objects.get(name="erp-clerk").last_used_at is not None


# --- one test per error code -----------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"auth_key": "x" * 43},
        {"auth_key": ""},
        {"auth_key": None},
        {"client_no": 999},
        {"client_no": "not a number"},
    ],
    ids=["wrong-key", "empty-key", "no-key", "wrong-client-no", "junk-client-no"],
)
def test_1004_wrong_key_or_client_no_is_401(api, create_input, ledger, change):
    state = ledger()

    response = api.post(CREATE, {**create_input, **change})

    assert_error(response, 1004, 401)
    assert state.unchanged()


def test_1004_revoked_key_is_refused(api, create_input, ledger):
    api_key_revoke("erp-clerk")
    state = ledger()

    assert_error(api.post(CREATE, create_input), 1004, 401)
    assert_error(api.post(LIST, create_input), 1004, 401)
    assert state.unchanged()


@pytest.mark.parametrize(
    "change", [{"acct_no": 999999}, {"acct_no": None, "client_acct_id": "NOPE"}]
)
def test_1009_unknown_account_is_404(api, create_input, ledger, change):
    state = ledger()

    assert_error(api.post(CREATE, {**create_input, **change}), 1009, 404)
    assert state.unchanged()


def test_1009_acct_no_and_client_acct_id_of_different_accounts_is_404(api, create_input, ledger):
    other = AccountFactory()
    state = ledger()

    response = api.post(CREATE, {**create_input, "client_acct_id": other.client_acct_id})

    assert_error(response, 1009, 404)
    assert state.unchanged()


@pytest.mark.parametrize("value", ["2026/01/05", "05-01-2026", "2026-02-30", "2026-1-5", 20260105])
def test_1024_writeoff_date_not_yyyy_mm_dd_is_400(api, create_input, ledger, value):
    state = ledger()

    assert_error(api.post(CREATE, {**create_input, "writeoff_date": value}), 1024, 400)
    assert state.unchanged()


def test_1024_list_start_date_not_yyyy_mm_dd_is_400(api, create_input):
    assert_error(api.post(LIST, {**create_input, "start_date": "yesterday"}), 1024, 400)


def test_3004_unknown_invoice_is_404(api, create_input, ledger):
    state = ledger()

    assert_error(api.post(CREATE, {**create_input, "invoice_no": 424242}), 3004, 404)
    assert state.unchanged()


def test_3004_invoice_of_another_account_is_404(api, create_input, ledger):
    other_invoice = InvoiceFactory(account=AccountFactory(), invoice_no=20001)
    state = ledger()

    assert_error(api.post(CREATE, {**create_input, "invoice_no": 20001}), 3004, 404)
    assert state.unchanged()
    other_invoice.refresh_from_db()
    assert other_invoice.written_off_minor == 0


@pytest.mark.parametrize(
    "change",
    [
        {"reason_code": 7},
        {"reason_code": "Good Will"},
        {"reason_code": 9999},
        {"reason_code": 9001},
        {"reason_code": 9001, "do_dispute": 0},
        {"reason_code": 1, "do_dispute": 1},
        {"reason_code": 9999, "do_dispute": 1},
    ],
    ids=[
        "unknown",
        "not-a-number",
        "9999-from-a-caller",
        "9001-without-do_dispute",
        "9001-with-do_dispute-0",
        "writeoff-code-with-do_dispute",
        "9999-as-dispute",
    ],
)
def test_3024_invalid_reason_code_is_400(api, create_input, ledger, change):
    state = ledger()

    assert_error(api.post(CREATE, {**create_input, **change}), 3024, 400)
    assert state.unchanged()


@pytest.mark.parametrize(
    "change",
    [
        {"comments": "bad\x00byte"},
        {"comments": "flip \u202e text"},
        {"comments": "lone \ud800 surrogate"},
        {"acct_no": None, "client_acct_id": "CL-5001\x1b"},
        {"writeoff_date": "2026-01-01\x07"},
        {"unknown_field": "\x0b"},
    ],
    ids=["nul", "bidi-override", "surrogate", "client_acct_id", "date", "any-text-input"],
)
def test_25020_illegal_characters_in_any_text_input_is_400(api, create_input, ledger, change):
    state = ledger()

    assert_error(api.post(CREATE, {**create_input, **change}), 25020, 400)
    assert state.unchanged()


def test_25020_illegal_characters_in_idempotency_key_is_400(api, create_input, ledger):
    state = ledger()

    response = api.post(CREATE, create_input, headers={"Idempotency-Key": "a\x7fb"})

    assert_error(response, 25020, 400)
    assert state.unchanged()


def test_29013_invalid_deployment_dispute_settings_refuse_disputes(
    api, create_input, ledger, settings
):
    settings.DISPUTE_HOLD_OVERRIDE_MAX_DAYS = 1000
    state = ledger()

    response = api.post(CREATE, {**create_input, "reason_code": 9001, "do_dispute": 1})

    assert_error(response, 29013, 400)
    assert state.unchanged()


@pytest.mark.parametrize("days", [1, 91, -5, "ten", "3.5"])
def test_29014_expire_hold_days_out_of_range_is_400(api, create_input, ledger, days):
    state = ledger()

    response = api.post(
        CREATE, {**create_input, "reason_code": 9001, "do_dispute": 1, "expire_hold_days": days}
    )

    assert_error(response, 29014, 400)
    assert state.unchanged()


def test_3119_amount_above_available_is_400_and_names_the_balance(
    api, create_input, ledger, supervisor_key, invoice
):
    open_hold(invoice, api, supervisor_key, amount="100.00")
    state = ledger()

    response = api.post(CREATE, {**create_input, "writeoff_dispute_amount": "20.01"})

    assert_error(response, 3119, 400)
    assert "120.00" in response.json()["error_msg"]
    assert state.unchanged()


@pytest.mark.parametrize("amount", ["0", "0.00", 0, "1000000000000"])
def test_3120_amount_not_above_zero_or_too_large_is_400(api, create_input, ledger, amount):
    state = ledger()

    response = api.post(CREATE, {**create_input, "writeoff_dispute_amount": amount})

    assert_error(response, 3120, 400)
    assert state.unchanged()


@pytest.mark.parametrize(
    "amount",
    ["abc", "-5", "1.234", "12.340", "1e2", "0x10", "\u0661", True, [1], {"a": 1}],
)
def test_1016_malformed_amount_is_400(api, create_input, ledger, amount):
    state = ledger()

    response = api.post(CREATE, {**create_input, "writeoff_dispute_amount": amount})

    assert_error(response, 1016, 400)
    assert state.unchanged()


@pytest.mark.parametrize("amount", ["1,50", "1.000,00", "2,5", "1,000", "1,000.00"])
@pytest.mark.parametrize("form", [True, False], ids=["form", "json"])
@pytest.mark.parametrize("do_dispute", [0, 1])
def test_1016_a_decimal_comma_or_grouping_is_refused_and_nothing_is_written(
    api, create_input, ledger, amount, form, do_dispute
):
    """1,50 was written off as 150.00: the API takes only plain 1234.56, never guesses."""
    state = ledger()
    data = {**create_input, "writeoff_dispute_amount": amount, "do_dispute": do_dispute}
    if do_dispute:
        data["reason_code"] = 9001

    response = api.post(CREATE, data, form=form)

    assert_error(response, 1016, 400)
    assert "Use a point for decimals and no thousands separators" in response.json()["error_msg"]
    assert state.unchanged()


def test_1016_a_json_number_with_an_exponent_is_refused(client, create_input, ledger):
    state = ledger()
    body = json.dumps(create_input)[:-1] + ', "writeoff_dispute_amount": 1E+1}'

    response = client.post(CREATE, body, content_type="application/json")

    assert_error(response, 1016, 400)
    assert state.unchanged()


def test_1016_a_thousand_yen_with_a_point_is_not_one_yen(api, clerk_key, db):
    InvoiceFactory(
        account=AccountFactory(acct_no=5008, currency="JPY"), invoice_no=10080, total_minor=5000
    )
    data = {
        "client_no": 1000,
        "auth_key": clerk_key,
        "acct_no": 5008,
        "invoice_no": 10080,
        "reason_code": 1,
        "comments": "Goodwill",
    }

    refused = api.post(CREATE, {**data, "writeoff_dispute_amount": "1.000"})
    accepted = api.post(CREATE, {**data, "writeoff_dispute_amount": "1000"})

    assert_error(refused, 1016, 400)
    assert "JPY amounts have no decimal places" in refused.json()["error_msg"]
    assert accepted.json()["amount"] == "1000"
    assert WriteOff.objects.get().amount_minor == 1000


def test_3121_draft_invoice_cannot_be_written_off(api, create_input, ledger, invoice):
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.DRAFT)
    state = ledger()

    assert_error(api.post(CREATE, create_input), 3121, 400)
    assert state.unchanged()


@pytest.mark.parametrize("do_dispute", [0, 1])
def test_3128_void_invoice_cannot_be_written_off_or_disputed(
    api, create_input, ledger, invoice, supervisor_actor, do_dispute
):
    invoice_void(invoice_id=invoice.pk, reason="Issued in error", actor=supervisor_actor)
    state = ledger()
    call = {**create_input, "do_dispute": do_dispute}
    if do_dispute:
        call["reason_code"] = 9001

    response = api.post(CREATE, call)

    assert_error(response, 3128, 400)
    assert "void" in response.json()["error_msg"]
    assert state.unchanged()


def test_3122_writeoff_date_in_the_future_is_400(api, create_input, ledger):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    state = ledger()

    response = api.post(CREATE, {**create_input, "writeoff_date": tomorrow.isoformat()})

    assert_error(response, 3122, 400)
    assert state.unchanged()


def test_3130_writeoff_date_in_a_closed_period_is_400_naming_the_lock_date(
    api, create_input, ledger
):
    locked = timezone.localdate() - datetime.timedelta(days=5)
    AccountingPeriodLock.objects.create(locked_through=locked, reason="Closed")
    state = ledger()

    response = api.post(CREATE, {**create_input, "writeoff_date": locked.isoformat()})

    assert_error(response, 3130, 400)
    assert date_format(locked) in response.json()["error_msg"]
    assert state.unchanged()


def test_3127_blank_comments_are_400(api, create_input, ledger):
    state = ledger()

    assert_error(api.post(CREATE, {**create_input, "comments": "   "}), 3127, 400)
    assert state.unchanged()


@pytest.mark.parametrize("missing", ["comments", "reason_code", "invoice_no", "acct_no"])
def test_1010_missing_required_input_is_400(api, create_input, ledger, missing):
    state = ledger()
    data = {**create_input}
    del data[missing]

    response = api.post(CREATE, data)

    assert_error(response, 1010, 400)
    if missing != "acct_no":  # which may be given as client_acct_id instead: it says so
        assert response.json()["error_msg"] == "This field is required."
        assert response.json()["field"] == missing
    assert state.unchanged()


@pytest.mark.parametrize(
    "change",
    [{"do_dispute": 2}, {"do_dispute": "yes"}, {"invoice_no": "ten"}, {"comments": ["a"]}],
)
def test_1011_invalid_input_value_is_400(api, create_input, ledger, change):
    state = ledger()

    assert_error(api.post(CREATE, {**create_input, **change}), 1011, 400)
    assert state.unchanged()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ('{"amount": NaN}', "application/json"),
        ("[" * 5000, "application/json"),
        (b"\xff\xfe", "application/json"),
        ("client_no=1000", "text/plain"),
    ],
    ids=["syntax", "not-an-object", "nan", "deep-nesting", "not-utf8", "unknown-type"],
)
def test_1007_malformed_body_is_400(client, ledger, invoice, body, content_type):
    state = ledger()

    response = client.post(CREATE, body, content_type=content_type)

    assert_error(response, 1007, 400)
    assert state.unchanged()


def test_1006_oversized_body_is_413(client, create_input, ledger, settings):
    state = ledger()
    body = json.dumps({**create_input, "comments": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})

    response = client.post(CREATE, body, content_type="application/json")

    assert_error(response, 1006, 413)
    assert state.unchanged()


def test_1006_oversized_form_body_is_413(client, create_input, ledger, settings):
    state = ledger()
    data = {**create_input, "comments": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE}

    assert_error(client.post(CREATE, data), 1006, 413)
    assert state.unchanged()


@pytest.mark.parametrize(
    ("method", "path"), [("get", CREATE), ("put", CREATE), ("get", SETTLE), ("delete", LIST)]
)
def test_1008_wrong_method_is_405_in_json(client, method, path):
    response = getattr(client, method)(path)

    assert_error(response, 1008, 405)
    assert "Allow" in response.headers


def test_1012_unknown_api_call_is_404_in_json(client):
    assert_error(client.post("/api/delete_everything_m"), 1012, 404)


def test_1001_unexpected_failure_is_500_without_traceback(
    api, create_input, ledger, monkeypatch, caplog
):
    def broken(**kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("writeoffs.api.calls.writeoff_create", broken)
    state = ledger()

    response = api.post(CREATE, create_input)

    assert_error(response, 1001, 500)
    assert "secret internal detail" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert "secret internal detail" in caplog.text
    assert state.unchanged()


def test_1003_clerk_key_may_not_settle_a_dispute(api, clerk_key, supervisor_key, invoice, ledger):
    hold_no = open_hold(invoice, api, supervisor_key)
    state = ledger()

    response = api.post(
        SETTLE,
        {"client_no": 1000, "auth_key": clerk_key, "dispute_no": hold_no, "settlement_action": 3},
    )

    assert_error(response, 1003, 403)
    assert state.unchanged()


# --- settle ----------------------------------------------------------------


def settle_input(key, hold_no, action, **extra):
    return {
        "client_no": 1000,
        "auth_key": key,
        "dispute_no": hold_no,
        "settlement_action": action,
        **extra,
    }


def test_settle_1_converts_the_hold_to_a_bad_debt_writeoff_by_default(api, supervisor_key, invoice):
    hold_no = open_hold(invoice, api, supervisor_key)

    response = api.post(SETTLE, settle_input(supervisor_key, hold_no, 1, comments="Lost case"))

    body = response.json()
    assert response.status_code == 200, body
    writeoff = WriteOff.objects.get()
    assert body["rec_no"] == writeoff.pk
    assert body["status"] == "written_off"
    assert body["can_unsettle"] is False
    assert (writeoff.reason_code, writeoff.amount_minor, writeoff.source) == (0, 5000, "api")
    invoice.refresh_from_db()
    assert (invoice.held_minor, invoice.written_off_minor) == (0, 5000)


def test_settle_1_takes_a_reason_code(api, supervisor_key, invoice):
    hold_no = open_hold(invoice, api, supervisor_key)

    api.post(SETTLE, settle_input(supervisor_key, hold_no, 1, reason_code=3))

    assert WriteOff.objects.get().reason_code == 3


def test_settle_2_releases_and_reages_the_invoice_to_today(api, supervisor_key, invoice):
    hold_no = open_hold(invoice, api, supervisor_key)

    response = api.post(SETTLE, settle_input(supervisor_key, hold_no, 2), form=True)

    assert response.json()["status"] == "released_reaged"
    invoice.refresh_from_db()
    assert (invoice.held_minor, invoice.aging_date) == (0, timezone.localdate())


def test_settle_3_releases_without_reaging(api, supervisor_key, invoice):
    hold_no = open_hold(invoice, api, supervisor_key)
    aging_date = Invoice.objects.get(pk=invoice.pk).aging_date

    response = api.post(SETTLE, settle_input(supervisor_key, hold_no, 3))

    assert response.json()["status"] == "released"
    invoice.refresh_from_db()
    assert (invoice.held_minor, invoice.aging_date) == (0, aging_date)
    assert not WriteOff.objects.exists()


def test_3124_settling_a_settled_dispute_is_400(api, supervisor_key, invoice, ledger):
    hold_no = open_hold(invoice, api, supervisor_key)
    api.post(SETTLE, settle_input(supervisor_key, hold_no, 3))
    state = ledger()

    assert_error(api.post(SETTLE, settle_input(supervisor_key, hold_no, 1)), 3124, 400)
    assert state.unchanged()


def test_3125_unknown_dispute_is_404(api, supervisor_key, ledger):
    state = ledger()

    assert_error(api.post(SETTLE, settle_input(supervisor_key, 987654, 3)), 3125, 404)
    assert state.unchanged()


@pytest.mark.parametrize("action", [0, 4, "convert", None])
def test_3126_unknown_settlement_action_is_400(api, supervisor_key, invoice, ledger, action):
    hold_no = open_hold(invoice, api, supervisor_key)
    state = ledger()

    response = api.post(SETTLE, settle_input(supervisor_key, hold_no, action))

    assert_error(response, 1010 if action is None else 3126, 400)
    assert state.unchanged()


def test_3024_settle_convert_with_9999_is_refused(api, supervisor_key, invoice, ledger):
    hold_no = open_hold(invoice, api, supervisor_key)
    state = ledger()

    response = api.post(SETTLE, settle_input(supervisor_key, hold_no, 1, reason_code=9999))

    assert_error(response, 3024, 400)
    assert state.unchanged()


# --- list ------------------------------------------------------------------


@pytest.fixture
def entries(api, create_input, supervisor_key, invoice):
    api.post(CREATE, {**create_input, "writeoff_dispute_amount": "10"})
    api.post(CREATE, {**create_input, "writeoff_dispute_amount": "11"})
    hold_no = open_hold(invoice, api, supervisor_key, amount="12")
    other = InvoiceFactory(account=AccountFactory(), invoice_no=30001)
    open_hold(other, api, supervisor_key, amount="13")
    return hold_no


def list_input(key, **extra):
    return {"client_no": 1000, "auth_key": key, "acct_no": 5001, **extra}


def test_list_returns_the_accounts_writeoffs_and_disputes_newest_first(api, clerk_key, entries):
    body = api.post(LIST, list_input(clerk_key)).json()

    assert body["error_code"] == 0
    assert [w["amount"] for w in body["writeoffs"]] == ["11.00", "10.00"]
    assert [d["amount"] for d in body["disputes"]] == ["12.00"]
    assert (body["writeoff_count"], body["dispute_count"]) == (2, 1)
    dispute = body["disputes"][0]
    assert dispute["rec_no"] == entries
    assert dispute["can_unsettle"] is True
    assert dispute["dispute_ind"] == 1
    assert dispute["dispute_exp_date"]
    assert body["writeoffs"][0]["reason_code"] == 1
    assert body["writeoffs"][0]["created_date"] == timezone.localdate().isoformat()


@pytest.mark.parametrize(("flag", "lists"), [(1, {"writeoffs"}), (2, {"disputes"})])
def test_list_flag_picks_writeoffs_or_disputes(api, clerk_key, entries, flag, lists):
    body = api.post(LIST, list_input(clerk_key, dispute_or_writeoff_flag=flag)).json()

    assert {"writeoffs", "disputes"} & body.keys() == lists


def test_list_filters_on_the_created_date(api, clerk_key, entries):
    WriteOff.objects.filter(amount_minor=1000).update(
        created_at=timezone.now() - datetime.timedelta(days=10)
    )
    today = timezone.localdate()
    window = {"start_date": (today - datetime.timedelta(days=11)).isoformat()}
    window["end_date"] = (today - datetime.timedelta(days=9)).isoformat()

    body = api.post(LIST, list_input(clerk_key, **window)).json()

    assert [w["amount"] for w in body["writeoffs"]] == ["10.00"]
    assert body["disputes"] == []


def test_list_is_paginated(api, clerk_key, entries):
    body = api.post(LIST, list_input(clerk_key, page=2, page_size=1, dispute_or_writeoff_flag=1))

    assert [w["amount"] for w in body.json()["writeoffs"]] == ["10.00"]


def test_list_accepts_post_to_keep_the_key_out_of_urls(api, clerk_key, entries):
    assert api.post(LIST, list_input(clerk_key)).json()["writeoff_count"] == 2


@pytest.mark.parametrize("change", [{"dispute_or_writeoff_flag": 3}, {"page_size": 501}])
def test_list_1011_invalid_flag_or_page_size(api, clerk_key, account, change):
    assert_error(api.post(LIST, list_input(clerk_key, **change)), 1011, 400)


def test_list_1009_unknown_account(api, clerk_key):
    assert_error(api.post(LIST, list_input(clerk_key, acct_no=31337)), 1009, 404)


# --- idempotency -----------------------------------------------------------


def test_idempotent_replay_returns_the_first_response_and_creates_nothing(
    api, create_input, invoice
):
    headers = {"Idempotency-Key": "order-77"}
    first = api.post(CREATE, create_input | {"writeoff_dispute_amount": "5"}, headers=headers)

    replay = api.post(CREATE, create_input | {"writeoff_dispute_amount": "5"}, headers=headers)

    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert WriteOff.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.written_off_minor == 500


def test_idempotent_replay_as_a_form_matches_the_json_request(api, create_input):
    headers = {"Idempotency-Key": "order-78"}
    first = api.post(CREATE, create_input, headers=headers)

    replay = api.post(CREATE, create_input, form=True, headers=headers)

    assert replay.json() == first.json()
    assert WriteOff.objects.count() == 1


def test_idempotency_key_with_a_different_body_is_409(api, create_input, ledger):
    headers = {"Idempotency-Key": "order-79"}
    api.post(CREATE, create_input | {"writeoff_dispute_amount": "5"}, headers=headers)
    state = ledger()

    response = api.post(CREATE, create_input | {"writeoff_dispute_amount": "6"}, headers=headers)

    assert_error(response, 1005, 409)
    assert state.unchanged()


def test_idempotency_keys_are_kept_per_api_key(api, create_input, supervisor_key):
    headers = {"Idempotency-Key": "shared-name"}
    api.post(CREATE, create_input | {"writeoff_dispute_amount": "5"}, headers=headers)

    other = api.post(
        CREATE,
        create_input | {"auth_key": supervisor_key, "writeoff_dispute_amount": "6"},
        headers=headers,
    )

    assert other.status_code == 200
    assert WriteOff.objects.count() == 2


def test_replay_after_24_hours_still_creates_nothing(api, create_input):
    headers = {"Idempotency-Key": "order-80"}
    first = api.post(CREATE, create_input, headers=headers)
    ApiIdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))

    replay = api.post(CREATE, create_input, headers=headers)

    # The stored answer has expired, but the service's own key still finds the entry.
    assert replay.json()["rec_no"] == first.json()["rec_no"]
    assert WriteOff.objects.count() == 1
    assert ApiIdempotencyRecord.objects.get().created_at > timezone.now() - datetime.timedelta(
        hours=1
    )


def test_idempotency_key_longer_than_100_characters_is_400(api, create_input, ledger):
    state = ledger()

    response = api.post(CREATE, create_input, headers={"Idempotency-Key": "k" * 101})

    assert_error(response, 1011, 400)
    assert state.unchanged()


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_with_one_idempotency_key_create_one_row():
    _, key = api_key_create("racer", "clerk")
    invoice = InvoiceFactory(account=AccountFactory(acct_no=7001), invoice_no=70001)
    data = json.dumps(
        {
            "client_no": 1000,
            "auth_key": key,
            "acct_no": 7001,
            "invoice_no": 70001,
            "reason_code": 2,
            "comments": "Retry storm",
            "writeoff_dispute_amount": "7.00",
        }
    )
    barrier = threading.Barrier(6)
    answers = []

    def send():
        try:
            barrier.wait()
            response = Client().post(
                CREATE, data, content_type="application/json", headers={"Idempotency-Key": "storm"}
            )
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert WriteOff.objects.count() == 1
    assert {(status, body["rec_no"]) for status, body in answers} == {
        (200, WriteOff.objects.get().pk)
    }
    invoice.refresh_from_db()
    assert invoice.written_off_minor == 700


# --- keys, CSRF, OpenAPI ---------------------------------------------------


def test_create_api_key_prints_the_key_once_on_its_last_line_and_stores_only_a_hash(db):
    out = io.StringIO()

    call_command("create_api_key", "billing-sync", "--role", "supervisor", stdout=out)

    raw_key = out.getvalue().strip().splitlines()[-1]
    api_key = ApiKey.objects.get(name="billing-sync")
    assert api_key.role == "supervisor"
    assert len(raw_key) >= 40
    assert raw_key not in api_key.key_hash
    assert ApiKey.objects.filter(key_hash__contains=raw_key).count() == 0


def test_revoke_api_key_command_revokes_the_key(db, api, create_input):
    call_command("revoke_api_key", "erp-clerk", stdout=io.StringIO())

    assert ApiKey.objects.get(name="erp-clerk").revoked
    assert_error(api.post(CREATE, create_input), 1004, 401)


def test_revoking_a_revoked_key_again_says_so_and_exits_0(clerk_key):
    call_command("revoke_api_key", "erp-clerk", stdout=io.StringIO())
    out = io.StringIO()
    call_command("revoke_api_key", "erp-clerk", stdout=out)  # no CommandError
    assert "was already revoked at" in out.getvalue()
    assert "nothing changed" in out.getvalue()


def test_revoking_an_unknown_key_is_refused_with_a_non_zero_exit(db):
    with pytest.raises(CommandError, match="No API key is named 'nobody'"):
        call_command("revoke_api_key", "nobody", stdout=io.StringIO())


def test_api_calls_are_csrf_exempt_but_other_views_are_not(create_input):
    client = Client(enforce_csrf_checks=True)

    api_response = client.post(CREATE, create_input)
    login_response = client.post("/login/", {"username": "x", "password": "y"})

    assert api_response.status_code == 200
    assert login_response.status_code == 403
    # Even without a token, a stray POST elsewhere under /api/ is answered in JSON.
    assert_error(client.post("/api/openapi.json"), 1008, 405)
    assert_error(client.post("/api/no_such_call"), 1012, 404)


def test_openapi_document_describes_the_four_calls_the_events_feed_and_the_puts(client):
    response = client.get("/api/openapi.json")

    document = response.json()
    assert response.status_code == 200
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        CREATE,
        LIST,
        SETTLE,
        "/api/get_journal_lines_m",
        "/api/v1/events",
        "/api/v1/accounts/{external_id}",
        "/api/v1/invoices/{external_id}",
        "/api/v1/payments/{external_id}",
        "/api/v1/cases",
        "/api/v1/cases/{number}",
        "/api/v1/cases/{number}/notes",
        "/api/v1/cases/{number}/settle",
        "/api/v1/cases/{number}/attachments",
        "/api/v1/cases/{number}/attachments/{attachment_id}",
    }


def test_openapi_document_lists_every_error_code_the_api_can_return(client):
    document = client.get("/api/openapi.json").json()
    documented = {
        code
        for path in document["paths"].values()
        for operation in path.values()
        for code in operation["x-error-codes"]
    }
    # 3140-3149 (approvals, recovery) and 3150-3153 (bulk runs) cannot come from the
    # API: approval, recovery and bulk runs are screens and commands, not API calls.
    # (3129 can: PUT /api/v1/invoices voids an invoice the billing system voided.)
    # Nor 3161, 3165, 3166 (a case's status, assignee and due date are worked on the
    # screens).
    not_from_the_api = {0, *range(3140, 3154), 3161, 3165, 3166}

    assert documented | set(UNKNOWN_CALL_ERROR_CODES) == set(ERROR_CODES) - not_from_the_api
    assert set(
        document["components"]["schemas"]["ApiError"]["properties"]["error_code"]["enum"]
    ) == (set(ERROR_CODES) - not_from_the_api)
    assert set(CALL_ERROR_CODES) == {
        "create_writeoff_or_dispute_m",
        "get_acct_writeoff_or_disputes_m",
        "settle_dispute_hold_m",
        "get_journal_lines_m",
    }


def test_api_guide_documents_every_api_error_code_with_its_http_status():
    guide = (settings.BASE_DIR / "docs" / "api.md").read_text()
    documented = {
        int(code): int(status)
        for code, status in re.findall(r"^\| (\d+) \| (\d{3}) \|", guide, flags=re.MULTILINE)
    }
    api_codes = {code for codes in CALL_ERROR_CODES.values() for code in codes}
    api_codes |= {0, *UNKNOWN_CALL_ERROR_CODES}

    # Every code the API can answer is in the table, each with the status it is sent
    # with; the table may also list codes only the UI shows.
    assert api_codes <= documented.keys()
    assert documented == {code: int(ERROR_CODES[code][1]) for code in documented}


# --- list: numbered pages up to a depth, then by cursor ---------------------------


@pytest.fixture
def many_writeoffs(account, invoice):
    from writeoffs.factories import WriteOffFactory

    return [WriteOffFactory(invoice=invoice, amount_minor=100 + n).pk for n in range(7)]


def test_list_page_beyond_the_cap_is_refused_with_1013(api, clerk_key, account):
    from writeoffs.api.fields import API_MAX_PAGE

    response = api.post(LIST, list_input(clerk_key, page=API_MAX_PAGE + 1))

    assert_error(response, 1013, 400)
    assert "next_cursor" in response.json()["error_msg"]
    assert api.post(LIST, list_input(clerk_key, page=API_MAX_PAGE)).status_code == 200


def test_list_blank_page_means_the_first_page(api, clerk_key, many_writeoffs):
    body = api.post(LIST, list_input(clerk_key, page="", page_size=2), form=True).json()

    assert body["page"] == 1
    assert [w["rec_no"] for w in body["writeoffs"]] == sorted(many_writeoffs, reverse=True)[:2]


def test_list_cursor_reads_every_row_once_newest_first_then_stops(api, clerk_key, many_writeoffs):
    seen = []
    body = api.post(LIST, list_input(clerk_key, dispute_or_writeoff_flag=1, page_size=3)).json()
    seen += [w["rec_no"] for w in body["writeoffs"]]
    pages = 1
    while "next_cursor" in body:
        body = api.post(
            LIST,
            list_input(
                clerk_key, dispute_or_writeoff_flag=1, page_size=3, cursor=body["next_cursor"]
            ),
        ).json()
        assert body["error_code"] == 0, body
        assert "page" not in body and "writeoff_count" not in body
        seen += [w["rec_no"] for w in body["writeoffs"]]
        pages += 1

    assert seen == sorted(many_writeoffs, reverse=True)
    assert pages == 3


def test_list_cursor_pages_writeoffs_and_disputes_side_by_side(
    api, clerk_key, supervisor_key, invoice, many_writeoffs
):
    holds = [open_hold(invoice, api, supervisor_key, amount="1.00") for _ in range(3)]
    first = api.post(LIST, list_input(clerk_key, page_size=2)).json()

    second = api.post(LIST, list_input(clerk_key, page_size=2, cursor=first["next_cursor"])).json()

    assert [d["rec_no"] for d in first["disputes"] + second["disputes"]] == holds[::-1]
    ordered = sorted(many_writeoffs, reverse=True)
    assert [w["rec_no"] for w in second["writeoffs"]] == ordered[2:4]


def test_list_cursor_keeps_the_date_filters(api, clerk_key, many_writeoffs):
    newest = max(many_writeoffs)
    WriteOff.objects.exclude(pk=newest).update(
        created_at=timezone.now() - datetime.timedelta(days=10)
    )
    window = {"dispute_or_writeoff_flag": 1, "page_size": 1}
    window["end_date"] = (timezone.localdate() - datetime.timedelta(days=5)).isoformat()
    first = api.post(LIST, list_input(clerk_key, **window)).json()

    second = api.post(LIST, list_input(clerk_key, **window, cursor=first["next_cursor"])).json()

    assert newest not in [w["rec_no"] for w in first["writeoffs"] + second["writeoffs"]]
    assert second["writeoffs"][0]["rec_no"] < first["writeoffs"][0]["rec_no"]


@pytest.mark.parametrize("cursor", ["not-a-cursor!", "bm9wZQ", "MS4tNS4"])
def test_list_cursor_that_was_not_returned_is_1011(api, clerk_key, account, cursor):
    response = api.post(LIST, list_input(clerk_key, cursor=cursor))

    assert_error(response, 1011, 400)
    assert response.json()["field"] == "cursor"


def test_list_cursor_of_another_flag_is_1011(api, clerk_key, many_writeoffs):
    first = api.post(LIST, list_input(clerk_key, dispute_or_writeoff_flag=1, page_size=2)).json()

    response = api.post(
        LIST, list_input(clerk_key, dispute_or_writeoff_flag=0, cursor=first["next_cursor"])
    )

    assert_error(response, 1011, 400)


def test_list_is_read_through_the_write_offs_pages_selectors(
    api, clerk_key, many_writeoffs, monkeypatch
):
    import writeoffs.api.calls
    import writeoffs.selectors

    calls = []

    def spy(account, *args):
        calls.append(account.acct_no)
        return writeoffs.selectors.writeoffs_for(account, *args)

    monkeypatch.setattr(writeoffs.api.calls, "writeoffs_for", spy)

    api.post(LIST, list_input(clerk_key, dispute_or_writeoff_flag=1))

    assert calls == [5001]


def test_a_cursor_page_costs_no_count(api, clerk_key, many_writeoffs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = api.post(LIST, list_input(clerk_key, dispute_or_writeoff_flag=1, page_size=2)).json()
    with CaptureQueriesContext(connection) as queries:
        api.post(
            LIST,
            list_input(
                clerk_key, dispute_or_writeoff_flag=1, page_size=2, cursor=first["next_cursor"]
            ),
        )

    sql = " ".join(q["sql"] for q in queries.captured_queries).upper()
    assert "COUNT(" not in sql
    assert "OFFSET" not in sql


# --- approvals ---------------------------------------------------------------------


def test_a_create_over_the_keys_limit_answers_ok_with_pending_approval(api, create_input):
    ApprovalLimit.objects.filter(role="clerk", currency="USD").update(limit_minor=50_00)
    response = api.post(CREATE, {**create_input, "writeoff_dispute_amount": "50.01"})
    body = response.json()
    assert response.status_code == 200
    assert (body["error_code"], body["status"]) == (0, "pending_approval")
    writeoff = WriteOff.objects.get(pk=body["rec_no"])
    assert writeoff.status == WriteOff.Status.PENDING
    assert Invoice.objects.get(invoice_no=10023).pending_minor == 50_01

    within = api.post(CREATE, {**create_input, "writeoff_dispute_amount": "10.00"}).json()
    assert within["status"] == "pending_approval"  # 50.01 already counts: 60.01 > 50.00


def test_a_create_within_the_keys_limit_answers_active(api, create_input):
    body = api.post(CREATE, {**create_input, "writeoff_dispute_amount": "10.00"}).json()
    assert (body["error_code"], body["status"]) == (0, "active")


def test_the_list_call_shows_each_writeoffs_status(api, create_input, clerk_key):
    ApprovalLimit.objects.filter(role="clerk", currency="USD").update(limit_minor=10_00)
    api.post(CREATE, {**create_input, "writeoff_dispute_amount": "10.00"})
    api.post(CREATE, {**create_input, "writeoff_dispute_amount": "5.00"})
    body = api.post(LIST, list_input(clerk_key, dispute_or_writeoff_flag=1)).json()
    assert body["error_code"] == 0
    statuses = {row["amount"]: row["status"] for row in body["writeoffs"]}
    assert statuses == {"10.00": "active", "5.00": "pending_approval"}


def test_list_rows_carry_the_credit_note_no_of_revenue_impacting_writeoffs(
    api, create_input, clerk_key, supervisor_actor, expense_code, invoice
):
    api.post(CREATE, {**create_input, "writeoff_dispute_amount": "20.00"})
    writeoff_create(
        invoice_id=invoice.pk,
        amount="10.00",
        reason_code=0,
        comments="Bad debt.",
        revenue_impacting=False,
        accounting_code_id=expense_code.pk,
        actor=supervisor_actor,
    )

    rows = api.post(LIST, list_input(clerk_key, dispute_or_writeoff_flag=1)).json()["writeoffs"]

    year = timezone.localdate().year
    assert [row["credit_note_no"] for row in rows] == [None, f"CN-{year}-000001"]
