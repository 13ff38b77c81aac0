"""System checks for the deployment's billing settings.

A setting out of range does not stop the site from starting, but it is reported
here, with what fails until it is fixed. (Apps built on billing check their own
settings; their checks are registered from their ``AppConfig.ready()``.)
"""

from django.conf import settings
from django.core import checks


@checks.register()
def check_billing_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
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
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    if not (
        isinstance(timeout, int | float) and not isinstance(timeout, bool) and 0 < timeout <= 300
    ):
        messages.append(
            checks.Warning(
                f"WEBHOOK_TIMEOUT_SECONDS is {timeout!r}; it must be a number of seconds "
                "above 0, at most 300.",
                id="billing.W040",
                hint="Webhook deliveries fail (0, or below) or hold an endpoint too long.",
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
        "ALLOWANCE_CODE": AccountingCode.Kind.ASSET,
        "BAD_DEBT_EXPENSE_CODE": AccountingCode.Kind.EXPENSE,
        "TAX_PAYABLE_CODE": AccountingCode.Kind.LIABILITY,
        "TAX_RELIEF_PENDING_CODE": AccountingCode.Kind.LIABILITY,
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
