"""Write-offs: immutable ledger rows. A write-off is corrected by reversing it."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from billing.history import ActorHistoryModel
from billing.models import Account, AccountingCode, ApiKey, IdempotentEntry, Invoice
from billing.money import from_minor
from writeoffs.models.choices import (
    RECOVERABLE_REASON_CODES,
    STORED_WRITEOFF_REASON_CODES,
    ReasonCode,
    Source,
)


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


class WriteOffStatus(models.TextChoices):
    """WriteOff.Status; module level so that the model's Meta constraints can name it."""

    PENDING = "pending", "Pending approval"
    ACTIVE = "active", "Active"
    REJECTED = "rejected", "Rejected"
    LAPSED = "lapsed", "Lapsed"
    REVERSED = "reversed", "Reversed"


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

    Status = WriteOffStatus

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
    # Tax (SPEC Part 3), for a write-off that is not revenue-impacting on a taxed
    # invoice: the day its tax may be reclaimed (bad-debt relief), and whether its tax
    # still waits on the "tax relief pending" code for that day (the daily run moves it
    # to tax payable and clears this). Set when it becomes active.
    tax_relief_due_on = models.DateField(null=True, blank=True)
    tax_relief_pending = models.BooleanField(default=False)

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
            # The Write-offs table's footer totals (gross, recovered, net), from the
            # index alone (the busy account's 50,000 rows were 50 ms of table reads
            # without it).
            models.Index(
                fields=["account", "status", "amount_minor", "recovered_minor"],
                name="writeoff_account_total_idx",
            ),
            # The Approvals queue (oldest first) and the top bar's count.
            models.Index(
                fields=["created_at", "id"],
                condition=Q(status=WriteOffStatus.PENDING),
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
                condition=Q(status__in=WriteOffStatus.values),
                name="writeoff_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status=WriteOffStatus.REVERSED, reversed_at__isnull=False)
                | ~Q(status=WriteOffStatus.REVERSED) & Q(reversed_at__isnull=True),
                name="writeoff_reversed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(status=WriteOffStatus.REJECTED, rejected_at__isnull=False)
                | ~Q(status=WriteOffStatus.REJECTED) & Q(rejected_at__isnull=True, withdrawn=False),
                name="writeoff_rejected_has_time",
            ),
            models.CheckConstraint(
                condition=Q(status=WriteOffStatus.LAPSED, lapsed_at__isnull=False)
                | ~Q(status=WriteOffStatus.LAPSED) & Q(lapsed_at__isnull=True),
                name="writeoff_lapsed_has_time",
            ),
            # Approved means approved by a person; only active (or later reversed)
            # write-offs have been approved.
            models.CheckConstraint(
                condition=Q(approved_at__isnull=True, approved_by__isnull=True)
                | Q(
                    status__in=[WriteOffStatus.ACTIVE, WriteOffStatus.REVERSED],
                    approved_at__isnull=False,
                    approved_by__isnull=False,
                ),
                name="writeoff_approved_has_person",
            ),
            models.CheckConstraint(
                condition=Q(tax_relief_pending=False) | Q(tax_relief_due_on__isnull=False),
                name="writeoff_relief_pending_has_day",
            ),
            models.CheckConstraint(
                condition=Q(recovered_minor__gte=0, recovered_minor__lte=F("amount_minor")),
                name="writeoff_recovered_within_amount",
            ),
            models.UniqueConstraint(
                fields=["origin_dispute"],
                condition=Q(
                    status__in=[
                        WriteOffStatus.PENDING,
                        WriteOffStatus.ACTIVE,
                        WriteOffStatus.REVERSED,
                    ]
                ),
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
    def credit_note_no(self) -> str | None:
        """The number of the credit note it issued (a revenue-impacting write-off that
        became active), cancelled or not; None otherwise."""
        try:
            return self.credit_note.number
        except ObjectDoesNotExist:
            return None

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
