"""Invoices and their lines. An invoice stores its running totals (paid, written off,
held, pending), guarded by CHECK constraints.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from billing.history import ActorHistoryModel
from billing.models.accounts import Account, AccountingCode
from billing.models.tax import TaxRate
from billing.money import from_minor

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

# What an invoice is still due (``Invoice.balance_due_minor``), and the condition of
# an open item: a sent invoice with something due, or one whose AR-control lines do
# not net to zero (the two agree unless something drifted, which then shows). Today's
# aging, the home page's figures and the stored-balance check read only the open
# items, through ``invoice_open_items_idx`` (built on this very condition, which a
# query must repeat for the index to serve it), so they do not grow with the
# invoices long settled.
BALANCE_DUE_MINOR = F("total_minor") - F("paid_minor") - F("written_off_minor")
OPEN_ITEM = Q(status="sent", total_minor__gt=F("paid_minor") + F("written_off_minor")) | ~Q(
    ar_balance_minor=0
)


class InvoiceStatus(models.TextChoices):
    """Invoice.Status; module level so that the model's Meta constraints can name it."""

    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    VOID = "void", "Void"


class Invoice(models.Model):
    """An invoice and its running totals.

    ``paid_minor``, ``written_off_minor``, ``held_minor`` and ``pending_minor``
    (write-offs waiting for approval, which reserve their amount) are kept up to date
    by the services in the same transaction as the row that changes them. The
    CHECK constraints below are the last guard against a race: whatever slips
    past the service's lock cannot commit a negative balance.
    """

    Status = InvoiceStatus

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
    # Net plus tax: what the customer owes. ``tax_minor`` is its lines' tax (0 on an
    # untaxed invoice), so the net the revenue code is credited is total minus tax.
    total_minor = models.BigIntegerField(default=0)
    tax_minor = models.BigIntegerField(default=0)
    paid_minor = models.BigIntegerField(default=0)
    written_off_minor = models.BigIntegerField(default=0)
    held_minor = models.BigIntegerField(default=0)
    pending_minor = models.BigIntegerField(default=0)
    # Σ the invoice's AR-control journal lines (debits - credits): an aggregate of the
    # journal kept by posting alone (``billing.ledger.aggregates``), in the entry's
    # transaction under the invoice's row lock, so that today's aging reads it
    # instead of the lines. ``verify_ledger`` recomputes it; ``rebuild_aggregates``
    # repairs it. Apart from the running totals above, which the services keep.
    ar_balance_minor = models.BigIntegerField(default=0)
    # Set by invoice_void (the only way a sent invoice becomes void), with its reason.
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)
    # The billing system's own id (SPEC Part 3); unique only when set.
    external_id = models.CharField("External ID", max_length=64, null=True, blank=True)

    history = HistoricalRecords(bases=[ActorHistoryModel], excluded_fields=["ar_balance_minor"])

    class Meta:
        ordering = ["-bill_date", "-invoice_no"]
        # Only invoice_send (a service) makes an invoice sent; no role has it, so it is
        # the system's and a superuser's.
        permissions = [
            ("send_invoice", "Can send an invoice"),
            ("void_invoice", "Can void a sent invoice"),
        ]
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
                condition=Q(status=InvoiceStatus.SENT),
            ),
            # Open items by currency and aging date, with the running totals the aging
            # sums as trailing key columns (rather than INCLUDE, which SQLite lacks) so
            # that the database answers from the index alone.
            models.Index(
                fields=[
                    "currency",
                    "aging_date",
                    "account",
                    "ar_balance_minor",
                    "total_minor",
                    "paid_minor",
                    "written_off_minor",
                    "held_minor",
                    "pending_minor",
                ],
                name="invoice_open_items_idx",
                condition=OPEN_ITEM,
            ),
            # An account's open items: today's aging splits a page of accounts (paged
            # from AccountTally) into buckets from these alone.
            models.Index(
                fields=[
                    "account",
                    "currency",
                    "aging_date",
                    "ar_balance_minor",
                    "held_minor",
                    "pending_minor",
                ],
                name="invoice_account_open_idx",
                condition=OPEN_ITEM,
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(invoice_no__gt=0), name="invoice_no_positive"),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="invoice_external_id_unique",
            ),
            models.CheckConstraint(condition=Q(total_minor__gte=0), name="invoice_total_gte_0"),
            models.CheckConstraint(
                condition=Q(tax_minor__gte=0, tax_minor__lte=F("total_minor")),
                name="invoice_tax_within_total",
            ),
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
            models.CheckConstraint(
                condition=Q(status__in=["draft", "sent", "void"]), name="invoice_status_valid"
            ),
            # A void invoice was voided at a known moment, and nothing is paid, written
            # off, held or pending on it: invoice_void refuses while anything is.
            models.CheckConstraint(
                condition=~Q(status="void")
                | Q(
                    voided_at__isnull=False,
                    paid_minor=0,
                    written_off_minor=0,
                    held_minor=0,
                    pending_minor=0,
                ),
                name="invoice_void_settles_nothing",
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
    def tax(self) -> Decimal:
        return self._money(self.tax_minor)

    @property
    def net_minor(self) -> int:
        return self.total_minor - self.tax_minor

    @property
    def net(self) -> Decimal:
        return self._money(self.net_minor)

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
    def is_void(self) -> bool:
        return self.status == self.Status.VOID

    @property
    def balance_due_minor(self) -> int:
        """Nothing is due on a void invoice: its sent entry has been reversed."""
        if self.is_void:
            return 0
        return self.total_minor - self.paid_minor - self.written_off_minor

    @property
    def available_minor(self) -> int:
        return self.balance_due_minor - self.held_minor - self.pending_minor

    @property
    def is_overdue(self) -> bool:
        """Something is still due and the aging date (today in TIME_ZONE) has passed.
        The Invoices filter asks the same in SQL (``invoices_filtered``)."""
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
    # The line's net; its tax, at ``tax_rate``, is ``tax_minor`` (as the billing system
    # computed it: never recomputed here).
    amount_minor = models.BigIntegerField()
    tax_rate = models.ForeignKey(
        TaxRate, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    tax_minor = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0), name="invoice_line_amount_gt_0"
            ),
            # Tax only with a rate, and less than the net: a write-off's split then
            # puts its rounding remainder on a net part, so its tax parts never add up
            # to more than the tax the invoice charged.
            models.CheckConstraint(
                condition=Q(tax_rate__isnull=True, tax_minor=0)
                | Q(tax_rate__isnull=False, tax_minor__gte=0, tax_minor__lt=F("amount_minor")),
                name="invoice_line_tax_below_net",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_minor, self.invoice.currency)

    @property
    def tax(self) -> Decimal:
        return from_minor(self.tax_minor, self.invoice.currency)

    @property
    def gross(self) -> Decimal:
        return from_minor(self.amount_minor + self.tax_minor, self.invoice.currency)
