"""Reading one row's values: text, dates, whole numbers, choices and amounts, each
refusal recorded as the row's problem in the column it came from.

Amounts go through the one strict parser (``billing.money.parse_amount``) in its
plain form, as the API reads them: ``1234.56``, nothing else. A line's tax goes
through the one rule of a line's tax, ``billing.receivables.invoices.line_tax``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from billing.errors import INVALID_DATE_FORMAT, INVALID_INPUT, BillingError
from billing.models import TaxRate
from billing.money import parse_amount
from billing.receivables.invoices import line_tax
from billing.rules import check_text
from billing.sync.imports.reading import SourceRow

EXTERNAL_ID_MAX_LENGTH = 64
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    message: str
    # The API's error code for it (billing.errors): 1016 for an amount, and so on.
    code: int = INVALID_INPUT


class RowReader:
    """The values of one row, read field by field; each refusal is kept, so that a
    row's every problem is reported at once, not only its first."""

    def __init__(self, row: SourceRow) -> None:
        self.row = row
        self.problems: list[RowProblem] = []
        width = row.values.get("__width__")
        if width:
            self.problems.append(RowProblem(row.number, "(row)", width))

    @property
    def number(self) -> int:
        return self.row.number

    def refuse(self, name: str, message: str, code: int = INVALID_INPUT) -> None:
        self.problems.append(RowProblem(self.row.number, self.row.column(name), message, code))

    def raw(self, name: str) -> str:
        return self.row.values.get(name, "")

    def text(self, name: str, *, max_length: int, required: bool = False) -> str:
        """Text as given, formula-looking or not: it is stored as text, and the one
        CSV writer guards it on the way out."""
        value = self.raw(name)
        try:
            value = check_text(value, field=name)
        except BillingError as error:
            self.refuse(name, error.message, error.code)
            return ""
        if required and not value:
            self.refuse(name, f"{name} is required.")
        elif len(value) > max_length:
            self.refuse(name, f"{name} is at most {max_length} characters.")
        return value

    def external_id(self, name: str) -> str:
        return self.text(name, max_length=EXTERNAL_ID_MAX_LENGTH, required=True)

    def date(self, name: str, *, required: bool = True) -> datetime.date | None:
        value = self.raw(name)
        if not value:
            if required:
                self.refuse(name, f"{name} is required (YYYY-MM-DD).")
            return None
        if _ISO_DATE.fullmatch(value):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        self.refuse(
            name,
            f"{value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-03-31.",
            INVALID_DATE_FORMAT,
        )
        return None

    def whole_number(self, name: str) -> int | None:
        value = self.raw(name)
        if not value:
            return None
        if value.isascii() and value.isdigit() and 0 < int(value) < 2**63:
            return int(value)
        self.refuse(name, f"{name} must be a whole number above zero.")
        return None

    def choice(self, name: str, choices: list[str], default: str | None) -> str | None:
        value = self.raw(name)
        if not value:
            return default
        if value in choices:
            return value
        self.refuse(name, f"{value!r} is not one of: {', '.join(choices)}.")
        return default

    def currency(self, name: str) -> str:
        value = self.raw(name)
        if not _CURRENCY.fullmatch(value):
            self.refuse(name, "Give the currency as its three-letter ISO 4217 code, e.g. USD.")
        return value

    def email(self, name: str) -> str | None:
        value = self.text(name, max_length=254)
        if not value:
            return None
        try:
            validate_email(value)
        except ValidationError:
            self.refuse(name, f"{value!r} is not an email address.")
        return value

    def amount(self, name: str, currency: str) -> Decimal | None:
        try:
            return parse_amount(self.raw(name), currency, field=name)
        except BillingError as error:
            self.refuse(name, f"{error.message} (error {error.code})", error.code)
            return None


# The service's name for each tax field, and the file's column it came from.
_TAX_COLUMNS = {"tax_code": "tax_code", "tax_amount": "line_tax_amount"}


def line_tax_of(
    reader: RowReader, currency: str, net_minor: int, rates: Mapping[str, TaxRate]
) -> tuple[TaxRate | None, int] | None:
    """The row's ``tax_code`` and ``line_tax_amount`` read by the one rule of a line's
    tax (``line_tax``, which ``invoice_line_add`` applies too): the line's rate and
    tax, or ``None`` with the refusal kept in the column it names, with the
    service's message and error code."""
    try:
        return line_tax(
            currency, net_minor, reader.raw("tax_code"), reader.raw("line_tax_amount"), rates=rates
        )
    except BillingError as error:
        reader.refuse(
            _TAX_COLUMNS.get(error.field or "", "line_tax_amount"), error.message, error.code
        )
        return None
