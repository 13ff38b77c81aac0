"""Accounts, invoices, payments, accounting codes and API keys.

Amounts are stored as integer minor units (``*_minor``) and read through
``Decimal`` properties; see ``billing.money`` for why.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from billing.history import ActorHistoryModel
from billing.money import from_minor


class IdempotentEntry(models.Model):
    """A ledger row that a retried request must not create twice.

    The key is scoped to whoever sent it (a user, an API key), and the
    fingerprint of the request's content tells a true replay from a clash.
    """

    idempotency_scope = models.CharField(max_length=40, blank=True, default="")
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        abstract = True


class Account(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"

    acct_no = models.PositiveBigIntegerField("Account No.", unique=True)
    client_acct_id = models.CharField(
        "Client account ID", max_length=50, unique=True, null=True, blank=True
    )
    userid = models.CharField("User ID", max_length=50, unique=True, null=True, blank=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        ordering = ["acct_no"]
        indexes = [models.Index(fields=["name"], name="account_name_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(acct_no__gt=0), name="account_acct_no_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.acct_no} · {self.name}"


class AccountingCode(models.Model):
    class Kind(models.TextChoices):
        REVENUE = "revenue", "Revenue"
        EXPENSE = "expense", "Expense"
        ASSET = "asset", "Asset"

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


# An invoice's available amount in SQL, as ``Invoice.available_minor`` computes it in
# Python. The small-balance index below is built on this very expression, so a query
# must filter on it (not on an equivalent one) for the index to serve it.
AVAILABLE_MINOR = (
    F("total_minor")
    - F("paid_minor")
    - F("written_off_minor")
    - F("held_minor")
    - F("pending_minor")
)


class Invoice(models.Model):
    """An invoice and its running totals.

    ``paid_minor``, ``written_off_minor``, ``held_minor`` and ``pending_minor``
    (write-offs waiting for approval, which reserve their amount) are kept up to date
    by the services in the same transaction as the row that changes them. The
    CHECK constraints below are the last guard against a race: whatever slips
    past the service's lock cannot commit a negative balance.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"
        VOID = "void", "Void"

    invoice_no = models.PositiveBigIntegerField("Invoice No.", unique=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="invoices")
    # Copied from the account when the invoice is issued; an invoice never changes currency.
    currency = models.CharField(max_length=3, default="USD")
    bill_date = models.DateField()
    due_date = models.DateField()
    aging_date = models.DateField(help_text="Starts as the due date; re-aging moves it.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    revenue_code = models.ForeignKey(
        AccountingCode, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    total_minor = models.BigIntegerField(default=0)
    paid_minor = models.BigIntegerField(default=0)
    written_off_minor = models.BigIntegerField(default=0)
    held_minor = models.BigIntegerField(default=0)
    pending_minor = models.BigIntegerField(default=0)

    history = HistoricalRecords(bases=[ActorHistoryModel])

    class Meta:
        ordering = ["-bill_date", "-invoice_no"]
        # Only invoice_send (a service) makes an invoice sent; no role has it, so it is
        # the system's and a superuser's.
        permissions = [("send_invoice", "Can send an invoice")]
        indexes = [
            models.Index(
                fields=["account", "-bill_date", "-invoice_no"], name="invoice_account_date_idx"
            ),
            models.Index(
                fields=["account", "status", "invoice_no"], name="invoice_acct_status_idx"
            ),
            models.Index(fields=["account", "aging_date"], name="invoice_account_aging_idx"),
            # Bulk small-balance runs: sent invoices by currency and available amount.
            # A preview (available between 1 and the currency's largest balance) is one
            # range scan per currency that skips the settled invoices (available 0) and
            # every large balance; aging date is in the index so the scan checks the
            # age without reading the row.
            models.Index(
                F("currency"),
                AVAILABLE_MINOR,
                F("aging_date"),
                name="invoice_small_balance_idx",
                condition=Q(status="sent"),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(invoice_no__gt=0), name="invoice_no_positive"),
            models.CheckConstraint(condition=Q(total_minor__gte=0), name="invoice_total_gte_0"),
            models.CheckConstraint(condition=Q(paid_minor__gte=0), name="invoice_paid_gte_0"),
            models.CheckConstraint(
                condition=Q(written_off_minor__gte=0), name="invoice_written_off_gte_0"
            ),
            models.CheckConstraint(condition=Q(held_minor__gte=0), name="invoice_held_gte_0"),
            models.CheckConstraint(condition=Q(pending_minor__gte=0), name="invoice_pending_gte_0"),
            # 0 <= held + pending <= total - paid - written off, which also keeps
            # balance_due >= 0.
            models.CheckConstraint(
                condition=Q(
                    held_minor__lte=F("total_minor")
                    - F("paid_minor")
                    - F("written_off_minor")
                    - F("pending_minor")
                ),
                name="invoice_held_pending_within_balance",
            ),
        ]

    def __str__(self) -> str:
        return f"Invoice {self.invoice_no}"

    def _money(self, minor: int) -> Decimal:
        return from_minor(minor, self.currency)

    @property
    def total(self) -> Decimal:
        return self._money(self.total_minor)

    @property
    def paid(self) -> Decimal:
        return self._money(self.paid_minor)

    @property
    def written_off(self) -> Decimal:
        return self._money(self.written_off_minor)

    @property
    def held(self) -> Decimal:
        return self._money(self.held_minor)

    @property
    def pending(self) -> Decimal:
        return self._money(self.pending_minor)

    @property
    def balance_due_minor(self) -> int:
        return self.total_minor - self.paid_minor - self.written_off_minor

    @property
    def available_minor(self) -> int:
        return self.balance_due_minor - self.held_minor - self.pending_minor

    @property
    def is_overdue(self) -> bool:
        """Something is still due and the aging date (today in TIME_ZONE) has passed.
        The Invoices filter asks the same in SQL (``billing.selectors.invoices_filtered``)."""
        return self.balance_due_minor > 0 and self.aging_date < timezone.localdate()

    @property
    def balance_due(self) -> Decimal:
        return self._money(self.balance_due_minor)

    @property
    def available(self) -> Decimal:
        return self._money(self.available_minor)


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(max_length=300)
    service_start = models.DateField(null=True, blank=True)
    service_end = models.DateField(null=True, blank=True)
    amount_minor = models.BigIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="invoice_line_amount_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.invoice.currency)


class Payment(IdempotentEntry):
    class Method(models.TextChoices):
        CHECK = "check", "Check"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CARD = "card", "Card"
        CASH = "cash", "Cash"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REMOVED = "removed", "Removed"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="payments")
    amount_minor = models.BigIntegerField()
    paid_on = models.DateField()
    method = models.CharField(max_length=20, choices=Method.choices, default=Method.CHECK)
    reference = models.CharField(max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removed_by_label = models.CharField(max_length=150, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removal_reason = models.TextField(blank=True)

    history = HistoricalRecords(bases=[ActorHistoryModel])

    class Meta:
        ordering = ["-paid_on", "-id"]
        permissions = [("remove_payment", "Can remove a payment")]
        indexes = [
            models.Index(fields=["account", "-paid_on", "-id"], name="payment_account_date_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payment_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(status="active") | Q(removed_at__isnull=False),
                name="payment_removed_has_time",
            ),
            models.UniqueConstraint(
                fields=["idempotency_scope", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="payment_idempotency_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment {self.pk}"

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.invoice.currency)


class ApiKey(models.Model):
    """A key an integration authenticates with. Only a hash is stored."""

    class Role(models.TextChoices):
        CLERK = "clerk", "Clerk"
        SUPERVISOR = "supervisor", "Supervisor"

    name = models.CharField(max_length=100, unique=True)
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.CLERK)
    # The first characters of the key, to find the row without scanning every hash.
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# How long an Idempotency-Key is honoured; the daily run purges older records.
IDEMPOTENCY_WINDOW = datetime.timedelta(hours=24)


class ApiIdempotencyRecord(models.Model):
    """The first response to an API request sent with an ``Idempotency-Key`` header.

    A retry with the same key and the same request gets this response back and
    changes nothing; the same key with another request is a clash (409). Keys
    are scoped to the API key that sent them, and honoured for 24 hours.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    request_sha256 = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "API idempotency record"
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="api_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.api_key} · {self.key}"


class JournalEvent(models.TextChoices):
    INVOICE_SENT = "invoice_sent", "Invoice sent"
    PAYMENT = "payment", "Payment"
    PAYMENT_VOID = "payment_void", "Payment voided"
    WRITEOFF = "writeoff", "Write-off"
    DISPUTE_CONVERSION = "dispute_conversion", "Dispute converted"
    WRITEOFF_REVERSAL = "writeoff_reversal", "Write-off reversed"
    RECLASSIFICATION = "reclassification", "Reclassification"
    RECOVERY = "recovery", "Recovery"


class JournalEntry(models.Model):
    """One balanced, dated posting of one money event. Never edited or deleted: a
    correction is a new entry on its own date.

    The source row is named by ``source_type`` (``app_label.model``, e.g.
    ``writeoffs.writeoff``) and ``source_id``, so that billing's core never imports
    the apps whose rows it posts. An event posts once per source; a source may be
    reclassified more than once, so ``sequence`` counts its reclassifications
    (0 for every other event).
    """

    entry_date = models.DateField()
    currency = models.CharField(max_length=3)
    event = models.CharField(max_length=20, choices=JournalEvent.choices)
    # Indexed by a named index in Meta (every journal index is named, so seed_billing
    # can build them after a bulk load).
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="journal_entries", db_index=False
    )
    # Not indexed: nothing looks entries up by account or author, and every index
    # costs each posting and the bulk seed (SPEC goal: seeding with the journal
    # <= 1.5x without).
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
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
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+", db_index=False)

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

    class Meta:
        ordering = ["-id"]
        permissions = [("move_lock_date", "Can move the lock date forward")]

    def __str__(self) -> str:
        return f"Books closed through {self.locked_through}"
