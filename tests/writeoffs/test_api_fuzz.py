"""Fuzzing every API call: random and malformed input never gives a 500, and every
answer is JSON with an integer ``error_code`` whose HTTP status matches ERROR_CODES.

Each example runs in a rolled-back transaction, so the invoices keep an available
balance and the deep paths (the services) stay reachable. The examples mix valid
and broken values for the known fields, unknown fields, JSON garbage, huge
strings, unicode, floats and nested objects, sent as JSON, as a form, as raw
bytes with assorted content types, and (for the list call) as a query string.

``API_FUZZ_EXAMPLES`` sets the number of examples per call (default: the
Hypothesis profile's, at least 200).
"""

import hashlib
import json
import os
from collections import Counter
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from billing.errors import ERROR_CODES
from billing.factories import AccountFactory, InvoiceFactory
from billing.models import ApiKey, Invoice

pytestmark = pytest.mark.slow

CLERK_KEY = "fuzz-clerk-key-0123456789abcdefghijklmnopq"
SUPERVISOR_KEY = "fuzz-supervisor-key-0123456789abcdefghijk"

EXAMPLES = int(
    os.environ.get("API_FUZZ_EXAMPLES", max(200, hypothesis_settings.default.max_examples))
)
fuzz_settings = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

awkward_strings = st.sampled_from(
    [
        "",
        " ",
        "0",
        "1",
        "-1",
        "2",
        "9001",
        "9999",
        "1e999999",
        "-0",
        "NaN",
        "Infinity",
        "0.001",
        "1,000.00",
        "12.34",
        "\uff11\uff12",  # fullwidth digits
        "²",  # isdigit() but not int()
        "٣٠",  # Arabic-Indic digits
        "99999999999999999999999999",
        "2026-02-30",
        "2026-01-01",
        "9999-12-31",
        "0000-00-00",
        "\x00",
        "\u202e",
        "\ud800",
        "\r\n",
        "DROP TABLE billing_invoice;--",
        "<script>alert(1)</script>",
    ]
)
# Built, not listed, so that Hypothesis' statistics do not print 70,000 characters.
huge_strings = st.builds(lambda n: "x" * n, st.sampled_from([3001, 5000, 70000]))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.text(alphabet=st.characters(codec=None), max_size=50),
    awkward_strings,
    awkward_strings,
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=8,
)
# Comments carry the huge strings: one field over the 64 KiB limit is enough for a 413.
comments = st.one_of(values, huge_strings)


def field(*good):
    """An optional field: valid three times in four, so that the checks after it are reached."""
    return mostly(st.sampled_from(good), values, one_in=4) if good else values


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy, one_in: int = 8) -> st.SearchStrategy:
    """``bad`` about once in ``one_in`` draws, else ``good``. (``one_of`` would not do:
    it picks its branches evenly, and repeating a branch does not weight it.)"""
    # The middle value, not a bound: Hypothesis draws the bounds of a range far more often.
    return st.tuples(st.integers(0, one_in - 1), good, bad).map(
        lambda drawn: drawn[2] if drawn[0] == one_in // 2 else drawn[1]
    )


def often(*good):
    """A field that is usually valid: authentication and lookups, which every
    deeper check sits behind."""
    return mostly(st.sampled_from(good), values)


def inputs(required: dict, optional: dict) -> st.SearchStrategy[dict]:
    known = st.fixed_dictionaries(required, optional=optional)
    extra = st.dictionaries(st.text(max_size=10), values, max_size=2)
    dropped = st.sets(st.sampled_from(sorted(required)), max_size=1)
    return st.builds(
        lambda k, e, d: {name: v for name, v in {**e, **k}.items() if name not in d},
        known,
        extra,
        mostly(st.just(set()), dropped),
    )


AUTH = {
    "client_no": often(1000, "1000"),
    "auth_key": often(CLERK_KEY, SUPERVISOR_KEY, SUPERVISOR_KEY),
}

CALLS = {
    "/api/create_writeoff_or_dispute_m": inputs(
        {
            **AUTH,
            "acct_no": often(5001, "5001", 5002),
            "invoice_no": often(10023, "10023", 10024, 20001),
            "reason_code": often(0, 1, "5", 9001, 9001, 9999),
            "comments": mostly(st.sampled_from(["Fuzzed", "  "]), comments),
        },
        {
            "client_acct_id": field("CL-5001", "CL-5002"),
            "writeoff_dispute_amount": field("1.00", "0.01", "120.00", "500", 3),
            "do_dispute": field(0, 1, "1"),
            "expire_hold_days": field(2, 30, "90", 91),
            "writeoff_date": field("2020-01-01", "2026-11-01"),
        },
    ),
    "/api/get_acct_writeoff_or_disputes_m": inputs(
        {**AUTH, "acct_no": often(5001, "5001", 5002)},
        {
            "client_acct_id": field("CL-5001", "CL-5002"),
            "dispute_or_writeoff_flag": field(0, 1, 2, "2"),
            "start_date": field("2020-01-01"),
            "end_date": field("2099-01-01"),
            "page": field(1, 2),
            "page_size": field(1, 500),
        },
    ),
    "/api/settle_dispute_hold_m": inputs(
        {
            **AUTH,
            "dispute_no": often(1, "1", 2, 3),
            "settlement_action": often(1, 2, 3, "1"),
        },
        {"comments": st.one_of(st.just("Settled"), comments), "reason_code": field(0, "3", 9999)},
    ),
}

content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=latin-1",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=nonsense",
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "text/plain",
        "application/xml",
        "",
    ]
)


def to_json(data: dict) -> str:
    # Floats go out as JSON numbers (the API reads them as Decimal); NaN as NaN.
    return json.dumps(data, default=str)


def to_form(data: dict) -> dict[str, str]:
    """What a form can carry: text only, and no lone surrogates (no encoding has them)."""

    def text(value) -> str:
        return ("" if value is None else str(value)).encode("utf-8", "replace").decode()

    return {text(name): text(value) for name, value in data.items() if "\x00" not in name}


requests = mostly(
    st.tuples(
        st.sampled_from(["json", "json", "form", "multipart", "query"]), st.none(), st.none()
    ),
    st.one_of(
        st.tuples(st.just("raw"), st.binary(max_size=300), content_types),
        st.tuples(st.just("raw-json"), st.text(max_size=200), st.just("application/json")),
    ),
    one_in=5,
)
methods = mostly(st.just("POST"), st.sampled_from(["GET", "PUT", "DELETE", "PATCH"]))
idempotency_keys = st.one_of(
    st.none(), st.text(max_size=120), st.sampled_from(["retry-1", "retry-2"])
)


@pytest.fixture
def fuzz_world(db, settings):
    # Wrong keys are a good part of the examples; throttled, the rest would all be 429.
    settings.API_AUTH_FAILURE_LIMIT = 10**9
    for name, raw_key, role in (
        ("fuzz-clerk", CLERK_KEY, "clerk"),
        ("fuzz-supervisor", SUPERVISOR_KEY, "supervisor"),
    ):
        ApiKey.objects.create(
            name=name,
            role=role,
            prefix=raw_key[:8],
            key_hash=hashlib.sha256(raw_key.encode()).hexdigest(),
        )
    account = AccountFactory(acct_no=5001, client_acct_id="CL-5001")
    InvoiceFactory(account=account, invoice_no=10023, total_minor=12000)
    InvoiceFactory(account=account, invoice_no=10024, total_minor=50000)
    InvoiceFactory(account=AccountFactory(acct_no=5002, client_acct_id="CL-5002"), invoice_no=20001)
    client = Client()
    # Disputes 1-3 exist and are open, so that settling reaches the service.
    for invoice_no, acct_no in ((10023, 5001), (10024, 5001), (20001, 5002)):
        response = client.post(
            "/api/create_writeoff_or_dispute_m",
            {
                "client_no": 1000,
                "auth_key": SUPERVISOR_KEY,
                "acct_no": acct_no,
                "invoice_no": invoice_no,
                "reason_code": 9001,
                "do_dispute": 1,
                "comments": "Seeded for fuzzing",
                "writeoff_dispute_amount": "10.00",
            },
        )
        assert response.status_code == 200, response.json()
    return client


def send(client: Client, path: str, method: str, data: dict, request, idempotency_key):
    kind, raw, content_type = request
    headers = {} if idempotency_key is None else {"Idempotency-Key": idempotency_key}
    if kind == "query" or method == "GET":
        return client.generic("GET", path, headers=headers, QUERY_STRING=urlencode(to_form(data)))
    if kind == "json":
        return client.generic(method, path, to_json(data), "application/json", headers=headers)
    if kind == "form":
        form = urlencode(to_form(data))
        return client.generic(
            method, path, form, "application/x-www-form-urlencoded", headers=headers
        )
    if kind == "multipart":
        return client.post(path, to_form(data), headers=headers)
    body = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    return client.generic(method, path, body, content_type, headers=headers)


def check_answer(response) -> None:
    assert response.status_code != 500, response.content[:500]
    assert response["Content-Type"] == "application/json", response.content[:200]
    body = json.loads(response.content)
    code = body["error_code"]
    assert isinstance(code, int) and not isinstance(code, bool)
    assert isinstance(body["error_msg"], str)
    # --hypothesis-show-statistics shows how often each answer came up.
    event(f"HTTP {response.status_code}, error_code {code}")
    if response.status_code == 200:
        assert code == 0
    else:
        assert code in ERROR_CODES and int(ERROR_CODES[code][1]) == response.status_code, body


# Cases per call, reported at the end of the run (tests/conftest.py).
CASES: Counter[str] = Counter()


def fuzz(client, path, method, data, request, idempotency_key):
    CASES[f"{method} {path}"] += 1
    with transaction.atomic():
        response = send(client, path, method, data, request, idempotency_key)
        transaction.set_rollback(True)
    check_answer(response)


@fuzz_settings
@given(
    data=CALLS["/api/create_writeoff_or_dispute_m"],
    method=methods,
    request=requests,
    idempotency_key=idempotency_keys,
)
def test_fuzz_create_writeoff_or_dispute_never_500s(
    fuzz_world, data, method, request, idempotency_key
):
    fuzz(fuzz_world, "/api/create_writeoff_or_dispute_m", method, data, request, idempotency_key)


@fuzz_settings
@given(
    data=CALLS["/api/get_acct_writeoff_or_disputes_m"],
    method=methods,
    request=requests,
    idempotency_key=idempotency_keys,
)
def test_fuzz_get_acct_writeoff_or_disputes_never_500s(
    fuzz_world, data, method, request, idempotency_key
):
    fuzz(fuzz_world, "/api/get_acct_writeoff_or_disputes_m", method, data, request, idempotency_key)


@fuzz_settings
@given(
    data=CALLS["/api/settle_dispute_hold_m"],
    method=methods,
    request=requests,
    idempotency_key=idempotency_keys,
)
def test_fuzz_settle_dispute_hold_never_500s(fuzz_world, data, method, request, idempotency_key):
    fuzz(fuzz_world, "/api/settle_dispute_hold_m", method, data, request, idempotency_key)


@fuzz_settings
@given(path=st.text(max_size=40), method=methods)
def test_fuzz_unknown_paths_answer_in_json(fuzz_world, path, method):
    response = fuzz_world.generic(method, "/api/" + path.replace("?", "").replace("#", ""))
    check_answer(response)


@fuzz_settings
@given(amount=st.decimals(allow_nan=False, allow_infinity=False, min_value=-1000, max_value=1000))
def test_json_amounts_are_written_exactly_or_refused_never_rounded(fuzz_world, amount):
    """A JSON number goes in as a Decimal: 0.1-style amounts are exact, and an amount
    written with more places than the currency has (even zeros), an exponent or a sign
    is refused (1016), never rounded."""
    fields = {"client_no": 1000, "auth_key": CLERK_KEY, "acct_no": 5001, "invoice_no": 10023}
    fields |= {"reason_code": 5, "comments": "exact"}
    # The amount as a bare JSON number, written exactly as the Decimal prints.
    body = json.dumps(fields)[:-1] + f', "writeoff_dispute_amount": {amount}}}'
    with transaction.atomic():
        response = fuzz_world.post(
            "/api/create_writeoff_or_dispute_m", body, content_type="application/json"
        )
        written_off = Invoice.objects.get(invoice_no=10023).written_off_minor
        transaction.set_rollback(True)

    code = response.json()["error_code"]
    places = -amount.as_tuple().exponent
    if amount.is_signed() or places < 0 or places > 2:
        assert code == 1016
    elif amount == 0:
        assert code == 3120
    elif amount > Decimal("110.00"):  # 120.00 less the 10.00 held by the seeded dispute
        assert code == 3119
    else:
        assert code == 0
        assert written_off == int(amount * 100)
        assert response.json()["amount"] == str(amount.quantize(Decimal("0.01")))
