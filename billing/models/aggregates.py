"""Aggregates of the journal kept so that today's reports do not grow with history.

An invoice's AR-control balance lives on the invoice itself
(``Invoice.ar_balance_minor``); this module holds the period balances and the month
tally of the lines.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from billing.models.accounts import AccountingCode
from billing.models.tallies import Tally


class PeriodBalance(models.Model):
    """The debits and credits of one accounting code in one currency over one closed
    calendar month: Σ of that month's journal lines.

    Written once, when a move of the lock date closes the month (its last day on or
    before the lock date), under the lock that waits for every posting in flight;
    nothing can post into a closed month afterwards, so the row never changes. A
    move of the lock date back deletes the months it reopens. The trial balance adds
    these rows for the closed months and the lines of the open months only.
    """

    accounting_code = models.ForeignKey(AccountingCode, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    # The month's first day.
    month = models.DateField()
    debit_minor = models.BigIntegerField(default=0)
    credit_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "accounting_code", "currency"], name="period_balance_unique"
            ),
            models.CheckConstraint(
                condition=Q(debit_minor__gte=0, credit_minor__gte=0),
                name="period_balance_sides_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.accounting_code_id} {self.currency}"


class MonthTally(Tally):
    """Σ the journal's lines per month, code and currency, as insert-only deltas
    (``billing.tallies``): every posting adds its lines to its entry's month, in its
    transaction (``billing.ledger.journal_tallies``). It covers every month, closed
    or open, so that a posting need not know which months are closed; the trial
    balance reads it for the open months only, the closed ones from the period
    balances above, which stay the figure of record a close writes once."""

    month = models.DateField()
    accounting_code = models.ForeignKey(
        AccountingCode, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    currency = models.CharField(max_length=3)
    debit_minor = models.BigIntegerField(default=0)
    credit_minor = models.BigIntegerField(default=0)

    KEYS = ("month", "accounting_code", "currency")
    SUMS = ("debit_minor", "credit_minor")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.accounting_code_id} {self.currency}"
