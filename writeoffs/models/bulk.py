"""Bulk small-balance write-off runs and their items (the run's own state and log)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.models import AccountingCode, Invoice
from billing.money import from_minor
from writeoffs.models.choices import WRITEOFF_REASON_CODES, ReasonCode
from writeoffs.models.writeoffs import WriteOff


class BulkRunStatus(models.TextChoices):
    """BulkRun.Status; module level so that the model's Meta constraints can name it."""

    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class BulkRun(models.Model):
    """A bulk small-balance write-off: criteria, a preview, one approval, then a worker.

    Life cycle (``status``):

    - ``draft``: criteria and exclusions can change; the preview is computed live.
    - ``running``: started. The invoices, their amounts, the write-off date, the
      reason, comments and code are frozen in the run and its items; the total was
      approved once (``approved_by``, by the creator within their limit or by a
      different person whose limit covers it). A worker writes the items.
    - ``completed``: no item is left pending. ``cancelled``: stopped between
      invoices; items not reached stay pending and are never written.

    "Stalled" is not a stored status: a running run whose ``heartbeat_at`` is older
    than ``STALL_AFTER`` (its worker died or was never started) is stalled, and
    resuming enqueues it again. The state, the heartbeat and the log (the items)
    live here, not in the task backend's results, which may be pruned.
    """

    STALL_AFTER = datetime.timedelta(minutes=5)

    Status = BulkRunStatus

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Criteria. {currency: largest available balance in minor units}; each at most the
    # creator's approval limit for that currency.
    max_balance_minor = models.JSONField("largest balance per currency")
    older_than_days = models.PositiveIntegerField("minimum days past the aging date")
    account_statuses = models.JSONField(default=list)
    exclude_held = models.BooleanField("leave out invoices with open holds", default=True)

    # What every write-off of the run carries.
    reason_code = models.PositiveIntegerField(choices=ReasonCode.choices)
    comments = models.TextField()
    revenue_impacting = models.BooleanField(default=True)
    accounting_code = models.ForeignKey(
        AccountingCode, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # Frozen at start.
    writeoff_date = models.DateField("write-off date", null=True, blank=True)
    aging_cutoff = models.DateField(null=True, blank=True)
    # {currency: {"count": n, "total_minor": m}} of the items to write.
    totals = models.JSONField(default=dict, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # When the creator sent a draft above their limit to the Approvals queue.
    approval_requested_at = models.DateTimeField(null=True, blank=True)
    # The approver's limits that covered the totals ({currency: minor or null = unlimited}).
    approval_limits = models.JSONField(default=dict, blank=True)

    heartbeat_at = models.DateTimeField(null=True, blank=True)
    resume_count = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "bulk write-off run"
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="bulkrun_status_beat_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=BulkRunStatus.values),
                name="bulkrun_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(reason_code__in=list(WRITEOFF_REASON_CODES)),
                name="bulkrun_reason_code_valid",
            ),
            models.CheckConstraint(
                condition=Q(revenue_impacting=True) | Q(accounting_code__isnull=False),
                name="bulkrun_expense_has_code",
            ),
            # A started run is frozen and approved (a draft may be cancelled unstarted).
            models.CheckConstraint(
                condition=Q(status__in=[BulkRunStatus.DRAFT, BulkRunStatus.CANCELLED])
                | Q(
                    writeoff_date__isnull=False,
                    aging_cutoff__isnull=False,
                    approved_by__isnull=False,
                    approved_at__isnull=False,
                ),
                name="bulkrun_started_is_approved",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[BulkRunStatus.DRAFT, BulkRunStatus.RUNNING])
                | Q(finished_at__isnull=False),
                name="bulkrun_finished_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Bulk run {self.pk}"

    def is_stalled(self, now: datetime.datetime) -> bool:
        return (
            self.status == self.Status.RUNNING
            and self.heartbeat_at is not None
            and now - self.heartbeat_at > self.STALL_AFTER
        )

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.CANCELLED)


class BulkRunItemState(models.TextChoices):
    """BulkRunItem.State; module level so that the model's Meta constraints can name it."""

    PENDING = "pending", "Pending"
    WRITTEN = "written", "Written"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


class BulkRunItem(models.Model):
    """One invoice of a bulk run, and its line in the run's log.

    A draft run has items only for the invoices excluded in the preview
    (``excluded``, no amount). Starting the run adds one pending item per invoice
    to write, with its frozen amount and the paid and held totals it was frozen
    against. The worker moves each pending item to written, skipped (with the rule)
    or failed (with the error code), in the same transaction as its write-off.
    """

    State = BulkRunItemState

    class SkipRule(models.TextChoices):
        NOT_OPEN = "not_open", "Invoice no longer sent (draft or void)"
        DISPUTED = "disputed", "Disputed since the freeze"
        PAID = "paid", "Paid since the freeze"
        BELOW_FROZEN = "below_frozen", "Available fell below the frozen amount"
        ACCOUNT_STATUS = "account_status", "Account status changed"
        REAGED = "reaged", "Re-aged since the freeze"
        # The split rule: with its creator's other write-offs on the invoice in the
        # approval window, the item is above the limit that approved the run.
        OVER_LIMIT = "over_limit", "Over the run's limit with the creator's other write-offs"

    run = models.ForeignKey(BulkRun, on_delete=models.PROTECT, related_name="items")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3)
    excluded = models.BooleanField(default=False)
    amount_minor = models.BigIntegerField(null=True, blank=True)
    frozen_paid_minor = models.BigIntegerField(null=True, blank=True)
    frozen_held_minor = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    skip_rule = models.CharField(max_length=20, choices=SkipRule.choices, blank=True)
    error_code = models.PositiveIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    writeoff = models.OneToOneField(
        WriteOff, on_delete=models.PROTECT, null=True, blank=True, related_name="bulk_run_item"
    )
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The task (one per worker sharing the run) that processed the item.
    processed_by = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "bulk run item"
        ordering = ["id"]
        indexes = [
            # The worker's claim: the next pending item of a run.
            models.Index(fields=["run", "state", "id"], name="bulkrunitem_claim_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["run", "invoice"], name="bulkrunitem_unique"),
            models.CheckConstraint(
                condition=Q(state__in=BulkRunItemState.values),
                name="bulkrunitem_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(excluded=True) | Q(amount_minor__gt=0),
                name="bulkrunitem_amount_gt_0",
            ),
            models.CheckConstraint(
                condition=Q(excluded=False)
                | Q(state=BulkRunItemState.PENDING, writeoff__isnull=True),
                name="bulkrunitem_excluded_not_processed",
            ),
            models.CheckConstraint(
                condition=(Q(state="written") & Q(writeoff__isnull=False))
                | (~Q(state="written") & Q(writeoff__isnull=True)),
                name="bulkrunitem_written_has_writeoff",
            ),
            models.CheckConstraint(
                condition=~Q(state="skipped") | ~Q(skip_rule=""),
                name="bulkrunitem_skipped_has_rule",
            ),
            models.CheckConstraint(
                condition=~Q(state="failed") | Q(error_code__isnull=False),
                name="bulkrunitem_failed_has_code",
            ),
        ]

    def __str__(self) -> str:
        return f"Bulk run {self.run_id} · invoice {self.invoice_id}"

    @property
    def amount(self) -> Decimal | None:
        return None if self.amount_minor is None else from_minor(self.amount_minor, self.currency)
