"""The ``/api/v1/cases`` calls in the OpenAPI document: paths generated from their
pydantic models (``case_schemas``), and each call's documented error codes."""

from __future__ import annotations

from http import HTTPStatus

from pydantic import BaseModel

from billing.errors import ERROR_CODES
from billing.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH
from writeoffs.api.case_schemas import (
    CaseApiError,
    CaseCreateRequest,
    CaseNoteRequest,
    CaseNoteResponse,
    CaseResponse,
    CaseSettleRequest,
)

# Every v1 call: a bad or missing key, the throttle, a wrong method, a path that is
# no call (an empty number), the unexpected.
_EVERY_CALL = (1001, 1004, 1008, 1012, 1014)
# A v1 POST: its JSON body, the Idempotency-Key, text with control characters.
_EVERY_POST = (1003, 1005, 1006, 1007, 1010, 1011, 1015, 25020)
CREATE_ERROR_CODES = (
    *(1009, 1016, 3004, 3119, 3120, 3121, 3127, 3128, 3163, 3168, 3169),
    *(29013, 29014),
)
READ_ERROR_CODES = (1003, 3160)
NOTE_ERROR_CODES = (3127, 3160)
SETTLE_ERROR_CODES = (
    *(1016, 3024, 3119, 3120, 3121, 3123, 3124, 3126, 3127, 3128, 3130),
    *(3160, 3162, 3164, 3167, 29013),
)

_REF = "#/components/schemas/{model}"
_NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
    "description": "The case's number.",
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
    "description": (
        "Makes a retry safe: for 24 hours the first answer is returned again for the same "
        "request (header `Idempotent-Replayed: true`), and the same key with a different "
        "request gets 409 (1005). Keys are scoped to the API key."
    ),
}

# The models the document's components must hold.
CASE_MODELS: tuple[type[BaseModel], ...] = (
    CaseCreateRequest,
    CaseNoteRequest,
    CaseSettleRequest,
    CaseResponse,
    CaseNoteResponse,
    CaseApiError,
)


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": _REF.format(model=model.__name__)}


def _codes(*groups: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted({code for group in groups for code in group}))


def _table(codes: tuple[int, ...]) -> str:
    rows = [f"| {c} | {int(ERROR_CODES[c][1])} | {ERROR_CODES[c][0]} |" for c in codes]
    return "\n".join(["| error_code | HTTP | meaning |", "|---|---|---|", *rows])


def _answers(success: HTTPStatus, model: type[BaseModel], codes: tuple[int, ...]) -> dict:
    answers: dict[str, dict] = {
        str(int(success)): {
            "description": f"{success.phrase}: error_code 0.",
            "content": {"application/json": {"schema": _ref(model)}},
        }
    }
    by_status: dict[int, list[int]] = {}
    for code in codes:
        by_status.setdefault(int(ERROR_CODES[code][1]), []).append(code)
    for status, group in sorted(by_status.items()):
        answer: dict = {
            "description": f"{HTTPStatus(status).phrase}: "
            + "; ".join(f"{c} {ERROR_CODES[c][0]}" for c in group)
            + ".",
            "content": {
                "application/json": {
                    "schema": {
                        "allOf": [
                            _ref(CaseApiError),
                            {"properties": {"error_code": {"enum": group}}},
                        ]
                    }
                }
            },
        }
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            answer["headers"] = {
                "Retry-After": {"schema": {"type": "string", "pattern": "^[0-9]+$"}}
            }
        answers[str(status)] = answer
    return answers


def _operation(
    operation_id: str,
    summary: str,
    description: str,
    *,
    codes: tuple[int, ...],
    success: HTTPStatus,
    response: type[BaseModel],
    request: type[BaseModel] | None = None,
    number: bool = False,
) -> dict:
    every = _codes(_EVERY_CALL, _EVERY_POST if request else (), codes)
    document: dict = {
        "operationId": operation_id,
        "summary": summary,
        "description": f"{description}\n\nError codes:\n\n{_table(every)}",
        "x-error-codes": list(every),
        "security": [{"bearerApiKey": []}],
        "parameters": [_NUMBER] if number else [],
        "responses": _answers(success, response, every),
    }
    if request is not None:
        document["parameters"].append(_IDEMPOTENCY_KEY)
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(request)}},
        }
    return document


def case_paths() -> dict[str, dict]:
    return {
        "/api/v1/cases": {
            "post": _operation(
                "create_case",
                "Open a dispute case on one or several invoices of an account (clerk key)",
                "Each hold is a dispute hold made as by create_writeoff_or_dispute_m, with its "
                "rules and error codes; if one is refused nothing is written, and `field` names "
                "it (`holds.1.amount`). The due date is today plus the category's target days.",
                codes=CREATE_ERROR_CODES,
                success=HTTPStatus.CREATED,
                response=CaseResponse,
                request=CaseCreateRequest,
            )
        },
        "/api/v1/cases/{number}": {
            "get": _operation(
                "get_case",
                "Read a dispute case: its holds, notes and attachments",
                "Any key whose role may view cases.",
                codes=READ_ERROR_CODES,
                success=HTTPStatus.OK,
                response=CaseResponse,
                number=True,
            )
        },
        "/api/v1/cases/{number}/notes": {
            "post": _operation(
                "add_case_note",
                "Add a note to a case's thread (append-only)",
                "A closed case still takes notes.",
                codes=NOTE_ERROR_CODES,
                success=HTTPStatus.CREATED,
                response=CaseNoteResponse,
                request=CaseNoteRequest,
                number=True,
            )
        },
        "/api/v1/cases/{number}/settle": {
            "post": _operation(
                "settle_case",
                "Settle holds of a case (supervisor key)",
                "Each hold: convert (all, or `amount` of it, the rest released), release, or "
                "release_reage, with the Part 1 and 2 rules (limits, lock date, approvals: a "
                "conversion over the key's limit waits, its hold open). All or nothing. The "
                "case is resolved when its last hold is settled; `root_cause` is required "
                "then (3164). A clerk key gets 403 (1003).",
                codes=SETTLE_ERROR_CODES,
                success=HTTPStatus.OK,
                response=CaseResponse,
                request=CaseSettleRequest,
                number=True,
            )
        },
    }


def case_error_codes() -> set[int]:
    """Every code a case call can answer with."""
    return {
        code
        for path in case_paths().values()
        for operation in path.values()
        for code in operation["x-error-codes"]
    }
