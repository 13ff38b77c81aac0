"""Small lookups the report templates need, each asking the model or the report."""

from django import template

register = template.Library()


@register.filter
def get_minor(amounts: dict, key: object) -> int:
    """``{{ month.by_reason|get_minor:code }}``: a grouped amount, 0 when absent."""
    return amounts.get(key, 0)


@register.filter
def hold_expired(hold, today) -> bool:
    """``{% if row|hold_expired:today %}``: the hold's own answer, not template arithmetic."""
    return hold.is_expired(today)
