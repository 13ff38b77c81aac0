"""``{{ invoice.total|money:invoice.currency }}`` -> ``1,234.50``, through billing.money."""

from decimal import Decimal

from django import template

from billing.money import format_money, from_minor

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
