"""The dispute-case calls' inputs and answers (``/api/v1/cases``), declared once: the
views validate with them and the OpenAPI document is generated from them."""

from __future__ import annotations

import datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from billing.errors import BillingError
from billing.rules import COMMENTS_MAX_LENGTH
from writeoffs.api.answers import ApiError, Ok
from writeoffs.api.fields import BIGINT_MAX, Currency, Money
from writeoffs.cases.open import CASE_HOLDS_MAX, CONTACT_NAME_MAX_LENGTH
from writeoffs.lifecycle.holds import EXPIRE_HOLD_DAYS_MIN
from writeoffs.models import CaseStatus, DisputeHold, Settlement

Number = Annotated[int, Field(strict=True, ge=1, le=BIGINT_MAX)]
# Plain 1234.56 only (SPEC Part 3): anything else is refused by the one parser with 1016.
AmountText = Annotated[
    str,
    Field(
        strict=True,
        max_length=40,
        description='Plain decimal with at most the currency\'s places, e.g. "12.50"; '
        "anything else is refused with 1016.",
        json_schema_extra={"pattern": "^[0-9]{1,15}(\\.[0-9]{1,4})?$"},
    ),
]
Code = Annotated[str, Field(strict=True, min_length=1, max_length=40)]


class Input(BaseModel):
    # An input the call does not know is refused rather than ignored: a misspelt
    # optional field would otherwise be silently left out.
    model_config = ConfigDict(extra="forbid")


class CaseHoldInput(Input):
    invoice_no: Number = Field(description="One of the account's sent invoices.")
    amount: AmountText | None = Field(
        None, description="The amount to hold; left out, the invoice's whole available amount."
    )


class CaseCreateRequest(Input):
    acct_no: Number
    category: Code = Field(
        description="A category's code: pricing, service_not_received, duplicate_billing, "
        "quality, other, or one added in admin."
    )
    holds: list[CaseHoldInput] = Field(min_length=1, max_length=CASE_HOLDS_MAX)
    contact_name: Annotated[str, Field(strict=True, max_length=CONTACT_NAME_MAX_LENGTH)] | None = (
        None
    )
    contact_email: Annotated[str, Field(strict=True, max_length=254)] | None = None
    comments: Annotated[str, Field(strict=True, max_length=COMMENTS_MAX_LENGTH)] | None = Field(
        None, description="The case's first note, and each hold's comments."
    )
    expire_hold_days: Annotated[int, Field(strict=True, ge=EXPIRE_HOLD_DAYS_MIN, le=540)] | None = (
        Field(None, description="Days each hold lasts; left out, the deployment's default.")
    )


class CaseNoteRequest(Input):
    text: Annotated[str, Field(strict=True, min_length=1, max_length=COMMENTS_MAX_LENGTH)]


class CaseSettleHoldInput(Input):
    dispute_no: Number = Field(description="One of the case's holds.")
    action: Literal["convert", "release", "release_reage"]
    amount: AmountText | None = Field(
        None, description="convert only: the part to write off; the rest is released."
    )
    reason_code: Literal[0, 1, 2, 3, 4, 5] | None = Field(
        None, description="convert: the write-off's reason (default 0 Bad Debt)."
    )
    accounting_code: Code | None = Field(
        None,
        description="convert: the expense code to debit (not revenue-impacting); left out, "
        "the invoice's revenue code.",
    )


class CaseSettleRequest(Input):
    holds: list[CaseSettleHoldInput] = Field(min_length=1, max_length=CASE_HOLDS_MAX)
    root_cause: Code | None = Field(
        None,
        description="A root cause's code; required when the case's last open hold is settled.",
    )


class CaseHoldRow(BaseModel):
    dispute_no: int
    invoice_no: int
    amount: Money
    currency: Currency
    status: Literal[tuple(DisputeHold.Status.values)]  # type: ignore[valid-type]
    conversion_pending: bool
    writeoff_no: int | None = Field(description="convert: the write-off it became (or waits as).")


class CaseNoteRow(BaseModel):
    author: str
    created_at: datetime.datetime
    text: str


class CaseAttachmentRow(BaseModel):
    name: str
    content_type: str
    size: int
    sha256: str
    url: str = Field(
        description="Download link: GET it with the same Bearer key (Content-Disposition: "
        "attachment)."
    )


class CaseResponse(Ok):
    number: int
    acct_no: int
    category: str
    status: Literal[tuple(CaseStatus.values)]  # type: ignore[valid-type]
    assignee: str | None = Field(description="The owner's username, or null.")
    due_date: datetime.date
    overdue: bool
    contact_name: str
    contact_email: str
    root_cause: str | None
    created_at: datetime.datetime
    resolved_at: datetime.datetime | None
    holds: list[CaseHoldRow]
    notes: list[CaseNoteRow]
    attachments: list[CaseAttachmentRow]

    def body(self) -> dict[str, Any]:
        # Every field is sent, null included: a case's shape does not change with state.
        return self.model_dump(mode="json")


class CaseNoteResponse(Ok):
    case_number: int
    note: CaseNoteRow


class FieldProblem(BaseModel):
    field: str
    error_code: int
    error_msg: str


class CaseApiError(ApiError):
    errors: list[FieldProblem] | None = Field(
        None, description="400: every field's problem (the first is also error_code/field)."
    )

    @classmethod
    def of(cls, error: BillingError) -> dict[str, Any]:
        """A refusal's body; a 400 about a field lists every field's problem (the
        validation error carries them all as ``problems``, a service's names one)."""
        problems = getattr(error, "problems", None)
        if problems is None and error.field and error.http_status == HTTPStatus.BAD_REQUEST:
            problems = [
                FieldProblem(field=error.field, error_code=error.code, error_msg=error.message)
            ]
        body = cls(
            error_code=error.code, error_msg=error.message, field=error.field, errors=problems
        )
        return body.model_dump(mode="json", exclude_none=True)


# For the settle call's answer: the case after the settlement.
SETTLEMENT_ACTIONS = tuple(Settlement.values)
