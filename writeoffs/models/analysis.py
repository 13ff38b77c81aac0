"""The write-off analysis's tallies: its figures per month kept at posting time, so
that the analysis of the last twelve months reads a few rows per month whatever the
number of accounts (``writeoffs.reports.analysis_sums`` says what each adds up).

Insert-only deltas (``billing.tallies``): every posting of a write-off, a reversal,
a recovery or a payment's void adds a row of what it changed, so no two writers
share a row; the daily run folds them.
"""

from __future__ import annotations

from django.db import models

from billing.models.tallies import Tally


class AnalysisTally(Tally):
    """Written off and reversed (AR control, minor units) per month of the entry,
    currency, and the write-off's reason, revenue impact and author. A dimension is
    empty only for a line whose write-off the journal does not find (never, while the
    ledger verifies)."""

    month = models.DateField()
    currency = models.CharField(max_length=3)
    reason_code = models.PositiveIntegerField(null=True)
    revenue_impacting = models.BooleanField(null=True)
    user_label = models.CharField(max_length=150, null=True)
    written_minor = models.BigIntegerField(default=0)
    reversed_minor = models.BigIntegerField(default=0)

    KEYS = ("month", "currency", "reason_code", "revenue_impacting", "user_label")
    SUMS = ("written_minor", "reversed_minor")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.currency} reason {self.reason_code}"


class AnalysisMonthTally(Tally):
    """Per month of the entry and currency: the tax part of what was written off (net
    of reversals) and what recoveries reinstated (net of their voids)."""

    month = models.DateField()
    currency = models.CharField(max_length=3)
    tax_minor = models.BigIntegerField(default=0)
    recovered_minor = models.BigIntegerField(default=0)

    KEYS = ("month", "currency")
    SUMS = ("tax_minor", "recovered_minor")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.currency}"
