"""Approval limits per role and currency."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from billing.history import ActorHistoryModel
from billing.money import from_minor


class ApprovalLimit(models.Model):
    """The largest write-off a role may make (or approve) alone, per currency.

    ``limit_minor`` is in the currency's minor units; empty means unlimited. A
    currency with no row for a role has limit 0: everything that role writes off
    in it needs a second person. Rows are edited in admin by the finance
    controller and superusers only, never deleted, and every edit is in history.
    """

    class Role(models.TextChoices):
        # The API key roles use the same values (ApiKey.Role), so a key maps directly.
        CLERK = "clerk", "Billing clerk"
        SUPERVISOR = "supervisor", "Billing supervisor"
        CONTROLLER = "controller", "Finance controller"

    role = models.CharField(max_length=12, choices=Role.choices)
    currency = models.CharField(max_length=3)
    limit_minor = models.BigIntegerField(
        "limit (minor units)",
        null=True,
        blank=True,
        help_text="In the currency's minor units (cents). Empty means unlimited.",
    )

    history = HistoricalRecords(bases=[ActorHistoryModel])

    class Meta:
        verbose_name = "approval limit"
        ordering = ["role", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["role", "currency"], name="approval_limit_unique"),
            models.CheckConstraint(
                condition=Q(limit_minor__isnull=True) | Q(limit_minor__gte=0),
                name="approval_limit_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(role__in=["clerk", "supervisor", "controller"]),
                name="approval_limit_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} · {self.currency}"

    @property
    def limit(self) -> Decimal | None:
        if self.limit_minor is None:
            return None
        return from_minor(self.limit_minor, self.currency)
