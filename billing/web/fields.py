"""Form fields every screen shares for what people type: dates and whole numbers.

Dates are read as ISO (``2026-12-01``) or as the active locale writes them (English:
``Dec 1, 2026``, billing/formats/en/formats.py), never as ``06/12/2026``, which
reads differently on either side of the Atlantic. Each date field says which formats
it takes, shows its date as the screens do, and refuses a date outside 1900-2999
(billing.bounds) next to itself.
Whole numbers are refused above the largest BIGINT.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.formats import date_format, get_format
from django.utils.functional import lazy

from billing.bounds import BIGINT_MAX, DATE_RANGE_MESSAGE, EARLIEST_DATE, LATEST_DATE

# The day every example names (a day of month below 10 and a month name, so that
# the example shows how each part is written).
EXAMPLE_DAY = datetime.date(2026, 12, 1)
DATE_FORMAT_HINT = "YYYY-MM-DD"


def accepted_date_formats() -> str:
    """The formats a typed date may take in the active locale, as examples: the way
    the screens show dates (``Dec 1, 2026`` in English) and ISO (``2026-12-01``)."""
    shown = date_format(EXAMPLE_DAY)
    own = any(fmt != "%Y-%m-%d" for fmt in get_format("DATE_INPUT_FORMATS"))
    iso = EXAMPLE_DAY.isoformat()
    return f"{shown} or {iso}" if own else f"{DATE_FORMAT_HINT}, e.g. {iso}"


DATE_HELP_TEXT = lazy(lambda: f"Type the date as {accepted_date_formats()}.", str)()
DATE_INVALID_MESSAGE = lazy(lambda: f"Enter the date as {accepted_date_formats()}.", str)()


def date_widget_attrs() -> dict[str, str]:
    """A date is typed in a text box, never the browser's date picker, which shows it
    in the browser's own format (12/01/2026 in American English), unlike every other
    date on the screen; the placeholder shows the format."""
    return {"placeholder": lazy(date_format, str)(EXAMPLE_DAY), "autocomplete": "off"}


class DateInput(forms.DateInput):
    """A text box that shows its date the way the screens do (``Dec 1, 2026``); what
    was typed and refused is shown as typed."""

    input_type = "text"

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, datetime.date):
            return date_format(value)
        return super().format_value(value)


class DateField(forms.DateField):
    """A date from 1900-01-01 to 2999-12-31, typed as ISO or in the locale's format."""

    default_error_messages = {"invalid": DATE_INVALID_MESSAGE}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", DateInput(attrs=date_widget_attrs()))
        kwargs.setdefault("help_text", DATE_HELP_TEXT)
        super().__init__(**kwargs)
        self.validators.append(MinValueValidator(EARLIEST_DATE, message=DATE_RANGE_MESSAGE))
        self.validators.append(MaxValueValidator(LATEST_DATE, message=DATE_RANGE_MESSAGE))


class WholeNumberField(forms.IntegerField):
    """A whole number no larger than a BIGINT column holds (unless ``max_value`` is lower)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)
