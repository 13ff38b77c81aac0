"""A test's "today" moved into the past: everything the services read as now.

``timezone.now()`` is what ``billing.rules.today()`` (through ``timezone.localdate``),
``auto_now_add`` and the services' own timestamps read, so moving it moves all of
them together: a row made inside ``clock_at(day)`` is made on ``day``, as if it
had been made then. The clock only goes back; the daily jobs take no future date.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from django.utils import timezone


@contextmanager
def clock_at(day: datetime.date) -> Iterator[None]:
    """Run the block as if today were ``day`` (at the same time of day)."""
    real_now = timezone.now
    shift = timezone.localdate(real_now()) - day
    if shift < datetime.timedelta(0):
        raise ValueError(f"{day} is in the future; the clock only goes back")
    with mock.patch("django.utils.timezone.now", side_effect=lambda: real_now() - shift):
        yield
