"""Amounts in templates, through billing.money.

``{{ invoice.total|money_text:invoice.currency }}`` -> ``1,234.50 USD``, as every
screen shows an amount; ``{{ invoice.total|money:invoice.currency }}`` -> ``1,234.50``,
the number alone, for a cell whose currency stands beside it.
"""

from decimal import Decimal

from django import template

from billing.money import format_money, from_minor, minor_money_text, money_text

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str = "USD") -> str:
    if amount is None:
        return ""
    return format_money(amount, currency)


@register.filter
def minor_money(minor: int | None, currency: str = "USD") -> str:
    """``{{ line.debit_minor|minor_money:line.currency }}``: integer minor units shown."""
    if minor is None:
        return ""
    return format_money(from_minor(minor, currency), currency)


@register.filter(name="money_text")
def money_text_filter(amount: Decimal | None, currency: str = "USD") -> str:
    if amount is None:
        return ""
    return money_text(amount, currency)


@register.filter(name="minor_money_text")
def minor_money_text_filter(minor: int | None, currency: str = "USD") -> str:
    if minor is None:
        return ""
    return minor_money_text(minor, currency)
