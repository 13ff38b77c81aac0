"""Money: integer minor units in the database, ``Decimal`` everywhere else.

The exponent of each currency comes from ISO 4217. This is the only place that
converts between the two representations.
"""

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    get_decimal_symbol,
    get_group_symbol,
    parse_pattern,
)
from django.conf import settings
from django.utils import translation

from billing.errors import INVALID_AMOUNT, MALFORMED_AMOUNT, BillingError

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


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(amount: Decimal, currency: str) -> int:
    """Exact conversion; an amount with more places than the currency has is refused."""
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise BillingError(
            MALFORMED_AMOUNT, _too_many_places(currency, exponent(currency)), field="amount"
        )
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    places = exponent(currency)
    return (Decimal(minor).scaleb(-places)).quantize(Decimal(1).scaleb(-places))


def parse_amount(
    raw: object, currency: str, *, locale: str | None = None, field: str = "amount"
) -> Decimal:
    """The one reader of amounts: what was typed or sent, exactly, or a refusal.

    ``locale=None`` is the plain form of the API, import files and commands:
    ``1234.56``, a point for decimals and no grouping. A locale (the UI passes the
    active language) reads that locale's decimal separator, and its thousands
    separator in proper groups only: English takes ``1,234.56``, and refuses
    ``1,50``, ``2,5``, ``1.000,00`` and ``1.2.3`` rather than guess what they mean.

    More decimal digits than the currency has are refused even when they are zeros
    (``1.000`` JPY is not 1); so are exponents, hex, signs, digits other than ASCII
    0-9, and empty text. Each refusal says why, as a ``BillingError``: 1016 for text
    that is not an amount in this currency, 3120 for zero and amounts over
    ``MAX_AMOUNT``. ``int`` and ``Decimal`` (a JSON number, an amount a form already
    read) are read as their plain text; floats are refused: by the time a value is a
    float it may already have lost the cents the caller meant.

    Returns a positive ``Decimal`` with exactly the currency's places.
    """
    form = PLAIN if locale is None or not isinstance(raw, str) else amount_format(locale)
    text = _as_text(raw, field)
    places = exponent(currency)
    whole, fraction = _read(text, form, field)
    if len(fraction) > places:
        message = _too_many_places(currency, places, form)
        raise BillingError(MALFORMED_AMOUNT, message, field=field)
    value = Decimal(f"{whole or '0'}.{fraction or '0'}")
    if value == 0:
        raise BillingError(INVALID_AMOUNT, "The amount must be greater than zero.", field=field)
    if value > MAX_AMOUNT:
        raise BillingError(INVALID_AMOUNT, "The amount is too large.", field=field)
    return value.quantize(Decimal(1).scaleb(-places))


@dataclass(frozen=True)
class AmountFormat:
    """How a locale writes an amount: its decimal separator, and its thousands
    separator with the sizes of the groups it separates, from the right (Django's
    ``NUMBER_GROUPING``: a single size, or sizes where 0 repeats the one before;
    the last size repeats). No group separator means no grouping is accepted."""

    decimal: str = "."
    group: str = ""
    grouping: tuple[int, ...] = ()

    def group_size(self, index: int) -> int:
        """The size of the ``index``-th group left of the decimal separator (0 = rightmost)."""
        size = 0
        for each in self.grouping[: index + 1]:
            size = each or size
        return size

    def with_grouping(self, whole: str) -> str:
        """``whole`` (ASCII digits) with this format's group separators."""
        if not self.group:
            return whole
        groups: list[str] = []
        while whole:
            size = self.group_size(len(groups))
            groups.insert(0, whole[-size:])
            whole = whole[:-size]
        return self.group.join(groups)


# The API's, the import files' and the commands' form: ``1234.56``.
PLAIN = AmountFormat()


def amount_format(locale: str | None = None) -> AmountFormat:
    """How ``locale`` (default: the active language) writes amounts: its decimal and
    group separators and its grouping, from the Unicode CLDR through Babel."""
    cldr = _cldr_locale(locale)
    decimal = get_decimal_symbol(cldr)
    group = get_group_symbol(cldr)
    grouping = tuple(parse_pattern(cldr.decimal_formats[None]).grouping)
    # CLDR gives (primary, secondary): (3, 3) is groups of three all the way, as (3,).
    if len(grouping) == 2 and grouping[0] == grouping[1]:
        grouping = grouping[:1]
    if not grouping or not grouping[0] or not group or group == decimal or group.isdigit():
        return AmountFormat(decimal=decimal)
    return AmountFormat(decimal=decimal, group=group, grouping=grouping)


def _cldr_locale(locale: str | None) -> Locale:
    """Babel's locale for a Django language code (``en-us`` -> ``en_US``); an unknown
    one reads as the site's language."""
    language = locale or translation.get_language() or settings.LANGUAGE_CODE
    for candidate in (language, settings.LANGUAGE_CODE, "en"):
        try:
            return Locale.parse(translation.to_locale(candidate))
        except (ValueError, UnknownLocaleError):
            continue
    raise UnknownLocaleError(language)


def amount_input_text(amount: Decimal, locale: str | None = None) -> str:
    """``amount`` as a person would type it in ``locale``, without grouping, so that
    ``parse_amount`` reads it back as exactly ``amount`` (a form's frozen values)."""
    return format(amount, "f").replace(".", amount_format(locale).decimal)


def amount_widget_attrs(currency: str, locale: str | None = None) -> dict[str, str]:
    """What static/js/remaining-balance.js needs to read a typed amount exactly as
    ``parse_amount`` does: the locale's separators and grouping, the currency's places
    and the largest amount."""
    form = amount_format(locale)
    return {
        "data-amount-decimal": form.decimal,
        "data-amount-group": form.group,
        "data-amount-grouping": ",".join(str(size) for size in form.grouping),
        "data-amount-places": str(exponent(currency)),
        "data-amount-max": str(MAX_AMOUNT),
    }


_ASCII_SPACE = " \t\n\r\x0b\x0c"
_SIGNS = "+-\u2212"
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
_EXPONENT = re.compile(r"[0-9.,]*[0-9][.,]?[eE][+-]?[0-9]+")
# Characters people write as a decimal mark, and those they also group digits with;
# text with any other character is not a number.
_DECIMAL_MARKS = frozenset(",.\u066b")
_SEPARATORS = _DECIMAL_MARKS | frozenset("'\u00a0\u202f\u066c _")


def _as_text(raw: object, field: str) -> str:
    if isinstance(raw, bool | float):
        raise BillingError(MALFORMED_AMOUNT, "Enter the amount as a decimal number.", field=field)
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise BillingError(MALFORMED_AMOUNT, _not_digits(PLAIN), field=field)
        # A positive exponent (a JSON 1E+3) stays visible, and is refused as one.
        exponent_ = raw.as_tuple().exponent
        return str(raw) if isinstance(exponent_, int) and exponent_ > 0 else format(raw, "f")
    raise BillingError(
        MALFORMED_AMOUNT, "Enter the amount as a decimal number, e.g. 1234.56.", field=field
    )


def _read(text: str, form: AmountFormat, field: str) -> tuple[str, str]:
    """The whole and fraction digits of ``text`` written in ``form``, or a refusal
    that says what is wrong with it."""

    def refuse(message: str) -> BillingError:
        return BillingError(MALFORMED_AMOUNT, message, field=field)

    text = text.strip(_ASCII_SPACE)
    if not text:
        raise refuse("Enter an amount.")
    if any(not char.isascii() and unicodedata.numeric(char, None) is not None for char in text):
        raise refuse("Enter the amount with the digits 0 to 9.")
    if text[0] in _SIGNS or text[-1] in _SIGNS:
        raise refuse("Enter the amount without a sign: an amount is always more than zero.")
    if _HEX.fullmatch(text):
        raise refuse("Enter the amount in decimal digits, not hexadecimal.")
    if _EXPONENT.fullmatch(text):
        raise refuse("Write the amount out in full, without an exponent: 1500, not 1.5e3.")
    allowed = set("0123456789") | {form.decimal} | ({form.group} if form.group else set())
    others = set(text) - allowed
    if others & _DECIMAL_MARKS:
        raise refuse(_use_the_separators(form))
    if others:
        raise refuse(_misplaced_groups(form) if others <= _SEPARATORS else _not_digits(form))
    parts = text.split(form.decimal)
    if len(parts) > 2 or (form.group and form.group in parts[-1] and len(parts) == 2):
        raise refuse(_use_the_separators(form))
    whole, fraction = parts[0], parts[1] if len(parts) == 2 else ""
    if form.group and form.group in whole:
        groups = whole.split(form.group)
        if not _grouped_properly(groups, form):
            # "1,50" and "2,5": a decimal comma, most likely; "1,00,000": misplaced groups.
            decimal_typed_as_group = len(parts) == 1 and (
                len(groups[-1]) != form.group_size(0) or groups[0].startswith("0")
            )
            raise refuse(
                _use_the_separators(form) if decimal_typed_as_group else _misplaced_groups(form)
            )
        whole = "".join(groups)
    if not whole and not fraction:
        raise refuse(_not_digits(form))
    return whole, fraction


def _grouped_properly(groups: list[str], form: AmountFormat) -> bool:
    """Each group the locale's size, from the right; the first 1 to that many digits,
    not starting with 0."""
    *rest, first = reversed(groups)
    if any(len(group) != form.group_size(index) for index, group in enumerate(rest)):
        return False
    size = form.group_size(len(rest))
    return 1 <= len(first) <= size and not first.startswith("0")


def _separator_name(separator: str) -> str:
    return {".": "a point", ",": "a comma"}.get(separator, f"“{separator}”")


def _use_the_separators(form: AmountFormat) -> str:
    if form == PLAIN:
        return "Use a point for decimals and no thousands separators, e.g. 1234.50"
    return f"Use {_separator_name(form.decimal)} for decimals, e.g. 1{form.decimal}50"


def _misplaced_groups(form: AmountFormat) -> str:
    if form == PLAIN:
        return _use_the_separators(form)
    example = f"{form.with_grouping('1234567')}{form.decimal}89"
    return (
        f"Put thousands separators only between groups of digits, e.g. {example}, "
        "or leave them out."
    )


def _not_digits(form: AmountFormat) -> str:
    return f"Enter the amount in digits, e.g. {form.with_grouping('1234')}{form.decimal}56."


def _too_many_places(currency: str, places: int, form: AmountFormat = PLAIN) -> str:
    if places == 0:
        example = form.with_grouping("1500")
        return f"{currency} amounts have no decimal places: enter a whole number, e.g. {example}."
    return f"{currency} amounts have at most {places} decimal places."


def format_money(amount: Decimal, currency: str) -> str:
    """``1234.5`` in USD -> ``"1,234.50"``: the number alone, for a table cell whose
    currency stands beside it. Anywhere else show an amount with ``money_text``."""
    return f"{amount:,.{exponent(currency)}f}"


def money_text(amount: Decimal, currency: str) -> str:
    """``1234.5`` in USD -> ``"1,234.50 USD"``: how every screen, message, admin column
    and command output shows an amount (SPEC Part 3). CSV files and the API write the
    plain number and the currency apart instead."""
    return f"{format_money(amount, currency)} {currency}"


def minor_money_text(minor: int, currency: str) -> str:
    """``money_text`` of an amount stored in minor units: ``123450`` USD -> ``"1,234.50 USD"``."""
    return money_text(from_minor(minor, currency), currency)
