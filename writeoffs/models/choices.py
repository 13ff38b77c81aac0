"""The write-off vocabulary: reason codes, settlement actions and sources, each defined
once and referenced by constraints, forms, the API and templates.
"""

from __future__ import annotations

from django.db import models


class ReasonCode(models.IntegerChoices):
    BAD_DEBT = 0, "Bad Debt"
    GOOD_WILL = 1, "Good Will"
    BILLING_ERROR = 2, "Billing Error"
    SALES_RETURN = 3, "Sales Return"
    PROMOTIONAL_DISCOUNT = 4, "Promotional Discount"
    OTHER = 5, "Other"
    CHARGE_DISPUTE_HOLD = 9001, "Charge Dispute Hold"
    SYSTEM_CONVERSION = 9999, "System-enforced conversion of dispute to permanent write-off"


# The reasons a person or an API caller may give for a write-off.
WRITEOFF_REASON_CODES = (
    ReasonCode.BAD_DEBT,
    ReasonCode.GOOD_WILL,
    ReasonCode.BILLING_ERROR,
    ReasonCode.SALES_RETURN,
    ReasonCode.PROMOTIONAL_DISCOUNT,
    ReasonCode.OTHER,
)


# Every reason a stored write-off may carry: the system's conversion of an expired
# hold adds its own.
STORED_WRITEOFF_REASON_CODES = (*WRITEOFF_REASON_CODES, ReasonCode.SYSTEM_CONVERSION)


class Settlement(models.TextChoices):
    """What settling a dispute hold does (and what expiry may do to one)."""

    CONVERT = "convert", "Convert to write-off"
    RELEASE = "release", "Release"
    RELEASE_REAGE = "release_reage", "Release and re-age"

    @property
    def outcome(self) -> str:
        """What it did to the hold, to end a sentence: "Dispute hold 7 released"."""
        return SETTLEMENT_OUTCOMES[self]


SETTLEMENT_OUTCOMES = {
    Settlement.CONVERT: "converted to a permanent write-off",
    Settlement.RELEASE: "released",
    Settlement.RELEASE_REAGE: "released and re-aged",
}


# Write-offs a later payment may reinstate: bad debt, and expiry conversions.
RECOVERABLE_REASON_CODES = (ReasonCode.BAD_DEBT, ReasonCode.SYSTEM_CONVERSION)


class Source(models.TextChoices):
    UI = "ui", "UI"
    API = "api", "API"
    ADMIN = "admin", "Admin"
    SYSTEM = "system", "System"
    BULK = "bulk", "Bulk run"
