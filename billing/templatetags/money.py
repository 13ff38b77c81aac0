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
def money_minor(minor: int | None, currency: str = "USD") -> str:
    """``{{ row.total_minor|money_minor:row.currency }}``: integer minor units, shown
    through the currency's exponent (the reports' grouped sums are minor units)."""
    if minor is None:
        return ""
    return format_money(from_minor(minor, currency), currency)
