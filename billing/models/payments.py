"""Payments: immutable rows, removed only by voiding."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from billing.history import ActorHistoryModel
from billing.models.accounts import Account
from billing.models.base import IdempotentEntry
from billing.models.invoices import Invoice
from billing.money import from_minor


class PaymentStatus(models.TextChoices):
    """Payment.Status; module level so that the model's Meta constraints can name it."""

    ACTIVE = "active", "Active"
    REMOVED = "removed", "Removed"


class Payment(IdempotentEntry):
    class Method(models.TextChoices):
        CHECK = "check", "Check"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CARD = "card", "Card"
        CASH = "cash", "Cash"
        OTHER = "other", "Other"

    Status = PaymentStatus

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="payments")
    amount_minor = models.BigIntegerField()
    paid_on = models.DateField()
    method = models.CharField(max_length=20, choices=Method.choices, default=Method.CHECK)
    reference = models.CharField(max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removed_by_label = models.CharField(max_length=150, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removal_reason = models.TextField(blank=True)
    # The billing system's own id (SPEC Part 3); unique only when set.
    external_id = models.CharField("External ID", max_length=64, null=True, blank=True)

    history = HistoricalRecords(bases=[ActorHistoryModel])

    class Meta:
        ordering = ["-paid_on", "-id"]
        permissions = [("remove_payment", "Can remove a payment")]
        indexes = [
            models.Index(fields=["account", "-paid_on", "-id"], name="payment_account_date_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payment_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(status=PaymentStatus.ACTIVE) | Q(removed_at__isnull=False),
                name="payment_removed_has_time",
            ),
            models.UniqueConstraint(
                fields=["idempotency_scope", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="payment_idempotency_unique",
            ),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="payment_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment {self.pk}"

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.invoice.currency)
