"""Each API call's input, declared once: the views validate a request with these models
and the OpenAPI document is generated from them.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from billing.errors import (
    INVALID_EXPIRE_HOLD_DAYS,
    INVALID_INPUT,
    INVALID_REASON_CODE,
    INVALID_SETTLEMENT_ACTION,
    MISSING_INPUT,
    PAGE_TOO_DEEP,
    BillingError,
)
from writeoffs.api.fields import (
    _DIGITS,
    _REASON_CODES,
    API_MAX_PAGE,
    BIGINT_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    SETTLEMENT_ACTIONS,
    OnError,
    Text,
    WholeNumber,
    _blank_means_absent,
    _date,
    choice,
    comments_input,
    date_input,
    integer,
    refuse,
)
from writeoffs.models import WRITEOFF_REASON_CODES, ReasonCode


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
                "description": "Default: the whole available amount. A plain decimal with "
                "the currency's places at most: 1234.56 (no grouping, no decimal comma, "
                "no exponent or sign); anything else: 1016. Zero or too large: 3120. "
                "Above the available amount: 3119.",
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
