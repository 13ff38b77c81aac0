"""The PUT calls' bodies and answers (SPEC Part 3, "Three ways in, one service"),
declared once: the views validate with them and the OpenAPI document is generated
from them.

The bodies carry the CSV layouts' fields as text, shape only: what the text must
say (a date, an amount in the account's currency, a known account) is the import's
row rules, the same for a file and a call.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from writeoffs.api.answers import ApiError, Ok
from writeoffs.api.fields import Currency, Money


def _amount_text(value: object) -> str:
    """An amount as a JSON string or number (read exactly, never through a float)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value) if isinstance(value, int) else format(value, "f")
    raise ValueError("an amount is a string or a number")


AmountText = Annotated[
    str,
    BeforeValidator(_amount_text),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string"}, {"type": "number"}],
            "description": "A plain decimal with the currency's places at most: 1234.56 (no "
            "grouping, no decimal comma, no exponent or sign); anything else: 1016.",
        }
    ),
]


def _text(description: str, max_length: int) -> Any:
    return Annotated[str, Field(strict=True, max_length=max_length, description=description)]


DateText = Annotated[
    str, Field(strict=True, max_length=10, description="YYYY-MM-DD; anything else: 1024.")
]
ExternalId = Annotated[
    str, Field(strict=True, min_length=1, max_length=64, description="The billing system's id.")
]


class _Body(BaseModel):
    # A misspelt field is refused, never ignored.
    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId | None = Field(
        None, description="If given, the same as the path's external_id."
    )


class AccountPut(_Body):
    name: _text("The account's name.", 200)
    currency: _text("ISO 4217 code; never changes once set.", 3)
    acct_no: _text("Account No. (digits); default: the next number.", 19) | None = None
    client_acct_id: _text("The client-assigned account id.", 50) | None = None
    email: _text("Email address.", 254) | None = None
    status: Literal["active", "suspended", "closed"] | None = None


class InvoiceLinePut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: _text("The line's description.", 300)
    amount: AmountText
    tax_code: _text("An active tax rate's code (e.g. STD20); none: untaxed.", 30) | None = None
    tax_amount: AmountText | None = Field(
        None,
        description="The line's tax as the billing system computed it (needs tax_code, "
        "below the net amount); none: the rate's tax on the amount, half-up.",
    )


class InvoicePut(_Body):
    account_external_id: ExternalId
    bill_date: DateText
    due_date: DateText
    lines: list[InvoiceLinePut] = Field(min_length=1, max_length=500)
    invoice_no: _text("Invoice No. (digits); default: the next number.", 19) | None = None
    revenue_code: _text("The revenue code; default IMPORT_DEFAULT_REVENUE_CODE.", 30) | None = None
    status: Literal["sent", "void"] | None = None


class PaymentPut(_Body):
    invoice_external_id: ExternalId
    amount: AmountText
    paid_on: DateText
    method: Literal["check", "bank_transfer", "card", "cash", "other"] | None = None
    reference: _text("The payment's reference.", 100) | None = None


Outcome = Literal["created", "updated", "unchanged"]


class _Stored(Ok):
    outcome: Outcome = Field(description="created (201), updated or unchanged (200).")
    external_id: str


class AccountStored(_Stored):
    acct_no: int
    name: str
    currency: Currency
    client_acct_id: str | None = None
    email: str
    status: str


class InvoiceLineStored(BaseModel):
    description: str
    amount: Money = Field(description="The line's net amount.")
    tax_code: str | None = Field(None, description="Its tax rate's code; none: untaxed.")
    tax_amount: Money = Field(description="Its tax as stored (0.00 untaxed).")


class InvoiceStored(_Stored):
    invoice_no: int
    acct_no: int
    account_external_id: str | None = None
    bill_date: datetime.date
    due_date: datetime.date
    status: str
    revenue_code: str | None = None
    currency: Currency
    total: Money = Field(description="Net plus tax.")
    tax: Money = Field(description="The lines' tax.")
    lines: list[InvoiceLineStored]


class PaymentStored(_Stored):
    payment_no: int
    invoice_no: int
    invoice_external_id: str | None = None
    acct_no: int
    amount: Money
    currency: Currency
    paid_on: datetime.date
    method: str
    reference: str
    status: str


class FieldError(BaseModel):
    field: str = Field(description="The body's field: `name`, `lines[0].amount`, …")
    error_code: int
    message: str


class PutError(ApiError):
    errors: list[FieldError] | None = Field(
        None, description="Each problem with the record, by field (400)."
    )


# Each PUT call: its path's kind, operation id, summary, body and answer.
PUT_CALLS = (
    ("accounts", "put_account", "Create or update an account", AccountPut, AccountStored),
    ("invoices", "put_invoice", "Create, update or void an invoice", InvoicePut, InvoiceStored),
    ("payments", "put_payment", "Record a payment", PaymentPut, PaymentStored),
)
