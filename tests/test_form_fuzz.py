"""Random and malformed input to every form and list page: never a 500.

Each form gets amounts, dates, comments, days, reason codes, codes and tokens
drawn from well-formed values, near misses and garbage (control and bidi
characters, NUL, full-width and Arabic-Indic digits, exponents, huge numbers,
5000-character strings). Every answer is a page (200) or a redirect, and every
refusal is a message on the form: an ``invalid-feedback`` next to a field or an
alert above it. List pages get random page, cursor, sort, tab and filter values
and always answer 200; a NUL anywhere is a 400 page naming it. The ledger stays
consistent throughout.

The number of examples follows the Hypothesis profile (``HYPOTHESIS_PROFILE``).
"""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.actors import Actor
from billing.factories import AccountFactory, AccountingCodeFactory, InvoiceFactory, UserFactory
from billing.models import AccountingCode
from billing.receivables.payments import payment_record
from billing.roles import SUPERVISOR
from billing.rules import today
from tests.ledger import assert_ledger_consistent
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create

EXAMPLES = {"ci": 100}.get(os.environ.get("HYPOTHESIS_PROFILE", ""), 40)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CASES: Counter[str] = Counter()

# --- values ---------------------------------------------------------------------

nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "\u202eevil",
            "\u2066x\u2069",
            "\r\n",
            "\t",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "{{ 7*7 }}",
            "%s%n",
            "\ud7ff",
            "😀" * 3,
        ]
    ),
    st.integers(min_value=1, max_value=5000).map(lambda n: "x" * n),
)
amounts = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True, places=None).map(str),
    st.decimals(min_value=0, max_value=200, places=2).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats().map(repr),
    st.sampled_from(
        [
            "",
            "0",
            "-0",
            "0.001",
            "1e3",
            "1E-2",
            "NaN",
            "-Infinity",
            "1,000.00",
            "$5",
            "5 USD",
            "\uff11\uff12",  # full-width digits
            "\u0661\u0662\u0663",  # Arabic-Indic digits
            "\u066b5",  # Arabic decimal separator
            "9" * 400,
            "0." + "0" * 300 + "1",
            ".5",
            "5.",
            "+5",
            "--5",
            "0x10",
        ]
    ),
    nasty_text,
)
dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(
        ["", "2024-02-30", "0000-00-00", "9999-12-31", "31/12/2024", "2024-1-1", "today", "-1"]
    ),
    nasty_text,
)
small_ints = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["", "0", "1", "2", "90", "91", "540", "9001", "9999", "-1", "1.5", "1e2"]),
    nasty_text,
)
flags = st.one_of(st.sampled_from(["", "on", "off", "true", "false", "0", "1"]), nasty_text)
tokens = st.one_of(st.uuids().map(str), st.text(max_size=150), st.sampled_from(["", "\x00"]))
htmx = st.booleans()

FORMS = {
    "writeoff_entry": st.fixed_dictionaries(
        {},
        optional={
            "amount": amounts,
            "reason_code": small_ints,
            "writeoff_date": dates,
            "revenue_impacting": flags,
            "accounting_code": small_ints,
            "comments": nasty_text,
        },
    ),
    "dispute_entry": st.fixed_dictionaries(
        {},
        optional={"amount": amounts, "expire_hold_days": small_ints, "comments": nasty_text},
    ),
    "payment_new": st.fixed_dictionaries(
        {},
        optional={
            "amount": amounts,
            "paid_on": dates,
            "method": st.one_of(st.sampled_from(["check", "card", "cash"]), nasty_text),
            "reference": nasty_text,
            "idempotency_key": tokens,
        },
    ),
    "payment_remove": st.fixed_dictionaries({}, optional={"reason": nasty_text}),
    "invoice_void": st.fixed_dictionaries({}, optional={"reason": nasty_text}),
    "writeoff_reverse": st.fixed_dictionaries({}, optional={"reason": nasty_text}),
    "dispute_settle": st.fixed_dictionaries(
        {}, optional={"reason_code": small_ints, "comments": nasty_text}
    ),
}


def near_valid(valid: dict, nasty: dict) -> st.SearchStrategy[dict]:
    """A valid submission with one field replaced by a drawn value, so the service's
    own checks (not only the form's) see bad input, and some submissions succeed."""
    return st.sampled_from(sorted(nasty)).flatmap(
        lambda name: nasty[name].map(lambda value: valid | {name: value})
    )


VALID = {
    "writeoff_entry": {
        "amount": "1.00",
        "reason_code": "0",
        "writeoff_date": today().isoformat(),
        "revenue_impacting": "on",
        "comments": "Fuzz",
    },
    "dispute_entry": {"amount": "1.00", "expire_hold_days": "", "comments": "Fuzz"},
    "payment_new": {
        "amount": "1.00",
        "paid_on": today().isoformat(),
        "method": "check",
        "reference": "",
        "idempotency_key": "fuzz",
    },
}
NASTY = {
    "writeoff_entry": {
        "amount": amounts,
        "reason_code": small_ints,
        "writeoff_date": dates,
        "revenue_impacting": flags,
        "accounting_code": small_ints,
        "comments": nasty_text,
    },
    "dispute_entry": {"amount": amounts, "expire_hold_days": small_ints, "comments": nasty_text},
    "payment_new": {
        "amount": amounts,
        "paid_on": dates,
        "method": nasty_text,
        "reference": nasty_text,
        "idempotency_key": tokens,
    },
}
for name, valid in VALID.items():
    FORMS[name] = st.one_of(FORMS[name], near_valid(valid, NASTY[name]))

FORMS["writeoff_confirm"] = FORMS["writeoff_entry"].flatmap(
    lambda data: st.fixed_dictionaries({"idempotency_token": tokens}).map(lambda t: data | t)
)
FORMS["payment_confirm"] = FORMS["payment_new"]
FORMS["dispute_confirm"] = FORMS["dispute_entry"].flatmap(
    lambda data: st.fixed_dictionaries({"idempotency_token": tokens}).map(lambda t: data | t)
)

LIST_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "q": nasty_text,
        "page": small_ints,
        "after": st.one_of(nasty_text, st.sampled_from(["2024-01-01~5", "~", "1~x", "x~1~2"])),
        "before": st.one_of(nasty_text, st.sampled_from(["2024-01-01~5", "~", "abc~"])),
        "sort": st.one_of(
            st.sampled_from(["date", "-date", "amount", "-amount", "", "-", "id", "__"]),
            nasty_text,
        ),
        "tab": st.one_of(st.sampled_from(["writeoffs", "disputes", ""]), nasty_text),
        "status": st.one_of(st.sampled_from(["sent", "draft", "void", "all"]), nasty_text),
        "written_off": flags,
        "disputed": flags,
        "overdue": flags,
        "highlight": small_ints,
        "amount": amounts,
        "expire_hold_days": small_ints,
        "writeoff_date": dates,
    },
)
LIST_PAGES = [
    "account_list",
    "account_overview",
    "invoice_list",
    "invoice_detail",
    "payment_list",
    "writeoff_page",
    "writeoff_picker",
    "dispute_picker",
    "writeoff_entry",
    "dispute_entry",
    "writeoff_csv",
    "dispute_csv",
]

# --- the account under fire -------------------------------------------------------


@pytest.fixture
def target(db, client):
    supervisor = UserFactory(username="fuzz-supervisor", groups=[SUPERVISOR])
    actor = Actor.for_user(supervisor)
    AccountingCodeFactory(code="6100", name="Bad debt", kind=AccountingCode.Kind.EXPENSE)
    invoice = InvoiceFactory(
        account=AccountFactory(acct_no=6001), invoice_no=60001, total_minor=10**9
    )
    payment = payment_record(invoice_id=invoice.pk, amount="10.00", actor=actor)
    writeoff = writeoff_create(
        invoice_id=invoice.pk, amount="10.00", reason_code=0, comments="Fuzz", actor=actor
    )
    hold = dispute_hold_create(invoice_id=invoice.pk, amount="10.00", comments="Fuzz", actor=actor)
    client.force_login(supervisor)
    kwargs = {"acct_no": 6001}
    return {
        "invoice": invoice,
        "urls": {
            "account_list": reverse("account_list"),
            **{
                name: reverse(name, kwargs=kwargs)
                for name in (
                    "account_overview",
                    "invoice_list",
                    "payment_list",
                    "writeoff_page",
                    "writeoff_picker",
                    "dispute_picker",
                    "writeoff_csv",
                    "dispute_csv",
                )
            },
            **{
                name: reverse(name, kwargs=kwargs | {"invoice_no": 60001})
                for name in (
                    "invoice_detail",
                    "payment_new",
                    "payment_confirm",
                    "writeoff_entry",
                    "writeoff_confirm",
                    "dispute_entry",
                    "dispute_confirm",
                )
            },
            "payment_remove": reverse("payment_remove", kwargs=kwargs | {"payment_id": payment.pk}),
            "invoice_void": reverse("invoice_void", kwargs=kwargs | {"invoice_no": 60001}),
            "writeoff_reverse": reverse(
                "writeoff_reverse", kwargs=kwargs | {"writeoff_id": writeoff.pk}
            ),
            **{
                f"dispute_settle {action}": reverse(
                    "dispute_settle",
                    kwargs=kwargs | {"dispute_id": hold.pk, "action": action},
                )
                for action in ("convert", "release", "release_reage")
            },
        },
    }


NUL_REFUSED = "Illegal characters entered: remove the invisible character U+0000"


def carries_nul(data: dict) -> bool:
    return any("\x00" in key or "\x00" in str(value) for key, value in data.items())


def assert_nul_refused(response, name: str, data: dict) -> None:
    """NUL is refused before any view reads it (billing.ops.middleware.RefuseNulMiddleware)."""
    assert response.status_code == 400, (name, data, response.status_code)
    assert NUL_REFUSED in response.content.decode(), (name, data)


def assert_answered_on_the_form(response, name: str, data: dict) -> None:
    if carries_nul(data):
        assert_nul_refused(response, name, data)
        return
    assert response.status_code in (200, 204, 302), (name, data, response.status_code)
    if response.status_code == 302:
        assert not response["Location"].startswith("/login/"), (name, data)
        return
    if response.status_code == 204:
        assert "HX-Trigger" in response.headers, (name, data)
        return
    if "HX-Redirect" in response.headers:  # done: the page loads again (a void)
        assert not response["HX-Redirect"].startswith("/login/"), (name, data)
        return
    body = response.content.decode()
    if "Review:" in body:  # the entry step accepted the input: the confirm pop-out
        assert name.endswith("_entry") or name == "payment_new", (name, data)
        return
    assert "invalid-feedback" in body or "alert-danger" in body, (name, data)


def post_fuzz(client, target, name: str, data: dict, as_htmx: bool) -> None:
    url_name = name.split(" ")[0]
    url = target["urls"][name]
    headers = {"HTTP_HX_REQUEST": "true"} if as_htmx else {}
    response = client.post(url, data, **headers)
    CASES[url_name] += 1
    assert_answered_on_the_form(response, url_name, data)
    if response.status_code in (204, 302) or b"Review:" in response.content:
        CASES[f"{url_name} accepted"] += 1
    assert_ledger_consistent(target["invoice"].pk)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "writeoff_entry",
        "writeoff_confirm",
        "dispute_entry",
        "dispute_confirm",
        "payment_new",
        "payment_confirm",
        "payment_remove",
        "invoice_void",
        "writeoff_reverse",
        "dispute_settle convert",
        "dispute_settle release",
        "dispute_settle release_reage",
    ],
)
def test_fuzzed_form_posts_never_fail_and_refuse_on_the_form(client, target, name):
    @FUZZ
    @given(data=FORMS[name.split(" ")[0]], as_htmx=htmx)
    def fuzz(data, as_htmx):
        post_fuzz(client, target, name, data, as_htmx)

    fuzz()


@pytest.mark.slow
@pytest.mark.parametrize("name", LIST_PAGES)
def test_fuzzed_page_sort_and_filter_parameters_always_render(client, target, name):
    url = target["urls"][name]

    @FUZZ
    @given(params=LIST_PARAMS, as_htmx=htmx)
    def fuzz(params, as_htmx):
        headers = {"HTTP_HX_REQUEST": "true"} if as_htmx else {}
        response = client.get(url, params, **headers)
        CASES[f"GET {name}"] += 1
        if carries_nul(params):
            assert_nul_refused(response, name, params)
            return
        assert response.status_code == 200, (name, params, response.status_code)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)

    fuzz()


def test_payment_without_its_hidden_token_says_so_and_carries_a_new_one(client, target):
    """Found by the fuzzer: an error on the hidden idempotency field showed nowhere,
    so Save seemed to do nothing."""
    data = {
        "amount": "1.00",
        "paid_on": today().isoformat(),
        "method": "check",
        "reference": "",
        "idempotency_key": "",
    }

    response = client.post(target["urls"]["payment_new"], data)

    body = response.content.decode()
    assert response.status_code == 200
    assert "This form expired. Check the payment and save it again." in body
    assert re.search(r'name="idempotency_key" value="[0-9a-f]{32}"', body)
