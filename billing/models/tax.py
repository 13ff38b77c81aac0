"""Tax rates: what an invoice line's tax is charged at and owed to (SPEC Part 3)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from billing.history import ActorHistoryModel
from billing.models.accounts import AccountingCode


class TaxRate(models.Model):
    """A rate an invoice line's tax is charged at, the liability code the tax is owed
    on, and how long after an invoice's due date a bad debt's tax may be reclaimed
    (bad-debt relief). Editable in admin, with history; a rate in use is never
    deleted (lines protect it), only deactivated."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    # A percentage (20.000 is 20 %). Below 100 %: a line's tax is then always less
    # than its net, so the split's rounding remainder lands on a net part and the tax
    # parts of a write-off never add up to more than the tax charged.
    rate = models.DecimalField(max_digits=6, decimal_places=3)
    payable_code = models.ForeignKey(
        AccountingCode,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="tax payable code",
    )
    relief_after_months = models.PositiveSmallIntegerField(
        default=6,
        help_text="Months after the invoice's due date before a bad debt's tax is reclaimed.",
    )
    active = models.BooleanField(default=True)

    history = HistoricalRecords(bases=[ActorHistoryModel])

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0, rate__lt=100), name="tax_rate_below_100_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def tax_on_minor(self, net_minor: int) -> int:
        """The tax on ``net_minor`` at this rate, rounded half-up to the minor unit."""
        exact = Decimal(net_minor) * self.rate / 100
        return int(exact.quantize(Decimal(1), rounding="ROUND_HALF_UP"))
