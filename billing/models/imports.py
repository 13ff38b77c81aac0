"""Imports from the billing system (SPEC Part 3): the saved column mappings and the
import runs the screen starts on the task worker.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ImportKind(models.TextChoices):
    ACCOUNTS = "accounts", "Accounts"
    INVOICES = "invoices", "Invoices"
    PAYMENTS = "payments", "Payments"


class ImportMapping(models.Model):
    """How a billing system's own CSV layout maps onto one of ours, saved by name.

    ``columns`` maps each of our fields to the column of the file it is read from;
    ``fixed`` gives a field one value for the whole file (one currency, say). A
    field named in neither is left empty. Columns of the file that no field names
    are ignored: an export carries many columns we do not need.
    """

    Kind = ImportKind

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    columns = models.JSONField(default=dict, blank=True)
    fixed = models.JSONField(default=dict, blank=True)
    # Exports that write dates as timestamps ("2026-03-31 14:05:00") and currencies in
    # lower case ("usd"): read the date part and the code in capitals. Nothing else is
    # ever converted: a value that is still not ours is refused.
    dates_from_timestamps = models.BooleanField(default=False)
    currency_in_capitals = models.BooleanField(default=False)
    # Shipped with the product (Stripe, Chargebee), from a data migration.
    builtin = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class ImportRunStatus(models.TextChoices):
    CHECKING = "checking", "Checking"
    CHECKED = "checked", "Checked"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportRun(models.Model):
    """One uploaded file on its way in: checked (the preview's counts), then imported
    by the task worker, which reports its progress here."""

    Kind = ImportKind
    Status = ImportRunStatus

    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Through Django's storage API (STORAGES["default"]).
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    mapping = models.ForeignKey(
        ImportMapping, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CHECKED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The check's counts (the preview), then the import's.
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    done_rows = models.PositiveIntegerField(default=0)
    file_error = models.TextField(blank=True)
    # [[row, column, message], ...]: the first IMPORT_PROBLEMS_KEPT problems.
    problems = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("import_billing", "Can import accounts, invoices and payments")]
        constraints = [
            models.CheckConstraint(
                condition=Q(done_rows__lte=models.F("rows")), name="import_run_done_within_rows"
            ),
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.kind})"

    @property
    def percent(self) -> int:
        return 100 if not self.rows else min(100, self.done_rows * 100 // self.rows)

    @property
    def is_working(self) -> bool:
        """The worker has it: the page polls until it is not."""
        return self.status in (
            ImportRunStatus.CHECKING,
            ImportRunStatus.QUEUED,
            ImportRunStatus.RUNNING,
        )
