"""Dispute holds: an amount set aside from collection until it is settled or expires."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from billing.history import ActorHistoryModel
from billing.models import Invoice
from billing.rules import today
from writeoffs.models.choices import ReasonCode, Settlement
from writeoffs.models.writeoffs import LedgerEntry, WriteOff


class HoldStatus(models.TextChoices):
    """DisputeHold.Status; module level so that the model's Meta constraints can name it."""

    OPEN = "open", "Open"
    WRITTEN_OFF = "written_off", "Written off"
    RELEASED = "released", "Released"
    RELEASED_REAGED = "released_reaged", "Released and re-aged"


class DisputeHold(LedgerEntry):
    Status = HoldStatus

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
    # Its last conversion was rejected, withdrawn or lapsed: the hold stays open, shown
    # as "Conversion refused", and expiry does not ask for a conversion again. Only a
    # person's settlement (converting again, releasing, re-aging) clears it.
    conversion_refused = models.BooleanField(default=False)
    # The dispute case that works this hold (SPEC Part 3). Every open hold has one
    # (verify_ledger checks it); holds settled before cases existed have none.
    case = models.ForeignKey(
        "writeoffs.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="holds"
    )

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
                condition=Q(status=HoldStatus.OPEN) | Q(settled_at__isnull=False),
                name="dispute_settled_has_time",
            ),
            models.CheckConstraint(
                condition=Q(conversion_pending=False) | Q(status=HoldStatus.OPEN),
                name="dispute_conversion_pending_is_open",
            ),
            models.CheckConstraint(
                condition=Q(status=HoldStatus.OPEN) | Q(settled_on__isnull=False),
                name="dispute_settled_has_date",
            ),
            models.CheckConstraint(
                condition=Q(conversion_refused=False)
                | Q(status=HoldStatus.OPEN, conversion_pending=False),
                name="dispute_conversion_refused_is_open",
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
    def in_open_case(self) -> bool:
        """Its dispute case is still worked: its invoice is in dispute (collections
        paused). Load the case with the hold (``select_related("case")``)."""
        return self.case is not None and self.case.is_open

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
        if self.conversion_refused:
            return "Conversion refused"
        return self.get_status_display()


SETTLEMENT_FOR_STATUS: dict[str, Settlement] = {
    DisputeHold.Status.WRITTEN_OFF: Settlement.CONVERT,
    DisputeHold.Status.RELEASED: Settlement.RELEASE,
    DisputeHold.Status.RELEASED_REAGED: Settlement.RELEASE_REAGE,
}
