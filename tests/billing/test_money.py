"""billing.money: the one place that converts between Decimal and minor units."""

from decimal import Decimal

import pytest

from billing.errors import INVALID_AMOUNT, MALFORMED_AMOUNT, BillingError
from billing.money import MAX_AMOUNT, exponent, format_money, from_minor, parse_amount, to_minor


def test_usd_eur_have_two_places_jpy_none_kwd_three():
    assert exponent("USD") == 2
    assert exponent("EUR") == 2
    assert exponent("JPY") == 0
    assert exponent("KWD") == 3
    assert exponent("kwd") == 3


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("120.00", "USD", 12000),
        ("0.01", "USD", 1),
        ("120", "USD", 12000),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        ("0.001", "KWD", 1),
        (str(MAX_AMOUNT), "USD", 99999999999900),
    ],
)
def test_to_minor_is_exact(amount, currency, minor):
    assert to_minor(Decimal(amount), currency) == minor
    assert isinstance(to_minor(Decimal(amount), currency), int)


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("0.001", "USD"), ("120.005", "EUR"), ("1.5", "JPY"), ("0.0001", "KWD")],
)
def test_to_minor_refuses_more_places_than_the_currency_has(amount, currency):
    with pytest.raises(BillingError) as refused:
        to_minor(Decimal(amount), currency)
    assert refused.value.code == MALFORMED_AMOUNT
    assert f"{currency} amounts have" in refused.value.message


@pytest.mark.parametrize(
    ("minor", "currency", "amount"),
    [(12000, "USD", "120.00"), (1, "USD", "0.01"), (1500, "JPY", "1500"), (1234, "KWD", "1.234")],
)
def test_from_minor_gives_the_currency_places(minor, currency, amount):
    value = from_minor(minor, currency)
    assert value == Decimal(amount)
    assert str(value) == amount


@pytest.mark.parametrize("minor", [0, 1, 7, 99, 100, 12345, 10**14 - 1])
@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
def test_from_minor_and_to_minor_round_trip(minor, currency):
    assert to_minor(from_minor(minor, currency), currency) == minor


def test_thirty_cents_minus_ten_minus_twenty_is_exactly_zero():
    remaining = to_minor(Decimal("0.30"), "USD")
    for part in ("0.10", "0.20"):
        remaining -= to_minor(parse_amount(part, "USD"), "USD")
    assert remaining == 0
    assert from_minor(remaining, "USD") == Decimal("0.00")


def test_many_small_amounts_add_up_exactly():
    total = sum(to_minor(parse_amount("0.10", "USD"), "USD") for _ in range(10))
    assert from_minor(total, "USD") == Decimal("1.00")


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [
        ("125.50", "USD", "125.50"),
        ("  125.5 ", "USD", "125.50"),
        ("7", "USD", "7.00"),
        (".5", "USD", "0.50"),
        ("5.", "USD", "5.00"),
        (Decimal("0.01"), "USD", "0.01"),
        (5, "USD", "5.00"),
        ("1500", "JPY", "1500"),
        ("1.250", "KWD", "1.250"),
        ("1.25", "KWD", "1.250"),
        ("999999999999", "USD", "999999999999.00"),
    ],
)
def test_parse_amount_accepts_plain_positive_decimals_within_the_currency_places(
    raw, currency, expected
):
    value = parse_amount(raw, currency)
    assert value == Decimal(expected)
    assert str(value) == expected


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        ("0", INVALID_AMOUNT, "greater than zero"),
        ("0.00", INVALID_AMOUNT, "greater than zero"),
        (0, INVALID_AMOUNT, "greater than zero"),
        ("1000000000000", INVALID_AMOUNT, "too large"),
        ("9" * 60, INVALID_AMOUNT, "too large"),
        ("-0", MALFORMED_AMOUNT, "without a sign"),
        ("-5.00", MALFORMED_AMOUNT, "without a sign"),
        ("+5", MALFORMED_AMOUNT, "without a sign"),
        (Decimal("-0.01"), MALFORMED_AMOUNT, "without a sign"),
        ("1.001", MALFORMED_AMOUNT, "at most 2 decimal places"),
        ("0.009", MALFORMED_AMOUNT, "at most 2 decimal places"),
        ("12.340", MALFORMED_AMOUNT, "at most 2 decimal places"),
        ("1,250.00", MALFORMED_AMOUNT, "no thousands separators"),
        ("1,50", MALFORMED_AMOUNT, "Use a point for decimals"),
        ("1.2.3", MALFORMED_AMOUNT, "Use a point for decimals"),
        ("abc", MALFORMED_AMOUNT, "in digits"),
        ("12abc", MALFORMED_AMOUNT, "in digits"),
        ("", MALFORMED_AMOUNT, "Enter an amount"),
        ("   ", MALFORMED_AMOUNT, "Enter an amount"),
        ("NaN", MALFORMED_AMOUNT, "in digits"),
        ("sNaN", MALFORMED_AMOUNT, "in digits"),
        ("Infinity", MALFORMED_AMOUNT, "in digits"),
        ("-Infinity", MALFORMED_AMOUNT, "without a sign"),
        (Decimal("NaN"), MALFORMED_AMOUNT, "in digits"),
        (Decimal("Infinity"), MALFORMED_AMOUNT, "in digits"),
        ("1e13", MALFORMED_AMOUNT, "exponent"),
        ("1e2", MALFORMED_AMOUNT, "exponent"),
        (Decimal("1E+2"), MALFORMED_AMOUNT, "exponent"),
        ("0x10", MALFORMED_AMOUNT, "hexadecimal"),
        ("1_000", MALFORMED_AMOUNT, "no thousands separators"),
        ("\u0661\u0662", MALFORMED_AMOUNT, "digits 0 to 9"),
        ("\u00b2", MALFORMED_AMOUNT, "digits 0 to 9"),
        ("\uff11\uff12", MALFORMED_AMOUNT, "digits 0 to 9"),
        (None, MALFORMED_AMOUNT, "decimal number"),
        ([1], MALFORMED_AMOUNT, "decimal number"),
        (1.5, MALFORMED_AMOUNT, "decimal number"),
        (0.1, MALFORMED_AMOUNT, "decimal number"),
        (float("nan"), MALFORMED_AMOUNT, "decimal number"),
        (float("inf"), MALFORMED_AMOUNT, "decimal number"),
        (True, MALFORMED_AMOUNT, "decimal number"),
    ],
)
def test_parse_amount_refuses_what_is_not_a_positive_amount(raw, code, message):
    with pytest.raises(BillingError) as refused:
        parse_amount(raw, "USD")
    assert refused.value.code == code
    assert refused.value.field == "amount"
    assert message in refused.value.message


def test_parse_amount_refuses_fractions_of_a_yen():
    with pytest.raises(BillingError) as refused:
        parse_amount("100.5", "JPY")
    assert refused.value.code == MALFORMED_AMOUNT
    assert "JPY amounts have no decimal places" in refused.value.message


def test_parse_amount_refuses_a_fourth_place_for_dinars():
    with pytest.raises(BillingError) as refused:
        parse_amount("1.2345", "KWD")
    assert refused.value.code == MALFORMED_AMOUNT


def test_parse_amount_names_the_field_it_was_given():
    with pytest.raises(BillingError) as refused:
        parse_amount("x", "USD", field="writeoff_dispute_amount")
    assert refused.value.field == "writeoff_dispute_amount"


def test_parse_amount_refuses_a_tiny_exponent_without_rounding_it_to_zero():
    with pytest.raises(BillingError) as refused:
        parse_amount("1e-30", "USD")
    assert refused.value.code == MALFORMED_AMOUNT


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [("1234.5", "USD", "1,234.50"), ("1500", "JPY", "1,500"), ("1.2", "KWD", "1.200")],
)
def test_format_money_shows_the_currency_places_with_thousands_separators(amount, currency, text):
    assert format_money(Decimal(amount), currency) == text
