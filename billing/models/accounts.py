"""Customer accounts and the chart of accounting codes."""

from __future__ import annotations

from django.core.exceptions import ValidationError
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
    # The billing system's own id (SPEC Part 3): imports match on it. Rows made here
    # before any import have none, so it is unique only when set.
    external_id = models.CharField("External ID", max_length=64, null=True, blank=True)

    class Meta:
        ordering = ["acct_no"]
        indexes = [models.Index(fields=["name"], name="account_name_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(acct_no__gt=0), name="account_acct_no_positive"),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="account_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.acct_no} · {self.name}"

    def clean(self) -> None:
        """Admin and every form of the model validate through here: an account's
        currency is its invoices' and their postings', so it is fixed once it has one."""
        super().clean()
        stored = _stored(self, "currency")
        if stored is not None and stored != self.currency and self.invoices.exists():
            raise ValidationError(
                {
                    "currency": (
                        f"The currency cannot change from {stored} to {self.currency}: this "
                        f"account has invoices, and they are posted in {stored}. Open another "
                        f"account for {self.currency}."
                    )
                }
            )


class AccountingCode(models.Model):
    class Kind(models.TextChoices):
        REVENUE = "revenue", "Revenue"
        EXPENSE = "expense", "Expense"
        ASSET = "asset", "Asset"
        LIABILITY = "liability", "Liability"

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        """A code's kind says which side of the books its lines are on (revenue,
        expense, asset), so it is fixed once anything is posted to it."""
        super().clean()
        stored = _stored(self, "kind")
        if stored is None or stored == self.kind:
            return
        # Through the app registry: journal.py imports this module, not the other way.
        journal_line = self._meta.apps.get_model("billing", "JournalLine")
        if journal_line.objects.filter(accounting_code_id=self.pk).exists():
            was = self.Kind(stored).label.lower()
            raise ValidationError(
                {
                    "kind": (
                        f"The kind cannot change from {was} to {self.get_kind_display().lower()}: "
                        "journal lines are posted to this code. Make a new code of that kind "
                        "and deactivate this one."
                    )
                }
            )


def _stored(instance: models.Model, field: str) -> str | None:
    """The value ``field`` has in the database, or None for a row not saved yet."""
    if instance.pk is None:
        return None
    return (
        type(instance)._default_manager.filter(pk=instance.pk).values_list(field, flat=True).first()
    )
