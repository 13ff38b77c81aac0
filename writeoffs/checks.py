"""System checks for writeoffs' configuration (``manage.py check``), registered by
``WriteoffsConfig.ready()``.

- The dispute-hold settings (DISPUTE_HOLD_*): an out-of-range value does not stop
  the site from starting (billing staff can still write off and record payments),
  but it is reported, and creating a dispute refuses with 29013 until it is fixed.
  The check keeps the id it had when billing ran it, billing.W001, so silenced checks
  and alerts still match.
- Approval limits: a currency in use with no limit row for the clerk or the
  supervisor does not stop anything: that role's limit there is 0, so each of its
  write-offs in that currency waits for a second person (the controller is unlimited
  in every currency). It is most likely a currency added without its limits, so it
  is reported.
- The allowance method (ALLOWANCE_METHOD) may not change while a provision run after
  the lock date was booked under the other method: write-offs would be charged to the
  expense on top of a provision for them (or to an allowance nobody provided). An
  error, so the site does not start until the setting is put back or the month closes.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.db import DatabaseError

from billing.ledger.periods import lock_date
from writeoffs.approvals.limits import missing_limit_message, missing_limit_rows
from writeoffs.models import ProvisionRun, Settlement

# Expiry either leaves a hold open ("none") or settles it like a person would.
EXPIRATION_LEAVE_OPEN = "none"
EXPIRATION_ACTIONS = (EXPIRATION_LEAVE_OPEN, *Settlement.values)
EXPIRATION_DAYS_RANGE = (2, 180)
OVERRIDE_MAX_DAYS_RANGE = (2, 540)


def _in_range(value: object, bounds: tuple[int, int]) -> bool:
    return (
        isinstance(value, int) and not isinstance(value, bool) and (bounds[0] <= value <= bounds[1])
    )


def dispute_settings_problems() -> list[str]:
    """Each problem names the setting, so the operator knows what to change."""
    problems = []
    days = settings.DISPUTE_HOLD_EXPIRATION_DAYS
    if not _in_range(days, EXPIRATION_DAYS_RANGE):
        problems.append(
            f"DISPUTE_HOLD_EXPIRATION_DAYS is {days!r}; it must be a whole number of days "
            f"from {EXPIRATION_DAYS_RANGE[0]} to {EXPIRATION_DAYS_RANGE[1]}."
        )
    max_days = settings.DISPUTE_HOLD_OVERRIDE_MAX_DAYS
    if not _in_range(max_days, OVERRIDE_MAX_DAYS_RANGE):
        problems.append(
            f"DISPUTE_HOLD_OVERRIDE_MAX_DAYS is {max_days!r}; it must be a whole number of days "
            f"from {OVERRIDE_MAX_DAYS_RANGE[0]} to {OVERRIDE_MAX_DAYS_RANGE[1]}."
        )
    action = settings.DISPUTE_HOLD_EXPIRATION_ACTION
    if action not in EXPIRATION_ACTIONS:
        problems.append(
            f"DISPUTE_HOLD_EXPIRATION_ACTION is {action!r}; it must be one of "
            f"{', '.join(EXPIRATION_ACTIONS)}."
        )
    return problems


def check_dispute_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [
        checks.Warning(problem, id="billing.W001", hint="Creating a dispute fails with 29013.")
        for problem in dispute_settings_problems()
    ]


LIMITS_HINT = (
    "Add the row in admin (Write-offs and disputes > Approval limits); until then each "
    "write-off by that role in that currency waits for approval."
)


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


def method_switch_refusal() -> str | None:
    """Why ALLOWANCE_METHOD may not be what it is now: a provision run after the lock
    date was booked under the other method. None when nothing stands in the way."""
    locked = lock_date()
    runs = ProvisionRun.objects.filter(status=ProvisionRun.Status.POSTED).exclude(
        allowance_method=settings.ALLOWANCE_METHOD
    )
    if locked is not None:
        runs = runs.filter(month_end__gt=locked)
    run = runs.order_by("month_end").first()
    if run is None:
        return None
    was = "on" if run.allowance_method else "off"
    return (
        f"ALLOWANCE_METHOD is {'on' if settings.ALLOWANCE_METHOD else 'off'}, but the "
        f"allowance provision at {run.month_end} ({run.currency}), after the lock date, "
        f"was booked with it {was}."
    )


def check_allowance_method(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        refusal = method_switch_refusal()
    except DatabaseError:
        return []
    if refusal is None:
        return []
    return [
        checks.Error(
            refusal,
            id="writeoffs.E001",
            hint="Set ALLOWANCE_METHOD back, or close the month (move the lock date past "
            "its provision) before switching.",
        )
    ]
