"""The OpenAPI 3.1 document served at /api/openapi.json, written by hand.

Each call lists the error codes it can answer with; the descriptions and HTTP
statuses come from ``billing.errors.ERROR_CODES``, so the document cannot
drift from what the API sends.
"""

from __future__ import annotations

from http import HTTPStatus

from billing.errors import ERROR_CODES

# Codes any call can answer with, before it looks at its own inputs.
COMMON_ERROR_CODES = (1001, 1004, 1006, 1007, 1008, 1010, 1011, 25020)

CALL_ERROR_CODES: dict[str, tuple[int, ...]] = {
    "create_writeoff_or_dispute_m": (
        *COMMON_ERROR_CODES,
        1005, 1009, 1024, 3004, 3024, 3119, 3120, 3121, 3122, 3127, 29013, 29014,
    ),
    "get_acct_writeoff_or_disputes_m": (*COMMON_ERROR_CODES, 1009, 1024),
    "settle_dispute_hold_m": (*COMMON_ERROR_CODES, 1003, 1005, 3024, 3124, 3125, 3126),
}  # fmt: skip

# Any path under /api/ that is not a call.
UNKNOWN_CALL_ERROR_CODES = (1012,)

_REASON_CODES = (
    "0 Bad Debt, 1 Good Will, 2 Billing Error, 3 Sales Return, 4 Promotional Discount, 5 Other; "
    "9001 Charge Dispute Hold (disputes only). 9999 is set only by the system and is refused."
)


def _string(description: str, **extra) -> dict:
    return {"type": "string", "description": description, **extra}


def _integer(description: str, **extra) -> dict:
    return {"type": "integer", "description": description, **extra}


def _whole(description: str, **extra) -> dict:
    """A number that form bodies send as text."""
    return {
        "oneOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\s*-?[0-9]+\s*$"}],
        "description": description,
        **extra,
    }


_DATE = {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date"}

_AUTH_FIELDS = {
    "client_no": _whole("The deployment's client number (BILLING_CLIENT_NO). Wrong: 1004."),
    "auth_key": _string("The API key from `create_api_key`. Wrong or revoked: 1004."),
}
_ACCOUNT_FIELDS = {
    "acct_no": _whole("Account number. Give this or client_acct_id. Not found: 1009."),
    "client_acct_id": _string("Client-assigned account id. Not found: 1009."),
}


def _error_table(codes: tuple[int, ...]) -> str:
    lines = ["| error_code | HTTP | meaning |", "|---|---|---|"]
    for code in sorted(codes):
        message, status = ERROR_CODES[code]
        lines.append(f"| {code} | {int(status)} | {message} |")
    return "\n".join(lines)


def _responses(success_schema: str, codes: tuple[int, ...]) -> dict:
    responses: dict[str, dict] = {
        "200": {
            "description": "OK: error_code 0.",
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{success_schema}"}}
            },
        }
    }
    by_status: dict[int, list[int]] = {}
    for code in codes:
        by_status.setdefault(int(ERROR_CODES[code][1]), []).append(code)
    for status, status_codes in sorted(by_status.items()):
        described = "; ".join(f"{c} {ERROR_CODES[c][0]}" for c in sorted(status_codes))
        responses[str(status)] = {
            "description": f"{HTTPStatus(status).phrase}: {described}.",
            "content": {
                "application/json": {
                    "schema": {
                        "allOf": [
                            {"$ref": "#/components/schemas/Error"},
                            {"properties": {"error_code": {"enum": sorted(status_codes)}}},
                        ]
                    }
                }
            },
        }
    return responses


def _body(schema: str) -> dict:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {
        "required": True,
        "content": {
            "application/json": {"schema": ref},
            "application/x-www-form-urlencoded": {"schema": ref},
        },
    }


def _operation(call: str, summary: str, description: str, success: str, **extra) -> dict:
    codes = CALL_ERROR_CODES[call]
    return {
        "operationId": call,
        "summary": summary,
        "description": f"{description}\n\nError codes:\n\n{_error_table(codes)}",
        "x-error-codes": sorted(codes),
        "responses": _responses(success, codes),
        **extra,
    }


def openapi_document() -> dict:
    idempotency_header = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": 100},
        "description": (
            "Makes a retry safe: for 24 hours the first answer is returned again for the same "
            "request (header `Idempotent-Replayed: true`), and the same key with a different "
            "request gets 409 (1005). Keys are scoped to the API key."
        ),
    }
    list_parameters = [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in {
            **_AUTH_FIELDS,
            **_ACCOUNT_FIELDS,
            "dispute_or_writeoff_flag": _whole("0 both (default), 1 write-offs, 2 disputes."),
            "start_date": {**_DATE, "description": "Created on or after (yyyy-mm-dd)."},
            "end_date": {**_DATE, "description": "Created on or before (yyyy-mm-dd)."},
            "page": _whole("Page number, from 1 (default 1)."),
            "page_size": _whole("Rows per list per page, 1 to 500 (default 100)."),
        }.items()
    ]
    list_operation = _operation(
        "get_acct_writeoff_or_disputes_m",
        "List an account's write-offs and dispute holds",
        "Newest first. Dates filter on the local creation date. POST with the same fields "
        "(JSON or form) keeps the key out of URLs.",
        "ListResponse",
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Write-offs and disputes API",
            "version": "1.0.0",
            "description": (
                "Mirrors seed 001 (create_writeoff_or_dispute_m). Every response is JSON and "
                "carries `error_code` (0 = OK) and `error_msg`. Bodies may be JSON or "
                "form-encoded; JSON numbers are read as exact decimals. Bodies over 64 KiB get "
                "413 (1006). An unknown call under /api/ gets 404 (1012). Authenticate with "
                "`client_no` and `auth_key` in the input."
            ),
        },
        "paths": {
            "/api/create_writeoff_or_dispute_m": {
                "post": _operation(
                    "create_writeoff_or_dispute_m",
                    "Create a write-off or a dispute hold on an invoice",
                    "With no amount, the whole available amount is written off or held.",
                    "CreateResponse",
                    parameters=[idempotency_header],
                    requestBody=_body("CreateRequest"),
                )
            },
            "/api/get_acct_writeoff_or_disputes_m": {
                "get": {**list_operation, "parameters": list_parameters},
                "post": {
                    **list_operation,
                    "operationId": "get_acct_writeoff_or_disputes_m_post",
                    "requestBody": _body("ListRequest"),
                },
            },
            "/api/settle_dispute_hold_m": {
                "post": _operation(
                    "settle_dispute_hold_m",
                    "Settle an open dispute hold (supervisor key)",
                    "1 converts the held amount to a permanent write-off (reason_code, default 0 "
                    "Bad Debt), 2 removes the hold and re-ages the invoice as of today, 3 removes "
                    "it without re-aging. A clerk key gets 403 (1003).",
                    "SettleResponse",
                    parameters=[idempotency_header],
                    requestBody=_body("SettleRequest"),
                )
            },
        },
        "components": {"schemas": _schemas()},
    }


def _schemas() -> dict:
    money = _string('Decimal amount with the currency\'s places, e.g. "120.00".')
    all_codes = sorted({c for codes in CALL_ERROR_CODES.values() for c in codes})
    return {
        "Error": {
            "type": "object",
            "required": ["error_code", "error_msg"],
            "properties": {
                "error_code": _integer(
                    "Non-zero on error.", enum=[*all_codes, *UNKNOWN_CALL_ERROR_CODES]
                ),
                "error_msg": _string("What went wrong, in words."),
                "field": _string("The input the error is about, when there is one."),
            },
        },
        "CreateRequest": {
            "type": "object",
            "required": ["client_no", "auth_key", "invoice_no", "reason_code", "comments"],
            "properties": {
                **_AUTH_FIELDS,
                **_ACCOUNT_FIELDS,
                "invoice_no": _whole("An invoice of that account. Otherwise: 3004."),
                "reason_code": _whole(_REASON_CODES),
                "comments": _string("1 to 3000 characters.", minLength=1, maxLength=3000),
                "writeoff_dispute_amount": {
                    "oneOf": [{"type": "string"}, {"type": "number"}],
                    "description": "Optional; default the whole available amount. Above it: 3119.",
                },
                "do_dispute": _whole(
                    "0 write-off (default), 1 dispute hold.", enum=[0, 1, "0", "1"]
                ),
                "expire_hold_days": _whole(
                    "Disputes only: override of the hold's length in days (2 to "
                    "DISPUTE_HOLD_OVERRIDE_MAX_DAYS). Out of range: 29014."
                ),
                "writeoff_date": {
                    **_DATE,
                    "description": "Write-offs only; default today. yyyy-mm-dd, else 1024.",
                },
            },
        },
        "CreateResponse": {
            "type": "object",
            "properties": {
                "error_code": _integer("0", const=0),
                "error_msg": _string("OK"),
                "rec_no": _integer("The write-off or dispute hold number."),
                "invoice_no": _integer("The invoice."),
                "amount": money,
                "currency": _string("ISO 4217 code."),
                "dispute_ind": _integer("0 write-off, 1 dispute.", enum=[0, 1]),
                "can_unsettle": {"type": "boolean", "description": "True while a dispute is open."},
                "dispute_exp_date": {**_DATE, "description": "Disputes: the hold's expiry date."},
                "writeoff_date": {**_DATE, "description": "Write-offs: the write-off date."},
                "status": _string(
                    "Write-offs: active, or pending_approval when the amount (with the "
                    "caller's write-offs on the invoice in the last 30 days) is over the "
                    "API key's approval limit; a person then approves or rejects it.",
                    enum=["active", "pending_approval"],
                ),
            },
        },
        "ListRequest": {
            "type": "object",
            "required": ["client_no", "auth_key"],
            "properties": {
                **_AUTH_FIELDS,
                **_ACCOUNT_FIELDS,
                "dispute_or_writeoff_flag": _whole("0 both (default), 1 write-offs, 2 disputes."),
                "start_date": _DATE,
                "end_date": _DATE,
                "page": _whole("From 1."),
                "page_size": _whole("1 to 500."),
            },
        },
        "ListResponse": {
            "type": "object",
            "properties": {
                "error_code": _integer("0", const=0),
                "error_msg": _string("OK"),
                "acct_no": _integer("The account."),
                "page": _integer("This page."),
                "page_size": _integer("Rows per list."),
                "writeoff_count": _integer("Write-offs matching the filters (flag 0 or 1)."),
                "dispute_count": _integer("Dispute holds matching the filters (flag 0 or 2)."),
                "writeoffs": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/WriteOffRow"},
                },
                "disputes": {"type": "array", "items": {"$ref": "#/components/schemas/DisputeRow"}},
            },
        },
        "WriteOffRow": {
            "type": "object",
            "properties": {
                "rec_no": _integer("Write-off number."),
                "dispute_ind": _integer("0", const=0),
                "invoice_no": _integer("Invoice."),
                "amount": money,
                "currency": _string("ISO 4217 code."),
                "reason_code": _integer(_REASON_CODES),
                "reason_text": _string("The reason's name."),
                "comments": _string("Comments."),
                "writeoff_date": _DATE,
                "created_date": _DATE,
                "created_by": _string("User, API key name, or system."),
                "source": _string("ui, api, admin or system."),
                "status": _string("pending_approval, active, rejected, lapsed or reversed."),
                "can_unsettle": {"type": "boolean", "const": False},
                "origin_dispute_no": {
                    "type": ["integer", "null"],
                    "description": "Converted from this dispute.",
                },
                "reversed_date": {"type": ["string", "null"], "format": "date"},
            },
        },
        "DisputeRow": {
            "type": "object",
            "properties": {
                "rec_no": _integer("Dispute hold number."),
                "dispute_ind": _integer("1", const=1),
                "invoice_no": _integer("Invoice."),
                "amount": money,
                "currency": _string("ISO 4217 code."),
                "reason_code": _integer("9001", const=9001),
                "reason_text": _string("Charge Dispute Hold."),
                "comments": _string("Comments."),
                "created_date": _DATE,
                "created_by": _string("User, API key name, or system."),
                "source": _string("ui, api, admin or system."),
                "status": _string("open, written_off, released or released_reaged."),
                "can_unsettle": {"type": "boolean", "description": "True while open."},
                "dispute_exp_date": _DATE,
                "expired": {"type": "boolean", "description": "Open and past its expiry date."},
                "settled_date": {"type": ["string", "null"], "format": "date"},
            },
        },
        "SettleRequest": {
            "type": "object",
            "required": ["client_no", "auth_key", "dispute_no", "settlement_action"],
            "properties": {
                **_AUTH_FIELDS,
                "dispute_no": _whole("The dispute hold. Not found: 3125."),
                "settlement_action": _whole(
                    "1 convert to a permanent write-off, 2 remove and re-age as of today, "
                    "3 remove without re-aging. Otherwise: 3126.",
                    enum=[1, 2, 3, "1", "2", "3"],
                ),
                "comments": _string("Optional, up to 3000 characters.", maxLength=3000),
                "reason_code": _whole("Action 1 only; default 0 Bad Debt. " + _REASON_CODES),
            },
        },
        "SettleResponse": {
            "type": "object",
            "properties": {
                "error_code": _integer("0", const=0),
                "error_msg": _string("OK"),
                "dispute_no": _integer("The dispute hold."),
                "settlement_action": _integer("As sent.", enum=[1, 2, 3]),
                "status": _string(
                    "written_off, released_reaged or released; open when a conversion is "
                    "pending approval."
                ),
                "invoice_no": _integer("The invoice."),
                "amount": money,
                "currency": _string("ISO 4217 code."),
                "can_unsettle": {
                    "type": "boolean",
                    "description": "True only while a conversion is pending approval.",
                },
                "rec_no": _integer("Action 1: the new write-off's number."),
                "conversion_pending": {
                    "type": "boolean",
                    "description": "Action 1: the conversion is over the key's limit and "
                    "waits for approval; the hold stays open.",
                },
            },
        },
    }
