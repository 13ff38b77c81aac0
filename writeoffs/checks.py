"""System checks for writeoffs' configuration (``manage.py check``).

A currency in use with no approval-limit row for the clerk or the supervisor does
not stop anything: that role's limit there is 0, so each of its write-offs in that
currency waits for a second person (the controller is unlimited in every currency).
It is most likely a currency added without its limits, so it is reported.
"""

from __future__ import annotations

from django.core import checks
from django.db import DatabaseError

from writeoffs.approvals.limits import missing_limit_message, missing_limit_rows

LIMITS_HINT = (
    "Add the row in admin (Write-offs and disputes > Approval limits); until then each "
    "write-off by that role in that currency waits for approval."
)


@checks.register()
def check_approval_limits(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        missing = missing_limit_rows()
    except DatabaseError:
        # Before the first migrate there is no table to read; migrate seeds the defaults.
        return []
    return [
        checks.Warning(missing_limit_message(role, currency), id="writeoffs.W001", hint=LIMITS_HINT)
        for role, currency in missing
    ]
