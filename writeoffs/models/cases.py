"""Dispute cases (SPEC Part 3, "Dispute cases"): one account's dispute holds, worked
by an owner to a resolution.

The holds stay Part 1 holds (``DisputeHold.case`` points here); a case adds the
work on them: a category and its due date, a status with its log of changes, an
assignee, the customer's contact, notes, attachments and, once resolved, a root
cause. Every change goes through the services in ``writeoffs/cases/``.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from billing.history import ActorHistoryModel
from billing.models import Account
from billing.rules import today


class CaseCategory(models.Model):
    """What a dispute is about; admin-editable. ``target_days`` sets a new case's due date."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    target_days = models.PositiveIntegerField()
    active = models.BooleanField(default=True)

    history = HistoricalRecords(bases=[ActorHistoryModel])

    class Meta:
        verbose_name = "case category"
        verbose_name_plural = "case categories"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_days__gte=1), name="case_category_target_days_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RootCause(models.Model):
    """Why a resolved dispute happened; admin-editable. ``paid`` is the auto-resolve's."""

    PAID = "paid"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)

    history = HistoricalRecords(bases=[ActorHistoryModel])

    class Meta:
        verbose_name = "root cause"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_REVIEW = "in_review", "In review"
    WAITING_ON_CUSTOMER = "waiting_on_customer", "Waiting on customer"
    RESOLVED = "resolved", "Resolved"
    REJECTED = "rejected", "Rejected"


# A case in one of these is worked no more; every other status is "open" in the wide
# sense: its invoices are in dispute and collections on them are paused.
CLOSED_CASE_STATUSES = (CaseStatus.RESOLVED, CaseStatus.REJECTED)
OPEN_CASE_STATUSES = tuple(s for s in CaseStatus if s not in CLOSED_CASE_STATUSES)


class CaseNumber(models.Model):
    """The one row that gives out case numbers: the last one given. ``case_open`` locks
    it, so numbers are gap-free and in the order the cases commit."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="case_number_single_row"),
        ]

    def __str__(self) -> str:
        return f"Case numbers given through {self.last_number}"


class Case(models.Model):
    Status = CaseStatus

    # The case's number is its own sequence, shown as "Case 12"; the id stays internal.
    number = models.PositiveBigIntegerField("Case No.", unique=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="cases")
    category = models.ForeignKey(CaseCategory, on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    due_date = models.DateField()
    contact_name = models.CharField(max_length=150, blank=True)
    contact_email = models.EmailField(blank=True)
    root_cause = models.ForeignKey(
        RootCause, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by_label = models.CharField("created by", max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    # Assignee, due date, contact and root cause changes, with who made them; status
    # changes also have their own log (CaseStatusChange), which the timeline reads.
    history = HistoricalRecords(bases=[ActorHistoryModel])

    class Meta:
        verbose_name = "dispute case"
        ordering = ["-number"]
        permissions = [
            ("edit_case_due_date", "Can change a dispute case's due date"),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"], name="case_status_due_idx"),
            models.Index(fields=["assignee", "status"], name="case_assignee_status_idx"),
            models.Index(fields=["account", "-number"], name="case_account_newest_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=CaseStatus.RESOLVED, root_cause__isnull=False)
                | ~Q(status=CaseStatus.RESOLVED),
                name="case_resolved_has_root_cause",
            ),
            models.CheckConstraint(
                condition=Q(status__in=CLOSED_CASE_STATUSES, resolved_at__isnull=False)
                | Q(~Q(status__in=CLOSED_CASE_STATUSES), resolved_at__isnull=True),
                name="case_closed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Case {self.number}"

    @property
    def is_open(self) -> bool:
        """Still being worked: its invoices are in dispute."""
        return self.status not in CLOSED_CASE_STATUSES

    def is_overdue(self, on: datetime.date | None = None) -> bool:
        return self.is_open and (on or today()) > self.due_date

    @property
    def overdue(self) -> bool:
        return self.is_overdue()


class CaseStatusChange(models.Model):
    """One change of a case's status: who, when, from and to. Written only by the
    case services, never changed."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=24, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(max_length=24, choices=CaseStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_by_label = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["case", "id"], name="case_status_change_idx")]

    def __str__(self) -> str:
        return f"{self.case}: {self.from_status or 'new'} → {self.to_status}"


class CaseNote(models.Model):
    """A note in the case's thread. Append-only: no service, view or admin changes
    or deletes one."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    author_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    text = models.TextField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["case", "id"], name="case_note_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="case_note_text_not_empty"),
        ]

    def __str__(self) -> str:
        return f"Note {self.pk} on {self.case}"


class CaseAttachment(models.Model):
    """A file on a case, stored through Django's default storage. Its type was checked
    from the content when it was uploaded; it is downloaded only through a view."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to="cases/%Y/%m/")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_by_label = models.CharField(max_length=150, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["case", "id"], name="case_attachment_idx")]

    def __str__(self) -> str:
        return self.original_name


class OverdueDigestRun(models.Model):
    """The daily digest of overdue cases went out for ``day``: the run_daily step sends
    it once per day, however often the daily run is repeated."""

    day = models.DateField(unique=True)
    emails_sent = models.PositiveIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "overdue cases digest"
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"Overdue cases digest of {self.day}"
