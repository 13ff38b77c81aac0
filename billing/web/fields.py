"""Form fields every screen shares for what people type: dates and whole numbers.

Dates are read as ISO (``2026-12-01``) or as the active locale writes them (English:
``Dec 1, 2026``, billing/formats/en/formats.py), never as ``06/12/2026``, which
reads differently on either side of the Atlantic. Each date field says which format
it expects, and refuses a date outside 1900-2999 (billing.bounds) next to itself.
Whole numbers are refused above the largest BIGINT.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from billing.bounds import BIGINT_MAX, DATE_RANGE_MESSAGE, EARLIEST_DATE, LATEST_DATE

DATE_FORMAT_HINT = "YYYY-MM-DD"
DATE_HELP_TEXT = f"Format: {DATE_FORMAT_HINT}, e.g. 2026-12-01."
DATE_INVALID_MESSAGE = f"Enter the date as {DATE_FORMAT_HINT}, e.g. 2026-12-01."


def date_widget_attrs() -> dict[str, str]:
    """The attributes of a date input: the browser's date picker sends ISO; where there
    is no picker, the placeholder shows the format and the bounds are the field's."""
    return {
        "type": "date",
        "placeholder": DATE_FORMAT_HINT,
        "min": EARLIEST_DATE.isoformat(),
        "max": LATEST_DATE.isoformat(),
    }


class DateField(forms.DateField):
    """A date from 1900-01-01 to 2999-12-31, typed as ISO or in the locale's format."""

    default_error_messages = {"invalid": DATE_INVALID_MESSAGE}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.DateInput(attrs=date_widget_attrs(), format="%Y-%m-%d"))
        kwargs.setdefault("help_text", DATE_HELP_TEXT)
        super().__init__(**kwargs)
        self.validators.append(MinValueValidator(EARLIEST_DATE, message=DATE_RANGE_MESSAGE))
        self.validators.append(MaxValueValidator(LATEST_DATE, message=DATE_RANGE_MESSAGE))


class WholeNumberField(forms.IntegerField):
    """A whole number no larger than a BIGINT column holds (unless ``max_value`` is lower)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)
