"""Money: integer minor units in the database, ``Decimal`` everywhere else.

The exponent of each currency comes from ISO 4217. This is the only place that
converts between the two representations.
"""

import re
from decimal import ROUND_HALF_EVEN, Decimal

from billing.errors import INVALID_AMOUNT, BillingError

# ISO 4217 minor-unit exponents that differ from the usual 2.
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip

# Larger than any real invoice, small enough that minor units fit a signed 64-bit column.
MAX_AMOUNT = Decimal("999999999999")

_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(amount: Decimal, currency: str) -> int:
    """Exact conversion; an amount with more places than the currency has is refused."""
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise BillingError(
            INVALID_AMOUNT,
            f"{currency} amounts have at most {exponent(currency)} decimal places.",
            field="amount",
        )
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    places = exponent(currency)
    return (Decimal(minor).scaleb(-places)).quantize(Decimal(1).scaleb(-places))


def parse_amount(raw: object, currency: str, *, field: str = "amount") -> Decimal:
    """Turn user or API input into a positive ``Decimal`` with the currency's places.

    Floats are refused outright: by the time a value is a float it may already
    have lost the cents the caller meant.
    """
    if isinstance(raw, bool | float):
        raise BillingError(INVALID_AMOUNT, "Enter the amount as a decimal number.", field=field)
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, str):
        text = raw.strip().replace(",", "")
        # Plain ASCII decimals only: Decimal() would also read "1_000", "1e3" and
        # Arabic-Indic digits, none of which a billing clerk means as an amount.
        if not _PLAIN_DECIMAL.fullmatch(text):
            raise BillingError(INVALID_AMOUNT, "Enter a valid amount, such as 125.50.", field=field)
        value = Decimal(text)
    else:
        raise BillingError(INVALID_AMOUNT, "Enter a valid amount, such as 125.50.", field=field)
    if not value.is_finite():
        raise BillingError(INVALID_AMOUNT, "Enter a valid amount, such as 125.50.", field=field)
    if value <= 0:
        raise BillingError(INVALID_AMOUNT, "The amount must be greater than zero.", field=field)
    if value > MAX_AMOUNT:
        raise BillingError(INVALID_AMOUNT, "The amount is too large.", field=field)
    places = exponent(currency)
    if value != value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN):
        raise BillingError(
            INVALID_AMOUNT,
            f"{currency} amounts have at most {places} decimal places.",
            field=field,
        )
    return value.quantize(Decimal(1).scaleb(-places))


def format_money(amount: Decimal, currency: str) -> str:
    """``1234.5`` in USD -> ``"1,234.50"`` (no symbol; the currency is shown beside it)."""
    return f"{amount:,.{exponent(currency)}f}"
