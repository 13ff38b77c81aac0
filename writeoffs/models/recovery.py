"""Recoveries: written-off money that a later payment reinstated."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from billing.history import ActorHistoryModel
from billing.money import from_minor
from writeoffs.models.writeoffs import WriteOff


class RecoveryStatus(models.TextChoices):
    """WriteOffRecovery.Status; module level so that the model's Meta constraints can name it."""

    ACTIVE = "active", "Active"
    VOIDED = "voided", "Voided"


class WriteOffRecovery(models.Model):
    """Written-off money a later payment reinstated (bad-debt recovery).

    The payment is recorded whole; the part above the invoice's available amount
    comes back from these write-offs. Voiding the payment voids its recoveries.
    """

    Status = RecoveryStatus

    writeoff = models.ForeignKey(WriteOff, on_delete=models.PROTECT, related_name="recoveries")
    payment = models.ForeignKey(
        "billing.Payment", on_delete=models.PROTECT, related_name="writeoff_recoveries"
    )
    amount_minor = models.BigIntegerField()
    recovered_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    voided_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(bases=[ActorHistoryModel])

    class Meta:
        verbose_name = "write-off recovery"
        verbose_name_plural = "write-off recoveries"
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="recovery_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(status=RecoveryStatus.ACTIVE, voided_at__isnull=True)
                | Q(status=RecoveryStatus.VOIDED, voided_at__isnull=False),
                name="recovery_voided_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Recovery {self.pk} of write-off {self.writeoff_id}"

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.writeoff.invoice.currency)
