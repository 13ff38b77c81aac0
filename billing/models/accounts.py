"""Customer accounts and the chart of accounting codes.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Account(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"

    acct_no = models.PositiveBigIntegerField("Account No.", unique=True)
    client_acct_id = models.CharField(
        "Client account ID", max_length=50, unique=True, null=True, blank=True
    )
    userid = models.CharField("User ID", max_length=50, unique=True, null=True, blank=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        ordering = ["acct_no"]
        indexes = [models.Index(fields=["name"], name="account_name_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(acct_no__gt=0), name="account_acct_no_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.acct_no} · {self.name}"


class AccountingCode(models.Model):
    class Kind(models.TextChoices):
        REVENUE = "revenue", "Revenue"
        EXPENSE = "expense", "Expense"
        ASSET = "asset", "Asset"

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
