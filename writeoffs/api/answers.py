"""Each API call's answer, declared once (and so documented in the OpenAPI document)."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
)

from billing.errors import (
    BillingError,
)
from billing.models import JournalEvent
from writeoffs.api.fields import _REASON_CODES, Currency, Money


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
    credit_note_no: str | None = Field(
        None,
        description="Write-offs that are revenue-impacting and active: the credit note it "
        'issued, e.g. "CN-2026-000123". Not sent otherwise.',
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
    credit_note_no: str | None = Field(
        description="The credit note a revenue-impacting write-off issued when it became "
        'active, e.g. "CN-2026-000123" (cancelled if the write-off was reversed; its '
        "number is never reused); null for any other write-off."
    )


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
    conversion_pending: bool = Field(
        description="Open, with a conversion over its requester's limit waiting for approval."
    )
    conversion_refused: bool = Field(
        description="Open, and its last conversion was rejected, withdrawn or lapsed: "
        "expiry does not ask for it again; a person settles it."
    )
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
    credit_note_no: str | None = Field(
        None,
        description="Action 1, revenue-impacting and not pending: the credit note the "
        "conversion issued.",
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


class EventAccount(BaseModel):
    acct_no: int
    external_id: str | None = Field(description="The billing system's id; null if none.")


class EventInvoice(BaseModel):
    invoice_no: int
    external_id: str | None = Field(description="The billing system's id; null if none.")


class EventObject(BaseModel):
    kind: Literal["writeoff", "dispute", "payment", "invoice", "case"] = Field(
        description="What the event is about."
    )
    number: int | str = Field(
        description="Its own number: write-off id, dispute_no, payment number or invoice_no."
    )


class EventRow(BaseModel):
    id: int = Field(description="The event's place in the feed: consecutive, in commit order.")
    type: str = Field(
        description="writeoff.created, writeoff.approved, writeoff.rejected, writeoff.reversed, "
        "dispute.opened, dispute.settled, dispute.expired, recovery.recorded, "
        "payment.recorded, payment.voided, invoice.voided, collections.paused, "
        "collections.resumed."
    )
    occurred_at: datetime.datetime
    account: EventAccount | None
    invoice: EventInvoice | None
    object: EventObject
    currency: Currency | None
    amounts: dict[str, Money] = Field(description='Plain decimal strings: {"amount": "12.50"}.')
    details: dict[str, Any] | None = Field(None, description="What else the type carries.")


class EventsResponse(Ok):
    events: list[EventRow] = Field(description="In commit order, oldest first.")
    next_cursor: str = Field(
        description="Send it back as `after` for the events that follow; the same cursor "
        "again when there is nothing new yet."
    )
    has_more: bool = Field(description="True when more events follow right away.")
