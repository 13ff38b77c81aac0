"""Write-offs and dispute holds: immutable ledger rows.

A write-off is corrected by reversing it, a dispute hold changes only by
settlement or expiry; neither is ever deleted. ``account`` is copied from the
invoice so that an account's entries list from one index without a join.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from billing.history import ActorHistoryModel
from billing.models import Account, AccountingCode, ApiKey, IdempotentEntry, Invoice
from billing.money import from_minor


class ReasonCode(models.IntegerChoices):
    BAD_DEBT = 0, "Bad Debt"
    GOOD_WILL = 1, "Good Will"
    BILLING_ERROR = 2, "Billing Error"
    SALES_RETURN = 3, "Sales Return"
    PROMOTIONAL_DISCOUNT = 4, "Promotional Discount"
    OTHER = 5, "Other"
    CHARGE_DISPUTE_HOLD = 9001, "Charge Dispute Hold"
    SYSTEM_CONVERSION = 9999, "System-enforced conversion of dispute to permanent write-off"


# The reasons a person or an API caller may give for a write-off.
WRITEOFF_REASON_CODES = (0, 1, 2, 3, 4, 5)


class Source(models.TextChoices):
    UI = "ui", "UI"
    API = "api", "API"
    ADMIN = "admin", "Admin"
    SYSTEM = "system", "System"
    BULK = "bulk", "Bulk run"


class LedgerEntry(IdempotentEntry):
    """Fields every write-off and dispute hold has."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+")
    amount_minor = models.BigIntegerField()
    comments = models.TextField()
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.UI)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by_label = models.CharField("created by", max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @property
    def number(self) -> int:
        return self.pk

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.invoice.currency)


class WriteOff(LedgerEntry):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REVERSED = "reversed", "Reversed"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="writeoffs")
    reason_code = models.PositiveIntegerField(choices=ReasonCode.choices)
    writeoff_date = models.DateField("write-off date")
    revenue_impacting = models.BooleanField(default=True)
    # The code the write-off posts to: the invoice's revenue code when revenue-impacting,
    # otherwise the expense code the user picked.
    accounting_code = models.ForeignKey(
        AccountingCode, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    origin_dispute = models.OneToOneField(
        "DisputeHold",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conversion_writeoff",
    )
    # The bulk run that wrote this write-off, if any (its approval covered the amount).
    bulk_run = models.ForeignKey(
        "BulkRun", on_delete=models.PROTECT, null=True, blank=True, related_name="writeoffs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reversed_by_label = models.CharField(max_length=150, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_reason = models.TextField(blank=True)

    history = HistoricalRecords(bases=[ActorHistoryModel])

    class Meta:
        verbose_name = "write-off"
        ordering = ["-id"]
        permissions = [
            ("reverse_writeoff", "Can reverse a write-off"),
            ("approve_writeoff", "Can approve or reject a pending write-off"),
        ]
        indexes = [
            models.Index(fields=["account", "-id"], name="writeoff_account_newest_idx"),
            models.Index(
                fields=["account", "-writeoff_date", "-id"], name="writeoff_account_date_idx"
            ),
            models.Index(
                fields=["account", "-amount_minor", "-id"], name="writeoff_account_amount_idx"
            ),
            models.Index(fields=["invoice", "-id"], name="writeoff_invoice_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="writeoff_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(reason_code__in=[0, 1, 2, 3, 4, 5, 9999]),
                name="writeoff_reason_code_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="active") | Q(reversed_at__isnull=False),
                name="writeoff_reversed_has_time",
            ),
            models.UniqueConstraint(
                fields=["idempotency_scope", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="writeoff_idempotency_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Write-off {self.pk}"


class DisputeHold(LedgerEntry):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WRITTEN_OFF = "written_off", "Written off"
        RELEASED = "released", "Released"
        RELEASED_REAGED = "released_reaged", "Released and re-aged"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="dispute_holds")
    reason_code = models.PositiveIntegerField(
        choices=ReasonCode.choices, default=ReasonCode.CHARGE_DISPUTE_HOLD
    )
    expire_hold_days = models.PositiveIntegerField()
    expires_on = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    settled_by_label = models.CharField(max_length=150, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    settlement_comments = models.TextField(blank=True)

    history = HistoricalRecords(bases=[ActorHistoryModel])

    class Meta:
        verbose_name = "dispute hold"
        ordering = ["-id"]
        permissions = [("settle_disputehold", "Can settle a dispute hold")]
        indexes = [
            models.Index(fields=["account", "-id"], name="dispute_account_newest_idx"),
            models.Index(fields=["invoice", "-id"], name="dispute_invoice_idx"),
            models.Index(fields=["status", "expires_on"], name="dispute_status_expiry_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="dispute_amount_gt_0"),
            models.CheckConstraint(condition=Q(reason_code=9001), name="dispute_reason_is_9001"),
            models.CheckConstraint(
                condition=Q(status="open") | Q(settled_at__isnull=False),
                name="dispute_settled_has_time",
            ),
            models.UniqueConstraint(
                fields=["idempotency_scope", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="dispute_idempotency_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Dispute hold {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def can_unsettle(self) -> bool:
        """Seed 001's flag: an open dispute can still be settled."""
        return self.is_open

    def is_expired(self, today: datetime.date) -> bool:
        return self.is_open and today > self.expires_on


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

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

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
                condition=Q(status__in=["draft", "running", "completed", "cancelled"]),
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
                condition=Q(status__in=["draft", "cancelled"])
                | Q(
                    writeoff_date__isnull=False,
                    aging_cutoff__isnull=False,
                    approved_by__isnull=False,
                    approved_at__isnull=False,
                ),
                name="bulkrun_started_is_approved",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "running"]) | Q(finished_at__isnull=False),
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


class BulkRunItem(models.Model):
    """One invoice of a bulk run, and its line in the run's log.

    A draft run has items only for the invoices excluded in the preview
    (``excluded``, no amount). Starting the run adds one pending item per invoice
    to write, with its frozen amount and the paid and held totals it was frozen
    against. The worker moves each pending item to written, skipped (with the rule)
    or failed (with the error code), in the same transaction as its write-off.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        WRITTEN = "written", "Written"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    class SkipRule(models.TextChoices):
        NOT_OPEN = "not_open", "Invoice no longer sent (draft or void)"
        DISPUTED = "disputed", "Disputed since the freeze"
        PAID = "paid", "Paid since the freeze"
        BELOW_FROZEN = "below_frozen", "Available fell below the frozen amount"
        ACCOUNT_STATUS = "account_status", "Account status changed"
        REAGED = "reaged", "Re-aged since the freeze"

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
                condition=Q(state__in=["pending", "written", "skipped", "failed"]),
                name="bulkrunitem_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(excluded=True) | Q(amount_minor__gt=0),
                name="bulkrunitem_amount_gt_0",
            ),
            models.CheckConstraint(
                condition=Q(excluded=False) | Q(state="pending", writeoff__isnull=True),
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
