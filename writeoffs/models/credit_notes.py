"""Credit notes: the numbered document every revenue-impacting write-off and
conversion issues (SPEC Part 3). Numbers are gap-free per year: ``CN-2026-000123``.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from billing.models import Account, Invoice, TaxRate
from billing.money import from_minor


class CreditNoteCounter(models.Model):
    """The last credit-note number given out in a year. A writer locks its year's row
    (``select_for_update``) in the write-off's own transaction and holds it until
    commit, so numbers commit in order and a rollback gives its number back: no gap,
    no duplicate."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Credit notes {self.year}: {self.last_number} issued"


class CreditNoteStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    CANCELLED = "cancelled", "Cancelled"


class CreditNote(models.Model):
    """A credit note for a write-off: what it credits the customer, net, tax and
    gross, per invoice line. Reversing the write-off cancels it; its number stays
    taken."""

    Status = CreditNoteStatus

    number = models.CharField(max_length=20, unique=True)
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    writeoff = models.OneToOneField(
        "WriteOff", on_delete=models.PROTECT, related_name="credit_note"
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    issued_on = models.DateField()
    reason = models.CharField(max_length=100)
    comments = models.TextField(blank=True)
    net_minor = models.BigIntegerField()
    tax_minor = models.BigIntegerField()
    gross_minor = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="credit_note_year_sequence"),
            models.CheckConstraint(
                condition=Q(sequence__gt=0, net_minor__gte=0, tax_minor__gte=0, gross_minor__gt=0)
                & Q(gross_minor=F("net_minor") + F("tax_minor")),
                name="credit_note_gross_is_net_plus_tax",
            ),
            models.CheckConstraint(
                condition=Q(status=CreditNoteStatus.CANCELLED, cancelled_at__isnull=False)
                | Q(status=CreditNoteStatus.ISSUED, cancelled_at__isnull=True),
                name="credit_note_cancelled_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @staticmethod
    def number_for(year: int, sequence: int) -> str:
        return f"CN-{year}-{sequence:06d}"

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    def _money(self, minor: int) -> Decimal:
        return from_minor(minor, self.invoice.currency)

    @property
    def net(self) -> Decimal:
        return self._money(self.net_minor)

    @property
    def tax(self) -> Decimal:
        return self._money(self.tax_minor)

    @property
    def gross(self) -> Decimal:
        return self._money(self.gross_minor)


class CreditNoteLine(models.Model):
    """The part of one invoice line a credit note credits."""

    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(max_length=300)
    tax_rate = models.ForeignKey(
        TaxRate, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    net_minor = models.BigIntegerField()
    tax_minor = models.BigIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(net_minor__gte=0, tax_minor__gte=0),
                name="credit_note_line_amounts_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def net(self) -> Decimal:
        return from_minor(self.net_minor, self.credit_note.invoice.currency)

    @property
    def tax(self) -> Decimal:
        return from_minor(self.tax_minor, self.credit_note.invoice.currency)

    @property
    def gross(self) -> Decimal:
        return from_minor(self.net_minor + self.tax_minor, self.credit_note.invoice.currency)
