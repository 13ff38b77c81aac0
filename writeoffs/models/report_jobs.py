"""A report computed on the task worker: aging or the trial balance as of a past date,
too slow for a request (``writeoffs.reports.jobs``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ReportJob(models.Model):
    """One requested report: what was asked, how far the worker got, and the CSV it
    wrote (kept on the row, so the download lives as long as the job is listed)."""

    class Kind(models.TextChoices):
        AGING = "aging", "Aging"
        TRIAL_BALANCE = "trial_balance", "Trial balance"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Aging: the as-of date. Trial balance: the last day of the range.
    as_of = models.DateField()
    # Trial balance: the first day of the range (None: from the beginning).
    start = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    steps_done = models.PositiveIntegerField(default=0)
    steps_total = models.PositiveIntegerField(default=1)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    filename = models.CharField(max_length=100, blank=True)
    content = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["requested_by", "-id"], name="report_job_user_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(steps_done__lte=models.F("steps_total")),
                name="report_job_steps_within_total",
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(finished_at__isnull=False),
                name="report_job_done_has_finished_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} as of {self.as_of} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        return 100 if self.status == self.Status.DONE else 100 * self.steps_done // self.steps_total

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
