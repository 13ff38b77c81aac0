"""``{% load dates %}``: what a hand-written date box says about the formats it takes,
in the same words as billing.web.fields.DateField."""

from __future__ import annotations

from django import template
from django.utils.formats import date_format

from billing.web.fields import DATE_HELP_TEXT, EXAMPLE_DAY

register = template.Library()


@register.simple_tag
def date_help() -> str:
    """``Type the date as Dec 1, 2026 or 2026-12-01.``"""
    return str(DATE_HELP_TEXT)


@register.simple_tag
def date_placeholder() -> str:
    """An example date in the screens' format: ``Dec 1, 2026``."""
    return date_format(EXAMPLE_DAY)
