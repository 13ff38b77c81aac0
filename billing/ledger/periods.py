"""The lock date: books closed through a date, read under a lock so that it cannot move
while a posting checks it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection
from django.utils.formats import date_format

from billing.errors import PERIOD_CLOSED, BillingError
from billing.models import (
    AccountingPeriodLock,
)

# PostgreSQL advisory lock between postings (shared) and a move of the lock date
# (exclusive): a move waits for every posting in flight to commit, and a posting
# that starts during a move reads the new date once the move commits. SQLite's
# IMMEDIATE transactions already serialise every write.
PERIOD_LOCK_KEY = 0x4A524E4C  # "JRNL"

# Inside ``lock_date_read_once()``: the lock date once read, in a one-item list.
_read_once: ContextVar[list[datetime.date | None] | None] = ContextVar(
    "lock_date_read_once", default=None
)


def hold_period_lock(*, exclusive: bool = False) -> None:
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {function}(%s)", [PERIOD_LOCK_KEY])


@contextmanager
def lock_date_read_once() -> Iterator[None]:
    """Within this block, read the lock date once, however many checks ask for it.

    Only inside a transaction: the period lock the first read takes (PostgreSQL), or
    the write lock the transaction holds from its start (SQLite), lasts until it ends,
    so the date cannot move while the block runs. A service that checks its date when
    it plans and again when it posts makes one read instead of two.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("lock_date_read_once() belongs inside the service's transaction")
    token = _read_once.set([])
    try:
        yield
    finally:
        _read_once.reset(token)


def lock_date() -> datetime.date | None:
    """The date the books are closed through, or None when no period is closed."""
    memo = _read_once.get()
    if memo:
        return memo[0]
    hold_period_lock()
    locked = (
        AccountingPeriodLock.objects.order_by("-id")
        .values_list("locked_through", flat=True)
        .first()
    )
    if memo is not None:
        memo.append(locked)
    return locked


def require_open(date: datetime.date, *, field: str | None, what: str = "date") -> None:
    """Refuse ``date`` when it is on or before the lock date (error 3130)."""
    locked = lock_date()
    if locked is not None and date <= locked:
        raise BillingError(
            PERIOD_CLOSED,
            f"The books are closed through {date_format(locked)}: the {what} must be after "
            f"{date_format(locked)}.",
            field=field,
        )
