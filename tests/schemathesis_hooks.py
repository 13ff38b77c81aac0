"""Schemathesis hooks for .ci/schemathesis (SCHEMATHESIS_HOOKS=tests.schemathesis_hooks).

Random text is never a valid API key, so without help every example would stop at
authentication (1004). ``map_case`` puts the run's client_no and keys into each
body, and often a real account, invoice and dispute hold (and for a valid create,
inputs the business rules accept), so that examples reach the validation, the
services behind it, and successes. A negative example whose only invalid
part was one of those inputs is left as generated: filled in, it would be valid,
and Schemathesis would rightly expect it to be refused.

``after_call`` counts the cases sent per operation and their statuses, printed at exit.
"""

from __future__ import annotations

import atexit
import os
import threading
import uuid
from collections import Counter

import jsonschema
import schemathesis

CLIENT_NO = int(os.environ.get("BILLING_CLIENT_NO", "1000"))
CLERK_KEY = os.environ.get("SCHEMATHESIS_CLERK_KEY", "")
SUPERVISOR_KEY = os.environ.get("SCHEMATHESIS_SUPERVISOR_KEY", "")
# Calls only a supervisor key may make (a clerk key gets 403 before any input is read).
SUPERVISOR_CALLS = ("settle_dispute_hold_m", "get_journal_lines_m")
REAL_INPUTS = {
    "acct_no": os.environ.get("SCHEMATHESIS_ACCT_NO"),
    "invoice_no": os.environ.get("SCHEMATHESIS_INVOICE_NO"),
    "dispute_no": os.environ.get("SCHEMATHESIS_DISPUTE_NO"),
}

_cases: Counter[str] = Counter()
_statuses: dict[str, Counter[int]] = {}
_lock = threading.Lock()
_validators: dict[int, jsonschema.protocols.Validator] = {}


def _body_validator(case) -> jsonschema.protocols.Validator | None:
    media = case.media_type or "application/json"
    content = case.operation.definition.raw.get("requestBody", {}).get("content", {})
    schema = content.get(media, {}).get("schema")
    if schema is None:
        return None
    key = id(schema)
    if key not in _validators:
        root = {**schema, "components": case.operation.schema.raw_schema["components"]}
        _validators[key] = jsonschema.Draft202012Validator(root)
    return _validators[key]


def _filled(case, body: dict, *, positive: bool) -> dict:
    key = SUPERVISOR_KEY if case.operation.path.endswith(SUPERVISOR_CALLS) else CLERK_KEY
    filled = {**body, "client_no": CLIENT_NO, "auth_key": key}
    # Half the examples (by a stable choice) use real numbers where the body has them.
    if hash(repr(sorted(body.items(), key=str))) % 2 == 0:
        for name, value in REAL_INPUTS.items():
            if value is not None and name in body:
                filled[name] = int(value)
        if positive and case.operation.path.endswith("create_writeoff_or_dispute_m"):
            # And a create the business rules accept, so that successes are checked too.
            dispute = str(filled.get("do_dispute")) == "1"
            filled |= {"reason_code": 9001 if dispute else 1, "comments": "Schemathesis"}
            filled |= {"writeoff_dispute_amount": "0.01"}
            filled.pop("writeoff_date", None)
            filled.pop("expire_hold_days", None)
    return filled


@schemathesis.hook
def map_case(context, case):
    if not isinstance(case.body, dict):
        return case
    if case.operation.path.startswith("/api/v1/"):
        return _v1_case(case)
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if case.media_type == "application/x-www-form-urlencoded":
        # A form cannot carry null (it would be sent as the text "null"); a form
        # client leaves the field out, which the API reads the same as null.
        case.body = {name: value for name, value in case.body.items() if value is not None}
    filled = _filled(case, case.body, positive=not negative)
    if negative:
        validator = _body_validator(case)
        if validator is None or validator.is_valid(filled):
            return case
    case.body = filled
    if not negative and case.headers and "Idempotency-Key" in case.headers:
        # Generated keys repeat ("0", "a"), so most valid examples would be clashes (409).
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    return case


def _v1_case(case):
    """The /api/v1/ calls take the key as a Bearer token (schemathesis.toml), not in
    the body. Half the valid examples of opening a case name a real account and
    invoice and hold one cent, so that successes are checked too."""
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if negative:
        return case
    if (
        case.operation.path == "/api/v1/cases"
        and hash(repr(sorted(case.body.items(), key=str))) % 2
    ):
        acct_no, invoice_no = REAL_INPUTS["acct_no"], REAL_INPUTS["invoice_no"]
        if acct_no and invoice_no:
            case.body = {
                "acct_no": int(acct_no),
                "category": "other",
                "holds": [{"invoice_no": int(invoice_no), "amount": "0.01"}],
            }
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    return case


@schemathesis.hook
def after_call(context, case, response):
    operation = f"{case.method} {case.operation.path}"
    with _lock:
        _cases[operation] += 1
        _statuses.setdefault(operation, Counter())[response.status_code] += 1


@atexit.register
def _report() -> None:
    for operation, count in sorted(_cases.items(), key=lambda item: (-item[1], item[0])):
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(_statuses[operation].items()))
        print(f"schemathesis cases {operation}: {count} (HTTP {statuses})")
