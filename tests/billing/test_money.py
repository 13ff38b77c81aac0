"""billing.money: the one place that converts between Decimal and minor units."""

from decimal import Decimal

import pytest

from billing.errors import INVALID_AMOUNT, BillingError
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
    assert refused.value.code == INVALID_AMOUNT
    assert f"at most {exponent(currency)} decimal places" in refused.value.message


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
        ("1,250.00", "USD", "1250.00"),
        ("7", "USD", "7.00"),
        (Decimal("0.01"), "USD", "0.01"),
        (5, "USD", "5.00"),
        ("1500", "JPY", "1500"),
        ("1.250", "KWD", "1.250"),
        ("1.25", "KWD", "1.250"),
        ("999999999999", "USD", "999999999999.00"),
    ],
)
def test_parse_amount_accepts_positive_decimals_within_the_currency_places(raw, currency, expected):
    value = parse_amount(raw, currency)
    assert value == Decimal(expected)
    assert str(value) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0", "greater than zero"),
        ("0.00", "greater than zero"),
        ("-0", "greater than zero"),
        ("-5.00", "greater than zero"),
        (0, "greater than zero"),
        (Decimal("-0.01"), "greater than zero"),
        ("1.001", "at most 2 decimal places"),
        ("0.009", "at most 2 decimal places"),
        ("abc", "valid amount"),
        ("12abc", "valid amount"),
        ("1.2.3", "valid amount"),
        ("", "valid amount"),
        ("NaN", "valid amount"),
        ("sNaN", "valid amount"),
        ("Infinity", "valid amount"),
        ("-Infinity", "valid amount"),
        (Decimal("NaN"), "valid amount"),
        (Decimal("Infinity"), "valid amount"),
        ("1000000000000", "too large"),
        ("1e13", "valid amount"),
        ("1e2", "valid amount"),
        ("1_000", "valid amount"),
        ("\u0661\u0662", "valid amount"),
        ("\u00b2", "valid amount"),
        ("9" * 60, "too large"),
        (None, "valid amount"),
        ([1], "valid amount"),
        (1.5, "decimal number"),
        (0.1, "decimal number"),
        (float("nan"), "decimal number"),
        (float("inf"), "decimal number"),
        (True, "decimal number"),
    ],
)
def test_parse_amount_refuses_what_is_not_a_positive_amount(raw, message):
    with pytest.raises(BillingError) as refused:
        parse_amount(raw, "USD")
    assert refused.value.code == INVALID_AMOUNT
    assert refused.value.field == "amount"
    assert message in refused.value.message


def test_parse_amount_refuses_fractions_of_a_yen():
    with pytest.raises(BillingError) as refused:
        parse_amount("100.5", "JPY")
    assert refused.value.code == INVALID_AMOUNT
    assert "at most 0 decimal places" in refused.value.message


def test_parse_amount_refuses_a_fourth_place_for_dinars():
    with pytest.raises(BillingError) as refused:
        parse_amount("1.2345", "KWD")
    assert refused.value.code == INVALID_AMOUNT


def test_parse_amount_names_the_field_it_was_given():
    with pytest.raises(BillingError) as refused:
        parse_amount("x", "USD", field="writeoff_dispute_amount")
    assert refused.value.field == "writeoff_dispute_amount"


def test_parse_amount_refuses_a_tiny_exponent_without_rounding_it_to_zero():
    with pytest.raises(BillingError) as refused:
        parse_amount("1e-30", "USD")
    assert refused.value.code == INVALID_AMOUNT


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [("1234.5", "USD", "1,234.50"), ("1500", "JPY", "1,500"), ("1.2", "KWD", "1.200")],
)
def test_format_money_shows_the_currency_places_with_thousands_separators(amount, currency, text):
    assert format_money(Decimal(amount), currency) == text
