"""The OpenAPI 3.1 document served at /api/openapi.json, generated.

Request bodies and answers are the pydantic models of ``writeoffs/api/inputs.py``
and ``writeoffs/api/answers.py`` that the views validate and answer with. Each call
lists the error codes it can answer with; their descriptions and HTTP statuses come
from ``billing.errors.ERROR_CODES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from billing.errors import ERROR_CODES
from billing.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH
from writeoffs.api.answers import (
    ApiError,
    CreateResponse,
    EventsResponse,
    JournalLinesResponse,
    ListResponse,
    SettleResponse,
)
from writeoffs.api.attachment_answers import (
    DOWNLOAD_ERROR_CODES,
    UPLOAD_ERROR_CODES,
    AttachmentResponse,
)
from writeoffs.api.case_openapi import CASE_MODELS, case_error_codes, case_paths
from writeoffs.api.inputs import CreateRequest, JournalLinesRequest, ListRequest, SettleRequest
from writeoffs.api.sync_schemas import PUT_CALLS, PutError
from writeoffs.cases.files import ACCEPTED_LABELS, ATTACHMENT_TYPES

# Codes any call can answer with, before it looks at its own inputs.
COMMON_ERROR_CODES = (1001, 1004, 1006, 1007, 1010, 1011, 1014, 1015, 25020)


@dataclass(frozen=True)
class Operation:
    name: str
    summary: str
    description: str
    request: type[BaseModel]
    response: type[BaseModel]
    # Beyond COMMON_ERROR_CODES: the codes of its inputs and of the services it calls.
    error_codes: tuple[int, ...]
    idempotent: bool = False

    @property
    def all_error_codes(self) -> tuple[int, ...]:
        return tuple(sorted({*COMMON_ERROR_CODES, *self.error_codes}))


OPERATIONS = (
    Operation(
        "create_writeoff_or_dispute_m",
        "Create a write-off or a dispute hold on an invoice",
        "With no amount, the whole available amount is written off or held.",
        CreateRequest,
        CreateResponse,
        (
            *(1005, 1009, 1016, 1024, 3004, 3024, 3119, 3120, 3121, 3122, 3127, 3128, 3130),
            *(3131, 29013, 29014),
        ),
        idempotent=True,
    ),
    Operation(
        "get_acct_writeoff_or_disputes_m",
        "List an account's write-offs and dispute holds",
        "Newest first. Dates filter on the local creation date. Numbered pages go to "
        "page 100; `next_cursor` reads on from any page, however deep. POST only, so that "
        "the key stays out of URLs and access logs.",
        ListRequest,
        ListResponse,
        (1009, 1013, 1024),
    ),
    Operation(
        "settle_dispute_hold_m",
        "Settle an open dispute hold (supervisor key)",
        "1 converts the held amount to a permanent write-off (reason_code, default 0 Bad "
        "Debt), posted as a create posts: revenue-impacting (debiting the invoice's revenue "
        "code) unless accounting_code names the expense code to debit; 2 removes the "
        "hold and re-ages the invoice as of today, 3 removes it without re-aging. A clerk "
        "key gets 403 (1003).",
        SettleRequest,
        SettleResponse,
        (1003, 1005, 3024, 3123, 3124, 3125, 3126, 3127),
        idempotent=True,
    ),
    Operation(
        "get_journal_lines_m",
        "List journal lines by entry date range (supervisor key)",
        "Every journal line with an entry date from start_date to end_date, in entry date, "
        "then line order: debits and credits as decimal strings. Pages are read by key: "
        "send `next_cursor` back as `cursor` (with the same dates) for the next page, at the "
        "same cost however deep. Needs billing.export_journal; a clerk key gets 403 (1003).",
        JournalLinesRequest,
        JournalLinesResponse,
        (1003, 1024),
    ),
)

CALL_ERROR_CODES: dict[str, tuple[int, ...]] = {op.name: op.all_error_codes for op in OPERATIONS}

# Answers outside the calls' operations: any path under /api/ that is not a call
# (1012), and a call asked with a method other than POST (1008, with Allow).
UNKNOWN_CALL_ERROR_CODES = (1008, 1012)

_REF = "#/components/schemas/{model}"


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": _REF.format(model=model.__name__)}


def _error_table(codes: tuple[int, ...]) -> str:
    lines = ["| error_code | HTTP | meaning |", "|---|---|---|"]
    for code in codes:
        message, status = ERROR_CODES[code]
        lines.append(f"| {code} | {int(status)} | {message} |")
    return "\n".join(lines)


def _responses(operation: Operation) -> dict:
    return _answers(operation.response, operation.all_error_codes)


def _answers(response_model: type[BaseModel], error_codes: tuple[int, ...]) -> dict:
    responses: dict[str, dict] = {
        "200": {
            "description": "OK: error_code 0.",
            "content": {"application/json": {"schema": _ref(response_model)}},
        }
    }
    by_status: dict[int, list[int]] = {}
    for code in error_codes:
        by_status.setdefault(int(ERROR_CODES[code][1]), []).append(code)
    for status, codes in sorted(by_status.items()):
        described = "; ".join(f"{c} {ERROR_CODES[c][0]}" for c in codes)
        response: dict = {
            "description": f"{HTTPStatus(status).phrase}: {described}.",
            "content": {
                "application/json": {
                    "schema": {
                        "allOf": [_ref(ApiError), {"properties": {"error_code": {"enum": codes}}}]
                    }
                }
            },
        }
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds until the address may try again.",
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                }
            }
        responses[str(status)] = response
    return responses


def _operation(operation: Operation) -> dict:
    body_schema = _ref(operation.request)
    document = {
        "operationId": operation.name,
        "summary": operation.summary,
        "description": (
            f"{operation.description}\n\nError codes:\n\n{_error_table(operation.all_error_codes)}"
        ),
        "x-error-codes": list(operation.all_error_codes),
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": body_schema},
                "application/x-www-form-urlencoded": {"schema": body_schema},
            },
        },
        "responses": _responses(operation),
    }
    if operation.idempotent:
        document["parameters"] = [_idempotency_parameter()]
    return document


def _idempotency_parameter() -> dict:
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH,
        },
        "description": (
            "Makes a retry safe: for 24 hours the first answer is returned again for "
            "the same request (header `Idempotent-Replayed: true`), and the same key "
            "with a different request gets 409 (1005). Keys are scoped to the API key."
        ),
    }


# The PUT calls of the billing system's sync (SPEC Part 3): Bearer keys, JSON bodies.
PUT_ERROR_CODES = (
    *(1001, 1003, 1004, 1005, 1006, 1007, 1008, 1010, 1011, 1014, 1015, 1016, 1024),
    *(3119, 3120, 3121, 3123, 3124, 3128, 3129, 3130, 3131, 25020),
)


def _put_operation(kind: str, name: str, summary: str, body, answer) -> dict:
    codes = PUT_ERROR_CODES
    responses = _answers(answer, codes)
    responses["201"] = {**responses["200"], "description": "Created: error_code 0."}
    responses["200"]["description"] = "Updated, or already so (outcome unchanged)."
    responses["400"]["content"]["application/json"]["schema"]["allOf"][0] = _ref(PutError)
    return {
        "operationId": name,
        "summary": summary,
        "description": (
            f"The {kind} import's fields and rules (docs/import.md), for one record matched "
            "on its external_id: created (201), unchanged or updated where it may change "
            "(200), or refused with each problem by field (400, `errors`). A clerk or "
            "supervisor key as `Authorization: Bearer <key>`; JSON bodies up to 64 KiB "
            f"(413 over).\n\nError codes:\n\n{_error_table(codes)}"
        ),
        "x-error-codes": list(codes),
        "security": [{"bearerApiKey": []}],
        "parameters": [
            {
                "name": "external_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[^/]+$"},
                "description": "The billing system's id of the record.",
            },
            _idempotency_parameter(),
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        },
        "responses": responses,
    }


# The events feed (SPEC Part 3): a GET with a Bearer key, outside the seed's POST calls.
EVENTS_PATH = "/api/v1/events"
EVENTS_ERROR_CODES = (1001, 1004, 1008, 1011, 1014)


def _events_operation() -> dict:
    codes = EVENTS_ERROR_CODES
    return {
        "operationId": "get_events",
        "summary": "Read the events feed after a cursor",
        "description": (
            "Every change the billing system must hear about (write-offs, disputes, "
            "recoveries, payments, voided invoices), in commit order. Send `next_cursor` back "
            "as `after`; ids are given out so that they commit in order, so the cursor never "
            "skips an event that commits late (docs/api.md, Events feed). Any active key, as "
            "`Authorization: Bearer <key>`."
            f"\n\nError codes:\n\n{_error_table(codes)}"
        ),
        "x-error-codes": list(codes),
        "security": [{"bearerApiKey": []}],
        "parameters": [
            {
                "name": "after",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "pattern": "^[0-9]{1,19}$"},
                "description": "The `next_cursor` of the last page; leave out to start.",
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                "description": "Events per page, 1 to 1000 (default 100).",
            },
        ],
        "responses": _answers(EventsResponse, codes),
    }


# A dispute case's files (SPEC Part 3): multipart in, the stored file out.
ATTACHMENTS_PATH = "/api/v1/cases/{number}/attachments"
ATTACHMENT_FILE_PATH = "/api/v1/cases/{number}/attachments/{attachment_id}"
_NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
    "description": "The case's number.",
}


def _attachment_upload_operation() -> dict:
    codes = UPLOAD_ERROR_CODES
    responses = _answers(AttachmentResponse, codes)
    created = responses.pop("200")
    created["description"] = "Created: error_code 0, the attachment with its download url."
    return {
        "operationId": "add_case_attachment",
        "summary": "Attach a file to a dispute case",
        "description": (
            f"multipart/form-data with the file in field `file`: {ACCEPTED_LABELS}, up to "
            "ATTACHMENT_MAX_BYTES (10 MB by default). The type is read from the content and "
            "must agree with the name's extension. A clerk or supervisor key, as "
            "`Authorization: Bearer <key>`."
            f"\n\nError codes:\n\n{_error_table(codes)}"
        ),
        "x-error-codes": list(codes),
        "security": [{"bearerApiKey": []}],
        "parameters": [_NUMBER],
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        },
        "responses": {"201": created, **responses},
    }


def _attachment_file_operation() -> dict:
    codes = DOWNLOAD_ERROR_CODES
    responses = _answers(AttachmentResponse, codes)
    responses["200"] = {
        "description": (
            "The file, as an attachment (Content-Disposition with filename*), with the type "
            "checked when it was uploaded and X-Content-Type-Options: nosniff."
        ),
        "content": {
            kind.content_type: {"schema": {"type": "string", "format": "binary"}}
            for kind in ATTACHMENT_TYPES
        },
    }
    return {
        "operationId": "get_case_attachment",
        "summary": "Download a dispute case's file",
        "description": (
            "Any active key, as `Authorization: Bearer <key>`."
            f"\n\nError codes:\n\n{_error_table(codes)}"
        ),
        "x-error-codes": list(codes),
        "security": [{"bearerApiKey": []}],
        "parameters": [
            _NUMBER,
            {
                "name": "attachment_id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
                "description": "The attachment's id (its `id` in the upload's answer).",
            },
        ],
        "responses": responses,
    }


def _schemas() -> dict:
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]]
    models = [(op.request, "validation") for op in OPERATIONS]
    models += [(op.response, "serialization") for op in OPERATIONS]
    models.append((EventsResponse, "serialization"))
    for *_, body, answer in PUT_CALLS:
        models += [(body, "validation"), (answer, "serialization")]
    models.append((PutError, "serialization"))
    models.append((AttachmentResponse, "serialization"))
    models.append((ApiError, "serialization"))
    models += [
        (model, "validation" if "Request" in model.__name__ else "serialization")
        for model in CASE_MODELS
    ]
    _, definitions = models_json_schema(models, ref_template=_REF)
    schemas = definitions["$defs"]
    all_codes = (
        {c for op in OPERATIONS for c in op.all_error_codes}
        | {*PUT_ERROR_CODES}
        | case_error_codes()
        | set(UPLOAD_ERROR_CODES)
        | set(DOWNLOAD_ERROR_CODES)
    )
    schemas["ApiError"]["properties"]["error_code"]["enum"] = sorted(
        all_codes | set(UNKNOWN_CALL_ERROR_CODES)
    )
    return schemas


@cache
def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Write-offs and disputes API",
            "version": "1.1.0",
            "description": (
                "Mirrors seed 001 (create_writeoff_or_dispute_m). Every call is a POST whose "
                "body is JSON or form-encoded, with a Content-Length (a chunked body gets 411, "
                "1015). Every answer is JSON and carries `error_code` (0 = OK) and "
                "`error_msg`. JSON numbers are read as exact decimals; numbers may also be "
                "sent as their digits in a string, and a blank or null optional input counts "
                "as not given. Bodies over 64 KiB get 413 (1006). An unknown call under /api/ "
                "gets 404 (1012). Authenticate with `client_no` and `auth_key` in the body; "
                "too many failures from one address get 429 (1014) for a while. The events "
                "feed (GET /api/v1/events) is the exception: a GET with the key as "
                "`Authorization: Bearer <key>`."
            ),
        },
        "paths": {
            **{f"/api/{op.name}": {"post": _operation(op)} for op in OPERATIONS},
            EVENTS_PATH: {"get": _events_operation()},
            **{
                f"/api/v1/{kind}/{{external_id}}": {
                    "put": _put_operation(kind, name, summary, body, answer)
                }
                for kind, name, summary, body, answer in PUT_CALLS
            },
            ATTACHMENTS_PATH: {"post": _attachment_upload_operation()},
            ATTACHMENT_FILE_PATH: {"get": _attachment_file_operation()},
            **case_paths(),
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearerApiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key (manage.py create_api_key): the /api/v1/ calls.",
                }
            },
        },
    }
