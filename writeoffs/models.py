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
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from billing.history import ActorHistoryModel
from billing.models import Account, AccountingCode, ApiKey, IdempotentEntry, Invoice
from billing.money import from_minor
from billing.rules import today


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
WRITEOFF_REASON_CODES = (
    ReasonCode.BAD_DEBT,
    ReasonCode.GOOD_WILL,
    ReasonCode.BILLING_ERROR,
    ReasonCode.SALES_RETURN,
    ReasonCode.PROMOTIONAL_DISCOUNT,
    ReasonCode.OTHER,
)
# Every reason a stored write-off may carry: the system's conversion of an expired
# hold adds its own.
STORED_WRITEOFF_REASON_CODES = (*WRITEOFF_REASON_CODES, ReasonCode.SYSTEM_CONVERSION)


class Settlement(models.TextChoices):
    """What settling a dispute hold does (and what expiry may do to one)."""

    CONVERT = "convert", "Convert to write-off"
    RELEASE = "release", "Release"
    RELEASE_REAGE = "release_reage", "Release and re-age"

    @property
    def outcome(self) -> str:
        """What it did to the hold, to end a sentence: "Dispute hold 7 released"."""
        return SETTLEMENT_OUTCOMES[self]


SETTLEMENT_OUTCOMES = {
    Settlement.CONVERT: "converted to a permanent write-off",
    Settlement.RELEASE: "released",
    Settlement.RELEASE_REAGE: "released and re-aged",
}
# Write-offs a later payment may reinstate: bad debt, and expiry conversions.
RECOVERABLE_REASON_CODES = (ReasonCode.BAD_DEBT, ReasonCode.SYSTEM_CONVERSION)


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
    """A write-off, and its approval when it was over its requester's limit.

    The requester is whoever asked for it: the creator, or for an expiry
    conversion the hold's creator (the system only carries it out). Within the
    requester's limit it is active at once; over it, it is pending and reserves
    its amount on the invoice until a second person approves or rejects it, the
    requester withdraws it (rejected, ``withdrawn``), or it lapses.
    ``limit_applied_minor`` is the requester's limit it was checked against
    (empty: unlimited) and ``checked_minor`` the amount checked (this write-off
    plus the requester's others on the invoice in the window); both are empty on
    write-offs made before approvals existed.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending approval"
        ACTIVE = "active", "Active"
        REJECTED = "rejected", "Rejected"
        LAPSED = "lapsed", "Lapsed"
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
    # A hold has at most one live conversion (see the constraint); a rejected or lapsed
    # conversion leaves the hold open, to be converted again or released.
    origin_dispute = models.ForeignKey(
        "DisputeHold",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conversion_writeoffs",
    )
    # The bulk run that wrote this write-off, if any (its approval covered the amount).
    bulk_run = models.ForeignKey(
        "BulkRun", on_delete=models.PROTECT, null=True, blank=True, related_name="writeoffs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_by_api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_by_label = models.CharField("requested by", max_length=150, blank=True)
    limit_applied_minor = models.BigIntegerField(null=True, blank=True)
    checked_minor = models.BigIntegerField(null=True, blank=True)

    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_by_label = models.CharField("approved by", max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)

    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rejected_by_label = models.CharField(max_length=150, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    withdrawn = models.BooleanField(default=False)

    lapsed_at = models.DateTimeField(null=True, blank=True)

    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reversed_by_label = models.CharField(max_length=150, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversal_reason = models.TextField(blank=True)
    # Bad-debt recovery: how much of this write-off a later payment reinstated (kept in
    # step with its active WriteOffRecovery rows; the invoice's written_off is net of it).
    recovered_minor = models.BigIntegerField(default=0)

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
            # The Write-offs table's footer total, from the index alone (the busy
            # account's 50,000 rows were 50 ms of table reads without it).
            models.Index(
                fields=["account", "status", "amount_minor"], name="writeoff_account_total_idx"
            ),
            # The Approvals queue (oldest first) and the top bar's count.
            models.Index(
                fields=["created_at", "id"],
                condition=Q(status="pending"),
                name="writeoff_pending_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="writeoff_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(reason_code__in=[int(code) for code in STORED_WRITEOFF_REASON_CODES]),
                name="writeoff_reason_code_valid",
            ),
            # Each status has its own who/when, and only its own.
            models.CheckConstraint(
                condition=Q(status__in=["pending", "active", "rejected", "lapsed", "reversed"]),
                name="writeoff_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="reversed", reversed_at__isnull=False)
                | ~Q(status="reversed") & Q(reversed_at__isnull=True),
                name="writeoff_reversed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(status="rejected", rejected_at__isnull=False)
                | ~Q(status="rejected") & Q(rejected_at__isnull=True, withdrawn=False),
                name="writeoff_rejected_has_time",
            ),
            models.CheckConstraint(
                condition=Q(status="lapsed", lapsed_at__isnull=False)
                | ~Q(status="lapsed") & Q(lapsed_at__isnull=True),
                name="writeoff_lapsed_has_time",
            ),
            # Approved means approved by a person; only active (or later reversed)
            # write-offs have been approved.
            models.CheckConstraint(
                condition=Q(approved_at__isnull=True, approved_by__isnull=True)
                | Q(
                    status__in=["active", "reversed"],
                    approved_at__isnull=False,
                    approved_by__isnull=False,
                ),
                name="writeoff_approved_has_person",
            ),
            models.CheckConstraint(
                condition=Q(recovered_minor__gte=0, recovered_minor__lte=F("amount_minor")),
                name="writeoff_recovered_within_amount",
            ),
            models.UniqueConstraint(
                fields=["origin_dispute"],
                condition=Q(status__in=["pending", "active", "reversed"]),
                name="writeoff_one_live_conversion",
            ),
            models.UniqueConstraint(
                fields=["idempotency_scope", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="writeoff_idempotency_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Write-off {self.pk}"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def status_label(self) -> str:
        if self.withdrawn:
            return "Withdrawn"
        return self.get_status_display()

    @property
    def limit_applied(self) -> Decimal | None:
        if self.limit_applied_minor is None:
            return None
        return from_minor(self.limit_applied_minor, self.invoice.currency)

    @property
    def recovered(self) -> Decimal:
        return from_minor(self.recovered_minor, self.invoice.currency)

    @property
    def is_recoverable(self) -> bool:
        return (
            self.status == self.Status.ACTIVE
            and self.reason_code in RECOVERABLE_REASON_CODES
            and self.recovered_minor < self.amount_minor
        )

    def is_requested_by(self, actor) -> bool:
        """Whether ``actor`` (a billing.actors.Actor) asked for this write-off."""
        if actor.api_key is not None:
            return self.requested_by_api_key_id == actor.api_key.pk
        return actor.user is not None and self.requested_by_id == actor.user.pk


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
    # The settlement date: today for a person, the run date for expiry. A re-age moves
    # the invoice's aging date to it, and the aging report as of a past date reads the
    # re-ages (and which holds were still open) from it, not from the moment of saving.
    settled_on = models.DateField(null=True, blank=True)
    settlement_comments = models.TextField(blank=True)
    # A conversion over its requester's limit waits for approval: the hold stays open,
    # its amount stays in held (not pending), and expiry leaves it alone.
    conversion_pending = models.BooleanField(default=False)

    history = HistoricalRecords(bases=[ActorHistoryModel])

    class Meta:
        verbose_name = "dispute hold"
        ordering = ["-id"]
        permissions = [("settle_disputehold", "Can settle a dispute hold")]
        indexes = [
            models.Index(fields=["account", "-id"], name="dispute_account_newest_idx"),
            models.Index(fields=["invoice", "-id"], name="dispute_invoice_idx"),
            # The Disputes table's footer total of open holds, from the index alone.
            models.Index(
                fields=["account", "status", "amount_minor"], name="dispute_account_total_idx"
            ),
            models.Index(fields=["status", "expires_on"], name="dispute_status_expiry_idx"),
            # The aging report's latest re-age on or before a date, per invoice.
            models.Index(
                fields=["invoice", "status", "settled_on"], name="dispute_invoice_settled_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="dispute_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(reason_code=int(ReasonCode.CHARGE_DISPUTE_HOLD)),
                name="dispute_reason_is_9001",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(settled_at__isnull=False),
                name="dispute_settled_has_time",
            ),
            models.CheckConstraint(
                condition=Q(conversion_pending=False) | Q(status="open"),
                name="dispute_conversion_pending_is_open",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(settled_on__isnull=False),
                name="dispute_settled_has_date",
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
    def settlement(self) -> Settlement | None:
        """How the hold was settled; ``None`` while it is open."""
        return SETTLEMENT_FOR_STATUS.get(self.status)

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def can_unsettle(self) -> bool:
        """Seed 001's flag: an open dispute can still be settled."""
        return self.is_open

    def is_expired(self, on: datetime.date | None = None) -> bool:
        """Still open after its last day (``on`` defaults to today)."""
        return self.is_open and (on or today()) > self.expires_on

    @property
    def expired(self) -> bool:
        return self.is_expired()

    @property
    def expires_soon(self) -> bool:
        """Open, not yet expired, and within DISPUTE_HOLD_WARNING_DAYS of expiring."""
        now = today()
        warning = now + datetime.timedelta(days=settings.DISPUTE_HOLD_WARNING_DAYS)
        return self.is_open and now <= self.expires_on <= warning

    @property
    def conversion_writeoff(self) -> WriteOff | None:
        """The write-off this hold was (or is pending to be) converted into, if any."""
        return (
            self.conversion_writeoffs.filter(
                status__in=[
                    WriteOff.Status.PENDING,
                    WriteOff.Status.ACTIVE,
                    WriteOff.Status.REVERSED,
                ]
            )
            .order_by("-id")
            .first()
        )

    @property
    def status_label(self) -> str:
        if self.conversion_pending:
            return "Conversion pending"
        return self.get_status_display()



SETTLEMENT_FOR_STATUS: dict[str, Settlement] = {
    DisputeHold.Status.WRITTEN_OFF: Settlement.CONVERT,
    DisputeHold.Status.RELEASED: Settlement.RELEASE,
    DisputeHold.Status.RELEASED_REAGED: Settlement.RELEASE_REAGE,
}


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


class WriteOffRecovery(models.Model):
    """Written-off money a later payment reinstated (bad-debt recovery).

    The payment is recorded whole; the part above the invoice's available amount
    comes back from these write-offs. Voiding the payment voids its recoveries.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        VOIDED = "voided", "Voided"

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
                condition=Q(status="active", voided_at__isnull=True)
                | Q(status="voided", voided_at__isnull=False),
                name="recovery_voided_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Recovery {self.pk} of write-off {self.writeoff_id}"

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.writeoff.invoice.currency)


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
