"""The one reader of amounts, ``billing.money.parse_amount`` (SPEC Part 3, "Money input
and display"): every form the SPEC names, and random text. What it returns is exactly
the value typed; anything else is refused with a message, never read as something else.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import example, given, settings
from hypothesis import strategies as st

from billing.errors import INVALID_AMOUNT, MALFORMED_AMOUNT, BillingError
from billing.money import (
    MAX_AMOUNT,
    PLAIN,
    amount_format,
    amount_input_text,
    exponent,
    parse_amount,
)

USE_A_POINT = "Use a point for decimals, e.g. 1.50"
CURRENCIES = ["USD", "JPY", "KWD", "EUR"]
# None is the plain form of the API, import files and commands.
LOCALES = [None, "en", "de"]


def refusal(raw, currency="USD", locale=None) -> BillingError:
    with pytest.raises(BillingError) as refused:
        parse_amount(raw, currency, locale=locale)
    return refused.value


# --- the forms the SPEC names ---------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1,234.56", "1234.56"),
        ("1234.56", "1234.56"),
        ("1,234", "1234.00"),
        ("12,345,678.9", "12345678.90"),
        ("1.50", "1.50"),
        ("0.05", "0.05"),
        (" 999,999,999,999 ", "999999999999.00"),
    ],
)
def test_english_reads_grouping_in_threes_and_a_decimal_point(typed, expected):
    value = parse_amount(typed, "USD", locale="en")
    assert value == Decimal(expected)
    assert str(value) == expected


@pytest.mark.parametrize("typed", ["1,50", "2,5", "1.000,00", "1.2.3", "1,000,00", "0,123"])
def test_english_refuses_a_decimal_comma_rather_than_guess(typed):
    error = refusal(typed, locale="en")
    assert error.code == MALFORMED_AMOUNT
    assert error.message == USE_A_POINT
    assert error.field == "amount"


@pytest.mark.parametrize("typed", ["12,34.56", "1,00,000.00", "1 000", "1'000", ",500"])
def test_english_refuses_groups_that_are_not_threes(typed):
    error = refusal(typed, locale="en")
    assert error.code == MALFORMED_AMOUNT
    assert "thousands separators only between groups of digits, e.g. 1,234,567.89" in (
        error.message
    )


def test_the_active_language_is_english_by_default():
    assert translation.get_language().startswith("en")
    assert amount_format() == amount_format("en")
    assert parse_amount("1,234.56", "USD", locale=translation.get_language()) == Decimal("1234.56")


def test_another_language_reads_its_own_separators():
    """Grouping and decimal separators follow the active locale (German: 1.234,56)."""
    with translation.override("de"):
        assert parse_amount("1.234,56", "EUR", locale=translation.get_language()) == Decimal(
            "1234.56"
        )
    assert parse_amount("1,50", "EUR", locale="de") == Decimal("1.50")
    error = refusal("1.50", "EUR", locale="de")
    assert error.message == "Use a comma for decimals, e.g. 1,50"


@pytest.mark.parametrize(
    ("typed", "currency", "message"),
    [
        ("12.345", "USD", "USD amounts have at most 2 decimal places."),
        ("12.340", "USD", "USD amounts have at most 2 decimal places."),
        ("1.5", "JPY", "JPY amounts have no decimal places: enter a whole number, e.g. 1,500."),
        # A point is the decimal separator in English: 1.000 is one yen and three decimal
        # places, which yen do not have. Never read as 1, never guessed as 1000.
        ("1.000", "JPY", "JPY amounts have no decimal places: enter a whole number, e.g. 1,500."),
        ("1.2345", "KWD", "KWD amounts have at most 3 decimal places."),
    ],
)
def test_more_decimals_than_the_currency_has_are_refused_even_zeros(typed, currency, message):
    error = refusal(typed, currency, locale="en")
    assert error.code == MALFORMED_AMOUNT
    assert error.message == message


def test_a_thousand_yen_is_typed_with_a_comma_or_nothing_in_english():
    assert parse_amount("1,000", "JPY", locale="en") == Decimal(1000)
    assert parse_amount("1000", "JPY", locale="en") == Decimal(1000)
    assert parse_amount("1000", "JPY") == Decimal(1000)
    assert refusal("1,000", "JPY").code == MALFORMED_AMOUNT  # the API's plain form


KINDS = {
    "exponent": ["1e3", "1E-2", "1.5e3", "2,5E2"],
    "hex": ["0x10", "0XFF"],
    "sign": ["-5", "+5", "-0", "5-", "\u22125", "--5"],
    "non-ASCII digits": ["\u0661\u0662", "\uff11\uff12", "\u00b2", "1\u0665"],
    "empty": ["", "   ", "\t"],
}


@pytest.mark.parametrize("locale", LOCALES)
def test_exponents_hex_signs_other_digits_and_empty_text_each_have_their_own_message(locale):
    messages = {}
    for kind, examples in KINDS.items():
        found = {refusal(text, locale=locale).message for text in examples}
        assert len(found) == 1, (kind, found)
        assert all(refusal(text, locale=locale).code == MALFORMED_AMOUNT for text in examples)
        messages[kind] = found.pop()
    point = PLAIN.decimal if locale is None else amount_format(locale).decimal
    decimals = refusal(f"1{point}234", locale=locale).message
    assert len({*messages.values(), decimals}) == len(KINDS) + 1, messages


@pytest.mark.parametrize(
    "sent", ["1,50", "1.000,00", "2,5", "1,234.56", "1,000", "1 000", "1_000", "1.2.3"]
)
def test_the_api_form_takes_no_grouping_and_no_decimal_comma(sent):
    error = refusal(sent)
    assert error.code == MALFORMED_AMOUNT
    assert "no thousands separators" in error.message


@pytest.mark.parametrize(
    ("sent", "expected"),
    [(Decimal("12.50"), "12.50"), (12, "12.00"), (Decimal("0.1"), "0.10")],
)
def test_json_numbers_are_read_as_their_plain_text(sent, expected):
    assert str(parse_amount(sent, "USD")) == expected


@pytest.mark.parametrize("sent", [Decimal("1E+3"), Decimal("1.5E+2")])
def test_a_json_number_with_an_exponent_is_refused(sent):
    assert "exponent" in refusal(sent).message


def test_zero_and_too_large_keep_their_own_code():
    assert refusal("0.00").code == INVALID_AMOUNT
    assert refusal("1,000,000,000,000", locale="en").code == INVALID_AMOUNT


# --- properties -------------------------------------------------------------------------


def minor_amounts(currency: str) -> st.SearchStrategy[Decimal]:
    places = exponent(currency)
    top = int(MAX_AMOUNT) * 10**places
    return st.integers(min_value=1, max_value=top).map(
        lambda minor: Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))
    )


def written(value: Decimal, locale: str | None, *, grouped: bool, trim: bool) -> str:
    """``value`` as a person writes it in ``locale``: grouped or not, trailing zeros of
    the decimals kept or not."""
    form = PLAIN if locale is None else amount_format(locale)
    whole, _, fraction = format(value, "f").partition(".")
    if trim:
        fraction = fraction.rstrip("0")
    text = form.with_grouping(whole) if grouped else whole
    return f"{text}{form.decimal}{fraction}" if fraction else text


@given(data=st.data(), currency=st.sampled_from(CURRENCIES), locale=st.sampled_from(LOCALES))
@example(data=None, currency="USD", locale="en")
def test_an_amount_written_in_any_accepted_form_is_read_as_exactly_that_amount(
    data, currency, locale
):
    value = Decimal("1234.56") if data is None else data.draw(minor_amounts(currency))
    value = value.quantize(Decimal(1).scaleb(-exponent(currency)))
    for grouped in (False, True):
        for trim in (False, True):
            text = written(value, locale, grouped=grouped, trim=trim)
            assert parse_amount(text, currency, locale=locale) == value, text
            assert str(parse_amount(text, currency, locale=locale)) == str(value)
    # The API's plain form never takes the grouped one.
    if value >= 1000 and locale is not None:
        grouped_text = written(value, locale, grouped=True, trim=False)
        assert refusal(grouped_text, currency).code == MALFORMED_AMOUNT


@given(value=minor_amounts("USD") | minor_amounts("JPY"), locale=st.sampled_from(LOCALES))
def test_a_forms_frozen_amount_reads_back_as_itself(value, locale):
    for currency in ("USD", "JPY", "KWD"):
        if -value.as_tuple().exponent > exponent(currency):
            continue
        text = amount_input_text(value, locale)
        assert parse_amount(text, currency, locale=locale) == value


# Characters that make up amounts, separators, signs, exponents, other digits and spaces.
AMOUNTISH = st.text(
    alphabet=st.sampled_from(
        list("0123456789") * 4 + list(".,'_ -+eEx\t") + ["\u00a0", "\u0661", "\uff13", "\u2212"]
    ),
    max_size=18,
)


def typed_value(text: str, locale: str | None) -> Decimal | None:
    """What ``text`` says, read literally: its group separators left out and its decimal
    separator read as a point, when it is nothing but digits and those separators."""
    form = PLAIN if locale is None else amount_format(locale)
    stripped = text.strip(" \t\n\r\x0b\x0c")
    separators = re.escape(form.decimal + form.group)
    if not re.fullmatch(f"[0-9{separators}]+", stripped):
        return None
    plain = stripped.replace(form.group, "") if form.group else stripped
    plain = plain.replace(form.decimal, ".")
    if not re.fullmatch(r"[0-9]*\.?[0-9]*", plain) or plain in ("", "."):
        return None
    return Decimal(plain)


def check_read_exactly_or_refused(text: str, currency: str, locale: str | None) -> None:
    try:
        value = parse_amount(text, currency, locale=locale)
    except BillingError as error:
        assert error.code in (MALFORMED_AMOUNT, INVALID_AMOUNT)
        assert error.field == "amount"
        assert error.message
        return
    # Accepted: exactly the number typed, positive, in the currency's places.
    assert typed_value(text, locale) == value, (text, value)
    assert 0 < value <= MAX_AMOUNT
    assert value.as_tuple().exponent == -exponent(currency)


@given(
    text=AMOUNTISH | st.text(max_size=12),
    currency=st.sampled_from(CURRENCIES),
    locale=st.sampled_from(LOCALES),
)
def test_random_text_is_read_as_exactly_what_was_typed_or_refused(text, currency, locale):
    check_read_exactly_or_refused(text, currency, locale)


@pytest.mark.slow
@settings(max_examples=5000, deadline=None)
@given(
    text=AMOUNTISH | st.text(max_size=24),
    currency=st.sampled_from(CURRENCIES),
    locale=st.sampled_from(LOCALES),
)
def test_random_text_is_read_as_exactly_what_was_typed_or_refused_at_length(text, currency, locale):
    check_read_exactly_or_refused(text, currency, locale)


@given(
    whole=st.integers(min_value=0, max_value=int(MAX_AMOUNT)),
    fraction=st.text(alphabet="0123456789", max_size=4),
    currency=st.sampled_from(CURRENCIES),
    locale=st.sampled_from([None, "en"]),
)
def test_every_plain_amount_within_the_rules_is_accepted(whole, fraction, currency, locale):
    """The other half of strictness: nothing plain and valid is refused."""
    text = f"{whole}.{fraction}" if fraction else str(whole)
    value = Decimal(f"{whole}.{fraction or 0}")
    if value == 0 or value > MAX_AMOUNT or len(fraction) > exponent(currency):
        assert refusal(text, currency, locale).code in (MALFORMED_AMOUNT, INVALID_AMOUNT)
    else:
        assert parse_amount(text, currency, locale=locale) == value
