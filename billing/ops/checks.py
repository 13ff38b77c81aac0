"""System checks for the deployment's billing settings.

An out-of-range dispute setting does not stop the site from starting (billing
staff can still write off and record payments), but it is reported here, and
creating a dispute refuses with 29013 until it is fixed.
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


@checks.register()
def check_billing_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = [
        checks.Warning(problem, id="billing.W001", hint="Creating a dispute fails with 29013.")
        for problem in dispute_settings_problems()
    ]
    client_no = settings.BILLING_CLIENT_NO
    if not (isinstance(client_no, int) and client_no > 0):
        messages.append(
            checks.Warning(
                f"BILLING_CLIENT_NO is {client_no!r}; it must be a positive whole number.",
                id="billing.W002",
                hint="API calls cannot authenticate until it is fixed.",
            )
        )
    retention = settings.SIGNIN_LOG_RETENTION_DAYS
    if not (isinstance(retention, int) and not isinstance(retention, bool) and retention >= 1):
        messages.append(
            checks.Warning(
                f"SIGNIN_LOG_RETENTION_DAYS is {retention!r}; it must be a whole number of "
                "days, at least 1.",
                id="billing.W020",
                hint="run_daily's purge step refuses to run until it is fixed.",
            )
        )
    return messages


@checks.register()
def check_journal_codes(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The codes the journal posts to exist, are active and of the right kind."""
    from django.db import DatabaseError

    from billing.models import AccountingCode

    wanted = {
        "AR_CONTROL_CODE": AccountingCode.Kind.ASSET,
        "CASH_CODE": AccountingCode.Kind.ASSET,
        "DISPUTE_CONVERSION_CODE": AccountingCode.Kind.EXPENSE,
    }
    try:
        found = {
            code.code: code
            for code in AccountingCode.objects.filter(
                code__in=[getattr(settings, name) for name in wanted]
            )
        }
    except DatabaseError:
        # Before the first migrate there is no table to check; migrate creates the codes.
        return []
    messages: list[checks.CheckMessage] = []
    for name, kind in wanted.items():
        value = getattr(settings, name)
        code = found.get(value)
        if code is None or code.kind != kind or not code.active:
            messages.append(
                checks.Error(
                    f"{name} is {value!r}, which is not an active {kind} accounting code.",
                    id="billing.E010",
                    hint="Run migrate (it creates the code), or set the setting to an existing "
                    f"active {kind} code. Nothing can post to the journal until it is fixed.",
                )
            )
    return messages
