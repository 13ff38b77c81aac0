"""The allowance for doubtful accounts: the provision matrix per currency, and each
month end's provision run (SPEC Part 3).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from billing.history import ActorHistoryModel
from billing.money import from_minor


class ProvisionBucket(models.TextChoices):
    """The aging report's columns a rate applies to: its five buckets, and what is on
    hold or pending approval (both outside the buckets, at one rate)."""

    CURRENT = "current", "Current"
    D1_30 = "d1_30", "1\u201330"
    D31_60 = "d31_60", "31\u201360"
    D61_90 = "d61_90", "61\u201390"
    OVER_90 = "over_90", "Over 90"
    HELD_OR_PENDING = "held_or_pending", "On hold or pending"


# The SPEC's starting matrix, in percent; the data migration writes it per currency.
DEFAULT_RATES: dict[str, Decimal] = {
    ProvisionBucket.CURRENT: Decimal("1"),
    ProvisionBucket.D1_30: Decimal("3"),
    ProvisionBucket.D31_60: Decimal("10"),
    ProvisionBucket.D61_90: Decimal("25"),
    ProvisionBucket.OVER_90: Decimal("50"),
    ProvisionBucket.HELD_OR_PENDING: Decimal("50"),
}


class ProvisionRate(models.Model):
    """The percentage of an aging column's total the allowance must cover."""

    currency = models.CharField(max_length=3)
    bucket = models.CharField(max_length=20, choices=ProvisionBucket.choices)
    rate = models.DecimalField("rate (%)", max_digits=6, decimal_places=3)

    history = HistoricalRecords(bases=[ActorHistoryModel])

    class Meta:
        ordering = ["currency", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "bucket"], name="provision_rate_currency_bucket_unique"
            ),
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=100), name="provision_rate_0_to_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.get_bucket_display()}: {self.rate} %"


class ProvisionRun(models.Model):
    """One provision run for one currency at a month end: the allowance the aging
    required, the allowance booked before it, and the difference it posted (signed:
    negative releases allowance). A run that found no difference posts nothing."""

    class Status(models.TextChoices):
        POSTED = "posted", "Posted"
        NOTHING_TO_POST = "nothing", "Nothing to post"

    month_end = models.DateField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices)
    required_minor = models.BigIntegerField()
    booked_before_minor = models.BigIntegerField()
    posted_minor = models.BigIntegerField()
    # ALLOWANCE_METHOD when it ran: the setting may not change while a run after the
    # lock date has it (writeoffs.checks.check_allowance_method).
    allowance_method = models.BooleanField(default=False)
    # Per column: total, rate and amount, as the controller saw them.
    breakdown = models.JSONField(default=list)
    journal_entry = models.OneToOneField(
        "billing.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month_end", "currency", "-id"]
        permissions = [("run_provision", "Can run the month-end allowance provision")]
        indexes = [models.Index(fields=["month_end", "currency"], name="provision_run_month_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(posted_minor=F("required_minor") - F("booked_before_minor")),
                name="provision_run_posts_the_difference",
            ),
            models.CheckConstraint(
                condition=(Q(status="posted") & ~Q(posted_minor=0))
                | Q(status="nothing", journal_entry__isnull=True, posted_minor=0),
                name="provision_run_status_matches_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"Provision {self.currency} at {self.month_end}"

    @property
    def posted(self) -> Decimal:
        return from_minor(self.posted_minor, self.currency)
