"""The double-entry journal and the lock date."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from billing.models.accounts import Account, AccountingCode
from billing.models.invoices import Invoice
from billing.money import from_minor


class JournalEvent(models.TextChoices):
    INVOICE_SENT = "invoice_sent", "Invoice sent"
    INVOICE_VOID = "invoice_void", "Invoice voided"
    PAYMENT = "payment", "Payment"
    PAYMENT_VOID = "payment_void", "Payment voided"
    WRITEOFF = "writeoff", "Write-off"
    DISPUTE_CONVERSION = "dispute_conversion", "Dispute converted"
    WRITEOFF_REVERSAL = "writeoff_reversal", "Write-off reversed"
    RECLASSIFICATION = "reclassification", "Reclassification"
    RECOVERY = "recovery", "Recovery"
    PROVISION = "provision", "Allowance provision"


class JournalEntry(models.Model):
    """One balanced, dated posting of one money event. Never edited or deleted: a
    correction is a new entry on its own date.

    The source row is named by ``source_type`` (its model's ``app_label.model``, e.g.
    ``billing.payment``) and ``source_id``, so that billing's core never imports
    the apps whose rows it posts. An event posts once per source; a source may be
    reclassified more than once, so ``sequence`` counts its reclassifications
    (0 for every other event).
    """

    entry_date = models.DateField()
    currency = models.CharField(max_length=3)
    event = models.CharField(max_length=20, choices=JournalEvent.choices)
    # Indexed by a named index in Meta (every journal index is named, so seed_billing
    # can build them after a bulk load).
    # Empty for an entry of the books as a whole (an allowance provision), which is
    # no one invoice's.
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        related_name="journal_entries",
        db_index=False,
        null=True,
        blank=True,
    )
    # Not indexed: nothing looks entries up by account or author, and every index
    # costs each posting and the bulk seed (SPEC goal: seeding with the journal
    # <= 1.5x without).
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", db_index=False, null=True, blank=True
    )
    source_type = models.CharField(max_length=60)
    source_id = models.BigIntegerField()
    sequence = models.PositiveIntegerField(default=0)
    memo = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_by_label = models.CharField("created by", max_length=150, blank=True)
    # Filled by the approvals work when a write-off needed a second person.
    approved_by_label = models.CharField("approved by", max_length=150, blank=True)
    posted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "journal entries"
        ordering = ["-id"]
        permissions = [("export_journal", "Can see the trial balance and export the journal")]
        indexes = [
            models.Index(fields=["entry_date", "id"], name="journal_entry_date_idx"),
            models.Index(fields=["invoice"], name="journal_entry_invoice_idx"),
        ]
        constraints = [
            # Source first: the same index finds a row's postings.
            models.UniqueConstraint(
                fields=["source_type", "source_id", "event", "sequence"],
                name="journal_entry_event_source_unique",
            ),
            models.CheckConstraint(
                condition=Q(sequence=0) | Q(event="reclassification"),
                name="journal_entry_sequence_only_reclassification",
            ),
        ]

    def __str__(self) -> str:
        return f"Journal entry {self.pk}"

    @property
    def number(self) -> int:
        return self.pk


class JournalLine(models.Model):
    """A debit or a credit of one accounting code. ``entry_date``, ``currency`` and
    ``invoice`` are copied from the entry, so that the trial balance and an
    invoice's AR-control balance read one indexed table without a join."""

    # Indexed by a named index in Meta, as on the entry's invoice.
    entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="lines", db_index=False
    )
    # The code and the invoice lead the two indexes below; no index of their own.
    accounting_code = models.ForeignKey(
        AccountingCode, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    debit_minor = models.BigIntegerField(default=0)
    credit_minor = models.BigIntegerField(default=0)
    entry_date = models.DateField()
    currency = models.CharField(max_length=3)
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="+", db_index=False, null=True, blank=True
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            # The trial balance and the export read lines by date; with the amounts in
            # the index the trial balance never touches the table.
            models.Index(
                fields=["entry_date", "accounting_code", "currency", "debit_minor", "credit_minor"],
                name="journal_line_date_amounts_idx",
            ),
            models.Index(fields=["invoice", "accounting_code"], name="journal_line_invoice_idx"),
            models.Index(fields=["entry"], name="journal_line_entry_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit_minor__gt=0) & Q(credit_minor=0))
                | (Q(debit_minor=0) & Q(credit_minor__gt=0)),
                name="journal_line_debit_xor_credit",
            ),
        ]

    def __str__(self) -> str:
        return f"Line {self.pk} of entry {self.entry_id}"

    @property
    def debit(self) -> Decimal:
        return from_minor(self.debit_minor, self.currency)

    @property
    def credit(self) -> Decimal:
        return from_minor(self.credit_minor, self.currency)


class AccountingPeriodLock(models.Model):
    """One move of the lock date ("books closed through"). The latest row is the
    lock date in force; the earlier rows are its history. ``snapshot`` is the close
    snapshot taken at the move: the ledger check, the trial-balance totals per
    currency, the AR-control check and the count of pending write-offs."""

    locked_through = models.DateField()
    previous = models.DateField(null=True, blank=True)
    reason = models.TextField()
    moved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    moved_by_label = models.CharField(max_length=150, blank=True)
    moved_at = models.DateTimeField(default=timezone.now)
    snapshot = models.JSONField(default=dict)
    # The period balances (``PeriodBalance``) stored with this lock date cover every
    # month before this day; None: none is stored, and the trial balance reads lines.
    balances_before = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("move_lock_date", "Can move the lock date forward")]

    def __str__(self) -> str:
        return f"Books closed through {self.locked_through}"
