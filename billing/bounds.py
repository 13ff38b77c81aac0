"""The range every date and whole number typed into a form or sent to the API must
lie in, so that no input reaches a date computation or a database column it cannot
fit: ``date(1, 1, 1) - 1 day`` and ``date(9999, 12, 31) + 1 day`` overflow, and a
whole number above 2**63 - 1 overflows a BIGINT column (or, on SQLite, the driver).

The screens refuse anything outside with a message next to the field
(billing.web.fields), the API with its error 1011.
"""

from __future__ import annotations

import datetime

EARLIEST_DATE = datetime.date(1900, 1, 1)
LATEST_DATE = datetime.date(2999, 12, 31)
# The largest value of a BIGINT (PostgreSQL) or INTEGER (SQLite) column.
BIGINT_MAX = 2**63 - 1

DATE_RANGE_MESSAGE = f"Enter a date from {EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}."


def date_in_range(day: datetime.date) -> bool:
    return EARLIEST_DATE <= day <= LATEST_DATE
