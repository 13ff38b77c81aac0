"""The API's field types and how a validation error becomes the documented error code.

Each call's input model is built from these, so every integer, choice, date and
comment is checked the same way in every call.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from billing import bounds
from billing.bounds import date_in_range
from billing.errors import (
    INVALID_COMMENTS,
    INVALID_DATE_FORMAT,
    INVALID_INPUT,
    MISSING_INPUT,
    BillingError,
)
from billing.rules import COMMENTS_MAX_LENGTH, REQUIRED_MESSAGE
from writeoffs.models import Settlement

BIGINT_MAX = bounds.BIGINT_MAX
EARLIEST_DATE, LATEST_DATE = bounds.EARLIEST_DATE, bounds.LATEST_DATE


PAGE_SIZE_DEFAULT = 100


PAGE_SIZE_MAX = 500


# OFFSET pages stop here (at most 50,000 rows skipped); deeper reads follow
# ``next_cursor``, which costs the same on every page.
API_MAX_PAGE = 100


# settlement_action -> the service's action. The one place the API spells them.
SETTLEMENT_ACTIONS: dict[int, str] = {
    1: Settlement.CONVERT,
    2: Settlement.RELEASE_REAGE,
    3: Settlement.RELEASE,
}


_REASON_CODES = (
    "0 Bad Debt, 1 Good Will, 2 Billing Error, 3 Sales Return, 4 Promotional Discount, 5 Other; "
    "9001 Charge Dispute Hold (disputes only). 9999 is set only by the system and is refused."
)


# ASCII only: Python's \d and str.isdigit() also accept digits such as "²" that int() refuses.
_DIGITS = re.compile(r"-?[0-9]{1,18}", re.ASCII)


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


_DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


@dataclass(frozen=True)
class OnError:
    """The error code and message (``{name}`` is the input's name) of a field's refusals."""

    code: int
    message: str


def refuse(code: int, message: str) -> PydanticCustomError:
    """A validation error with its own code, for a validator to raise."""
    return PydanticCustomError("billing_error", message, {"code": code})


def input_error(error: ValidationError, model: type[BaseModel]) -> BillingError:
    """The first of ``error``'s problems, as the documented ``BillingError``."""
    problem = error.errors(include_url=False)[0]
    name = str(problem["loc"][0]) if problem["loc"] else None
    if problem["type"] == "billing_error":
        return BillingError(problem["ctx"]["code"], problem["msg"], field=name)
    if problem["type"] == "missing":
        return BillingError(MISSING_INPUT, REQUIRED_MESSAGE, field=name)
    on_error = _on_error(model, name) or OnError(INVALID_INPUT, "{name} is not valid.")
    return BillingError(on_error.code, on_error.message.format(name=name), field=name)


def _on_error(model: type[BaseModel], name: str | None) -> OnError | None:
    field = model.model_fields.get(name or "")
    if field is None:
        return None
    # An optional field's annotations sit inside its ``X | None``.
    metadata = [*field.metadata]
    for arg in get_args(field.annotation):
        metadata.extend(getattr(arg, "__metadata__", ()))
    return next((m for m in reversed(metadata) if isinstance(m, OnError)), None)


def _number(value: object) -> int:
    """A whole number sent as a JSON integer or as its ASCII digits (forms send text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise ValueError("not a whole number")


def _in_range(low: int | None, high: int | None) -> Callable[[int], int]:
    def check(value: int) -> int:
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError("out of range")
        return value

    return check


def integer(low: int | None = 0, high: int | None = BIGINT_MAX, description: str = "") -> Any:
    """A whole number from ``low`` to ``high`` (either may be open)."""
    bounds = {"minimum": low, "maximum": high}
    as_integer = {"type": "integer", **{k: v for k, v in bounds.items() if v is not None}}
    return Annotated[
        int,
        BeforeValidator(_number),
        AfterValidator(_in_range(low, high)),
        WithJsonSchema(
            {
                "anyOf": [as_integer, {"type": "string", "pattern": "^-?[0-9]+$"}],
                "description": description,
            }
        ),
    ]


def choice(*values: int, description: str = "") -> Any:
    """One of ``values``, as a JSON integer or exactly its digits."""
    values = tuple(int(v) for v in values)
    by_text = {str(v): v for v in values}

    def parse(value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value in values:
            return value
        if isinstance(value, str) and value in by_text:
            return by_text[value]
        raise ValueError(f"not one of {values}")

    return Annotated[
        int,
        BeforeValidator(parse),
        WithJsonSchema({"enum": [*values, *by_text], "description": description}),
    ]


def _date(value: object) -> datetime.date:
    if isinstance(value, str) and _DATE.fullmatch(value):
        day = datetime.date.fromisoformat(value)  # ValueError for 2026-02-30
        if not date_in_range(day):
            # 9999-12-31 is a well-formed date that no computation may be handed.
            raise refuse(
                INVALID_INPUT,
                f"A date must be from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}.",
            )
        return day
    raise ValueError("not yyyy-mm-dd")


def date_input(description: str) -> Any:
    return Annotated[
        datetime.date,
        BeforeValidator(_date),
        WithJsonSchema(
            {
                "type": "string",
                "format": "date",
                "pattern": _DATE_PATTERN,
                "description": f"{description} From {EARLIEST_DATE} to {LATEST_DATE}, else 1011.",
            }
        ),
        OnError(INVALID_DATE_FORMAT, "Invalid date format: {name} must be yyyy-mm-dd."),
    ]


def _comments_length(value: str) -> str:
    # Counted as sent (before CRLF becomes LF), as the document's maxLength counts.
    if len(value) > COMMENTS_MAX_LENGTH:
        raise refuse(
            INVALID_COMMENTS,
            f"Comments must be at most {COMMENTS_MAX_LENGTH} characters (they are {len(value)}).",
        )
    return value


def comments_input(description: str) -> Any:
    return Annotated[
        str,
        Field(strict=True, description=description),
        AfterValidator(_comments_length),
        WithJsonSchema(
            {"type": "string", "minLength": 1, "maxLength": COMMENTS_MAX_LENGTH}
            | {"description": description}
        ),
        OnError(INVALID_INPUT, "{name} must be text."),
    ]


Text = Annotated[str, Field(strict=True), OnError(INVALID_INPUT, "{name} must be text.")]


WholeNumber = Annotated[
    integer(0, BIGINT_MAX), OnError(INVALID_INPUT, "{name} must be a whole number.")
]


def _blank_means_absent(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """In the document as on the server, a blank or null optional input is not given."""
    required = set(schema.get("required", ()))
    for name, prop in schema["properties"].items():
        prop.pop("title", None)
        prop.pop("default", None)
        if name in required:
            continue
        description = prop.pop("description", None)
        options = prop.pop("anyOf", None)
        if options is None:
            options = [dict(prop)]
            prop.clear()
        flat: list[dict[str, Any]] = []
        for option in options:
            description = description or option.pop("description", None)
            option.pop("description", None)
            flat.extend(option.pop("anyOf", None) or [option])
        flat = [option for option in flat if option]
        if {"type": "null"} not in flat:
            flat.append({"type": "null"})
        prop["anyOf"] = [*flat, {"const": ""}]
        if description:
            prop["description"] = description
    schema.update(getattr(model, "schema_extra", {}))


Money = Annotated[str, Field(description='Decimal amount with the currency\'s places: "120.00".')]


Currency = Annotated[str, Field(description="ISO 4217 code.")]
