"""Each API call's input and answer, declared once.

The views validate a request with these models and build their answers with
them; ``writeoffs/openapi.py`` writes the OpenAPI document from the same models,
so the document cannot say something the server does not do.

Bodies may be JSON or form-encoded (seed 001), so every number is also accepted
as its digits in a string, and a blank or ``null`` optional input means "not
given". A validation error becomes the documented error code in one place,
``input_error``: a field's ``OnError`` names its code, ``refuse`` lets a
validator pick another one, and a missing required input is 1010.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from billing.errors import (
    INVALID_COMMENTS,
    INVALID_DATE_FORMAT,
    INVALID_EXPIRE_HOLD_DAYS,
    INVALID_INPUT,
    INVALID_REASON_CODE,
    INVALID_SETTLEMENT_ACTION,
    MISSING_INPUT,
    PAGE_TOO_DEEP,
    BillingError,
)
from billing.models import JournalEvent
from billing.rules import COMMENTS_MAX_LENGTH
from writeoffs.models import WRITEOFF_REASON_CODES, ReasonCode, Settlement

BIGINT_MAX = 2**63 - 1
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


# --- errors ------------------------------------------------------------------


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
        return BillingError(MISSING_INPUT, f"{name} is required.", field=name)
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


# --- input types -------------------------------------------------------------


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
        return datetime.date.fromisoformat(value)  # ValueError for 2026-02-30
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
                "description": description,
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


class ApiInput(BaseModel):
    """What every call sends: the deployment's client number and an API key."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=_blank_means_absent)

    client_no: Annotated[
        integer(0, BIGINT_MAX, "The deployment's client number (BILLING_CLIENT_NO). Wrong: 1004."),
        OnError(INVALID_INPUT, "client_no must be a whole number."),
    ]
    auth_key: Annotated[
        Text, Field(description="The API key from `create_api_key`. Wrong or revoked: 1004.")
    ]

    @model_validator(mode="before")
    @classmethod
    def _drop_blanks(cls, data: object) -> object:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None and v != ""}
        return data


class AccountInput(ApiInput):
    acct_no: (
        Annotated[
            integer(0, BIGINT_MAX, "Account number. Give this or client_acct_id. Not found: 1009."),
            OnError(INVALID_INPUT, "acct_no must be a whole number."),
        ]
        | None
    ) = None
    client_acct_id: (
        Annotated[Text, Field(description="Client-assigned account id. Not found: 1009.")] | None
    ) = None

    schema_extra: ClassVar[dict] = {
        "anyOf": [{"required": ["acct_no"]}, {"required": ["client_acct_id"]}]
    }

    @model_validator(mode="after")
    def _account_given(self):
        if self.acct_no is None and self.client_acct_id is None:
            raise BillingError(MISSING_INPUT, "Give acct_no or client_acct_id.", field="acct_no")
        return self


class CreateRequest(AccountInput):
    invoice_no: Annotated[
        WholeNumber, Field(description="An invoice of that account. Otherwise: 3004.")
    ]
    reason_code: Annotated[
        choice(*WRITEOFF_REASON_CODES, ReasonCode.CHARGE_DISPUTE_HOLD, description=_REASON_CODES),
        OnError(
            INVALID_REASON_CODE,
            "Invalid reason code: use 0-5 for a write-off, 9001 for a dispute hold.",
        ),
    ]
    comments: comments_input("1 to 3000 characters. Blank: 3127.")
    writeoff_dispute_amount: Annotated[
        Any,
        WithJsonSchema(
            {
                "anyOf": [{"type": "string"}, {"type": "number"}],
                "description": "Default: the whole available amount. Above it: 3119. "
                "Malformed, not above zero or too many places: 3120.",
            }
        ),
    ] = None
    do_dispute: Annotated[
        choice(0, 1, description="0 write-off (default), 1 dispute hold."),
        OnError(INVALID_INPUT, "do_dispute must be one of 0, 1."),
    ] = 0
    expire_hold_days: (
        Annotated[
            integer(
                None,
                None,
                "Disputes only: the hold's length in days (2 to "
                "DISPUTE_HOLD_OVERRIDE_MAX_DAYS). Otherwise: 29014.",
            ),
            OnError(
                INVALID_EXPIRE_HOLD_DAYS,
                "The value of Dispute hold override (Expire_Hold_Days) is invalid: "
                "enter a whole number of days.",
            ),
        ]
        | None
    ) = None
    writeoff_date: date_input("Write-offs only; default today. yyyy-mm-dd, else 1024.") | None = (
        None
    )


def _page_depth(page: int) -> int:
    if page > API_MAX_PAGE:
        raise refuse(
            PAGE_TOO_DEEP,
            f"page may be at most {API_MAX_PAGE}; follow next_cursor to read further.",
        )
    return page


@dataclass(frozen=True)
class ListCursor:
    """Where the next page of each list starts: after the write-off and dispute hold
    with these numbers (0: that list is done; ``None``: not listed)."""

    flag: int
    after_writeoff: int | None
    after_dispute: int | None

    def encode(self) -> str:
        parts = [self.flag, self.after_writeoff, self.after_dispute]
        text = ".".join("" if p is None else str(p) for p in parts)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str) -> ListCursor:
        try:
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
            flag, writeoff, dispute = (int(p) if p else None for p in text.split("."))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise refuse(INVALID_INPUT, "cursor is not one this call returned.") from None
        if flag not in (0, 1, 2) or any(v is not None and v < 0 for v in (writeoff, dispute)):
            raise refuse(INVALID_INPUT, "cursor is not one this call returned.")
        return cls(flag, writeoff, dispute)


def _valid_cursor(raw: str) -> str:
    ListCursor.decode(raw)
    return raw


class ListRequest(AccountInput):
    dispute_or_writeoff_flag: Annotated[
        choice(0, 1, 2, description="0 both (default), 1 write-offs, 2 disputes."),
        OnError(INVALID_INPUT, "dispute_or_writeoff_flag must be one of 0, 1, 2."),
    ] = 0
    start_date: date_input("Created on or after (yyyy-mm-dd), else 1024.") | None = None
    end_date: date_input("Created on or before (yyyy-mm-dd), else 1024.") | None = None
    page: (
        Annotated[
            integer(
                1,
                BIGINT_MAX,
                f"Page number, from 1 (default) to {API_MAX_PAGE}; deeper: 1013, use cursor.",
            ),
            AfterValidator(_page_depth),
            OnError(INVALID_INPUT, f"page must be a whole number from 1 to {API_MAX_PAGE}."),
            WithJsonSchema(
                {
                    "anyOf": [
                        {"type": "integer", "minimum": 1, "maximum": API_MAX_PAGE},
                        {"type": "string", "pattern": "^-?[0-9]+$"},
                    ],
                    "description": f"Page number, from 1 (default) to {API_MAX_PAGE}. "
                    "Deeper: 1013; follow next_cursor instead. Ignored with cursor.",
                }
            ),
        ]
        | None
    ) = None
    page_size: Annotated[
        integer(1, PAGE_SIZE_MAX, f"Rows per list per page, 1 to {PAGE_SIZE_MAX} (default 100)."),
        OnError(INVALID_INPUT, f"page_size must be a whole number from 1 to {PAGE_SIZE_MAX}."),
    ] = PAGE_SIZE_DEFAULT
    cursor: (
        Annotated[
            Text,
            AfterValidator(_valid_cursor),
            Field(
                description="next_cursor from the page before: the next page, read by key "
                "however deep. Send the same filters with it."
            ),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _cursor_matches(self):
        if self.cursor is not None:
            position = ListCursor.decode(self.cursor)
            if position.flag != self.dispute_or_writeoff_flag:
                raise BillingError(
                    INVALID_INPUT,
                    "cursor was returned for another dispute_or_writeoff_flag.",
                    field="cursor",
                )
        return self

    @property
    def position(self) -> ListCursor | None:
        return None if self.cursor is None else ListCursor.decode(self.cursor)


class SettleRequest(ApiInput):
    dispute_no: Annotated[WholeNumber, Field(description="The dispute hold. Not found: 3125.")]
    settlement_action: Annotated[
        choice(
            *SETTLEMENT_ACTIONS,
            description="1 convert to a permanent write-off, 2 remove and re-age as of today, "
            "3 remove without re-aging. Otherwise: 3126.",
        ),
        OnError(
            INVALID_SETTLEMENT_ACTION,
            "settlement_action must be 1 (convert to a permanent write-off), "
            "2 (remove and re-age) or 3 (remove without re-aging).",
        ),
    ]
    comments: comments_input("Optional, up to 3000 characters; longer: 3127.") | None = None
    reason_code: (
        Annotated[
            choice(
                *WRITEOFF_REASON_CODES,
                description="Action 1 only; default 0 Bad Debt. " + _REASON_CODES,
            ),
            OnError(INVALID_REASON_CODE, "Invalid reason code: use 0-5 for a write-off."),
        ]
        | None
    ) = None

    accounting_code: (
        Annotated[
            Text,
            Field(
                description="Action 1 only: the expense accounting code's code (as in "
                'admin, e.g. "6100") the write-off debits. Not given: revenue-impacting '
                "(debits the invoice's revenue code). Unknown, inactive or not an expense "
                "code: 3123. Ignored for actions 2 and 3."
            ),
        ]
        | None
    ) = None

    @property
    def action(self) -> str:
        return SETTLEMENT_ACTIONS[self.settlement_action]


@dataclass(frozen=True)
class JournalCursor:
    """Where the next page of journal lines starts: after the line with this entry
    date and id (the selector's order)."""

    entry_date: datetime.date
    line_id: int

    def encode(self) -> str:
        text = f"{self.entry_date.isoformat()}.{self.line_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str) -> JournalCursor:
        try:
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
            day, line_id = text.split(".")
            if not _DIGITS.fullmatch(line_id) or int(line_id) < 0:
                raise ValueError(line_id)
            return cls(_date(day), int(line_id))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise refuse(INVALID_INPUT, "cursor is not one this call returned.") from None

    def keyset(self) -> str:
        """As ``billing.web.pagination.keyset_window`` reads an ``after`` cursor."""
        return f"{self.entry_date.isoformat()}~{self.line_id}"


def _valid_journal_cursor(raw: str) -> str:
    JournalCursor.decode(raw)
    return raw


class JournalLinesRequest(ApiInput):
    start_date: date_input("First entry date (yyyy-mm-dd), inclusive. Else 1024.")
    end_date: date_input("Last entry date (yyyy-mm-dd), inclusive. Else 1024.")
    page_size: Annotated[
        integer(1, PAGE_SIZE_MAX, f"Lines per page, 1 to {PAGE_SIZE_MAX} (default 100)."),
        OnError(INVALID_INPUT, f"page_size must be a whole number from 1 to {PAGE_SIZE_MAX}."),
    ] = PAGE_SIZE_DEFAULT
    cursor: (
        Annotated[
            Text,
            AfterValidator(_valid_journal_cursor),
            Field(
                description="next_cursor from the page before: the next page, read by key "
                "however deep. Send the same dates with it. Otherwise: 1011."
            ),
        ]
        | None
    ) = None

    @property
    def position(self) -> JournalCursor | None:
        return None if self.cursor is None else JournalCursor.decode(self.cursor)


# --- answers -----------------------------------------------------------------

Money = Annotated[str, Field(description='Decimal amount with the currency\'s places: "120.00".')]
Currency = Annotated[str, Field(description="ISO 4217 code.")]


class Ok(BaseModel):
    """A successful answer. Optional fields left at ``None`` are not sent."""

    error_code: Literal[0]
    error_msg: Literal["OK"]

    @classmethod
    def ok(cls, **fields: Any):
        return cls(error_code=0, error_msg="OK", **fields)

    def body(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        return {name: value for name, value in data.items() if value is not None}


class ApiError(BaseModel):
    error_code: int = Field(description="Non-zero on error.")
    error_msg: str = Field(description="What went wrong, in words.")
    field: str | None = Field(None, description="The input the error is about, when there is one.")

    @classmethod
    def of(cls, error: BillingError) -> dict[str, Any]:
        body = cls(error_code=error.code, error_msg=error.message, field=error.field)
        return body.model_dump(exclude_none=True)


class CreateResponse(Ok):
    rec_no: int = Field(description="The write-off or dispute hold number.")
    invoice_no: int
    amount: Money
    currency: Currency
    dispute_ind: Literal[0, 1] = Field(description="0 write-off, 1 dispute.")
    can_unsettle: bool = Field(description="True while a dispute is open.")
    dispute_exp_date: datetime.date | None = Field(None, description="Disputes: the expiry date.")
    writeoff_date: datetime.date | None = Field(None, description="Write-offs: its date.")
    status: Literal["active", "pending_approval"] | None = Field(
        None,
        description="Write-offs: active, or pending_approval when the amount (with the "
        "caller's write-offs on the invoice in the last 30 days) is over the API key's "
        "approval limit; a person then approves or rejects it.",
    )


class WriteOffRow(BaseModel):
    rec_no: int
    dispute_ind: Literal[0]
    invoice_no: int
    amount: Money
    currency: Currency
    reason_code: int = Field(description=_REASON_CODES)
    reason_text: str
    comments: str
    writeoff_date: datetime.date
    created_date: datetime.date
    created_by: str = Field(description="User, API key name, or system.")
    source: str = Field(description="ui, api, admin or system.")
    status: Literal["pending_approval", "active", "rejected", "lapsed", "reversed"]
    can_unsettle: Literal[False]
    origin_dispute_no: int | None = Field(description="Converted from this dispute hold.")
    reversed_date: datetime.date | None


class DisputeRow(BaseModel):
    rec_no: int
    dispute_ind: Literal[1]
    invoice_no: int
    amount: Money
    currency: Currency
    reason_code: Literal[9001]
    reason_text: str
    comments: str
    created_date: datetime.date
    created_by: str = Field(description="User, API key name, or system.")
    source: str = Field(description="ui, api, admin or system.")
    status: str = Field(description="open, written_off, released or released_reaged.")
    can_unsettle: bool = Field(description="True while open.")
    dispute_exp_date: datetime.date
    expired: bool = Field(description="Open and past its expiry date.")
    settled_date: datetime.date | None


class ListResponse(Ok):
    acct_no: int
    page: int | None = Field(None, description="This page (not sent for a cursor page).")
    page_size: int
    writeoff_count: int | None = Field(
        None, description="Write-offs matching the filters (flag 0 or 1; not on cursor pages)."
    )
    dispute_count: int | None = Field(
        None, description="Dispute holds matching the filters (flag 0 or 2; not on cursor pages)."
    )
    writeoffs: list[WriteOffRow] | None = Field(None, description="Flag 0 or 1.")
    disputes: list[DisputeRow] | None = Field(None, description="Flag 0 or 2.")
    next_cursor: str | None = Field(
        None, description="Send as cursor for the next page; absent on the last page."
    )


class SettleResponse(Ok):
    dispute_no: int
    settlement_action: Literal[1, 2, 3] = Field(description="As sent.")
    status: str = Field(
        description="written_off, released_reaged or released; open when a conversion is "
        "pending approval."
    )
    invoice_no: int
    amount: Money
    currency: Currency
    can_unsettle: bool = Field(description="True only while a conversion is pending approval.")
    rec_no: int | None = Field(None, description="Action 1: the new write-off's number.")
    conversion_pending: bool | None = Field(
        None,
        description="Action 1: the conversion is over the key's limit and waits for "
        "approval; the hold stays open.",
    )


class JournalLineRow(BaseModel):
    entry_no: int = Field(description="The journal entry's number.")
    entry_date: datetime.date
    event: str = Field(description="One of: " + ", ".join(JournalEvent.values) + ".")
    currency: Currency
    accounting_code: str = Field(description="The accounting code's code.")
    accounting_code_name: str
    debit: Money | None = Field(description="Set on a debit line, else null.")
    credit: Money | None = Field(description="Set on a credit line, else null.")
    memo: str
    source_document: str = Field(
        description='The row that posted it, "app.model:id" (e.g. "writeoffs.writeoff:12").'
    )
    posted_at: datetime.datetime


class JournalLinesResponse(Ok):
    start_date: datetime.date
    end_date: datetime.date
    page_size: int
    lines: list[JournalLineRow] = Field(description="In entry date, then line order.")
    next_cursor: str | None = Field(
        None, description="Send as cursor for the next page; absent on the last page."
    )
