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


class Source(models.TextChoices):
    UI = "ui", "UI"
    API = "api", "API"
    ADMIN = "admin", "Admin"
    SYSTEM = "system", "System"


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
        permissions = [("reverse_writeoff", "Can reverse a write-off")]
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
                condition=Q(reason_code__in=[int(code) for code in STORED_WRITEOFF_REASON_CODES]),
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
            models.CheckConstraint(
                condition=Q(reason_code=int(ReasonCode.CHARGE_DISPUTE_HOLD)),
                name="dispute_reason_is_9001",
            ),
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


SETTLEMENT_FOR_STATUS: dict[str, Settlement] = {
    DisputeHold.Status.WRITTEN_OFF: Settlement.CONVERT,
    DisputeHold.Status.RELEASED: Settlement.RELEASE,
    DisputeHold.Status.RELEASED_REAGED: Settlement.RELEASE_REAGE,
}
