"""The control codes (AR control, cash, dispute conversion): settings that name rows of
the chart of accounts, resolved once per process and checked at start-up.
"""

from __future__ import annotations

from typing import NamedTuple

from django.conf import settings

from billing.errors import INVALID_ACCOUNTING_CODE, BillingError
from billing.models import (
    AccountingCode,
    TaxRate,
)

# setting name -> (name, kind) of the code the data migration creates for it.
CONTROL_CODES = {
    "AR_CONTROL_CODE": ("Accounts receivable control", AccountingCode.Kind.ASSET),
    "CASH_CODE": ("Cash / clearing", AccountingCode.Kind.ASSET),
    "DISPUTE_CONVERSION_CODE": ("Bad debt expense", AccountingCode.Kind.EXPENSE),
    "ALLOWANCE_CODE": ("Allowance for doubtful accounts", AccountingCode.Kind.ASSET),
    "BAD_DEBT_EXPENSE_CODE": ("Bad debt expense", AccountingCode.Kind.EXPENSE),
    "TAX_PAYABLE_CODE": ("Output tax payable", AccountingCode.Kind.LIABILITY),
    "TAX_RELIEF_PENDING_CODE": ("Tax relief pending", AccountingCode.Kind.LIABILITY),
}


# The rate the data migration creates (billing 0013).
STARTING_TAX_RATE = "STD20"


def posting_code(accounting_code_id: int | None, what: str) -> int:
    """The code a row posts to; a row without one is a bug in its caller (the
    journal line's column is NOT NULL), refused before anything is written."""
    if accounting_code_id is None:
        raise ValueError(f"{what} has no accounting code to post to")
    return accounting_code_id


class ControlCodes(NamedTuple):
    ar_control_id: int
    cash_id: int
    dispute_conversion_id: int
    allowance_id: int
    bad_debt_expense_id: int
    tax_payable_id: int
    tax_relief_pending_id: int


_control_codes: dict[tuple[str, ...], ControlCodes] = {}


def control_codes() -> ControlCodes:
    """The ids of the codes the settings name, read once per process and setting
    values. Ids are never reused (AUTOINCREMENT, sequences) and a code that has
    postings cannot be deleted (PROTECT); a database flush (tests) runs
    post_migrate, which clears this cache in ``ensure_control_codes``."""
    wanted = tuple(getattr(settings, name) for name in CONTROL_CODES)
    cached = _control_codes.get(wanted)
    if cached is not None:
        return cached
    ids = dict(AccountingCode.objects.filter(code__in=wanted).values_list("code", "id"))
    missing = [code for code in wanted if code not in ids]
    if missing:
        raise BillingError(
            INVALID_ACCOUNTING_CODE,
            f"The chart of accounts has no code {', '.join(missing)} "
            f"({', '.join(CONTROL_CODES)}); run migrate.",
        )
    codes = _control_codes[wanted] = ControlCodes(*(ids[code] for code in wanted))
    return codes


def ensure_control_codes(**kwargs) -> None:
    """Create the codes the settings name when they are missing (after migrate, and
    after a test database flush). An existing code is left as it is; the system
    check reports one of the wrong kind."""
    _control_codes.clear()
    for setting_name, (name, kind) in CONTROL_CODES.items():
        AccountingCode.objects.get_or_create(
            code=getattr(settings, setting_name), defaults={"name": name, "kind": kind}
        )
    # The rate the data migration starts from, back after a flush (tests) when no
    # rate is left; never re-made beside rates an admin set up.
    if not TaxRate.objects.exists():
        TaxRate.objects.create(
            code=STARTING_TAX_RATE,
            name="Standard rate 20%",
            rate=20,
            payable_code=AccountingCode.objects.get(code=settings.TAX_PAYABLE_CODE),
            relief_after_months=6,
        )
