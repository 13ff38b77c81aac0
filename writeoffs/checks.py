"""System checks for the dispute-hold settings (DISPUTE_HOLD_*), registered by
``WriteoffsConfig.ready()``.

An out-of-range dispute setting does not stop the site from starting (billing
staff can still write off and record payments), but it is reported here, and
creating a dispute refuses with 29013 until it is fixed. The check keeps the id it
had when billing ran it, billing.W001, so silenced checks and alerts still match.
"""

from django.conf import settings
from django.core import checks

from writeoffs.models import Settlement

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
