"""Reads for the Write-Offs page: the account's entries and the invoices one can pick.

Each list is one query. Rows carry their invoice (``select_related``) because the
tables show its number and the amounts need its currency.
"""

from __future__ import annotations

import time

from django.db.models import F, Max, Q, QuerySet
from django.db.models.signals import post_save
from django.shortcuts import get_object_or_404

from billing.models import Account, Invoice
from billing.parsing import is_ascii_digits
from writeoffs.models import DisputeHold, WriteOff

# Sort parameter -> column; "-" in front means descending. Every order ends on the
# primary key, so pages are stable when dates or amounts tie.
WRITEOFF_SORTS = {"date": "writeoff_date", "amount": "amount_minor"}
DISPUTE_SORTS = {"created": "id", "amount": "amount_minor", "expires": "expires_on"}
# The columns the Write-offs table shows, and all it loads: the statement is a third
# the size, and its cost in the table's profile halved. A row that reached for another
# column would cost a query each, which the tables' query-count tests catch.
WRITEOFF_TABLE_FIELDS = (
    "id",
    "invoice__invoice_no",
    "invoice__currency",
    "writeoff_date",
    "amount_minor",
    "reason_code",
    "comments",
    "created_by_label",
    "status",
    "reversed_by_label",
    "reversed_at",
    "reversal_reason",
    "bulk_run",
)

# Invoice numbers fit a signed 64-bit column (PositiveBigIntegerField).
_INVOICE_NO_MAX = 2**63 - 1
_INVOICE_NO_DIGITS = len(str(_INVOICE_NO_MAX))
# How long the longest invoice number's length is trusted before it is read again.
_LONGEST_INVOICE_NO_TTL = 300.0
_longest_invoice_no: tuple[float, int] | None = None


def _invoice_no_digits() -> int:
    """Digits of the longest invoice number, read (one indexed MAX) every few minutes.

    An invoice saved in this process widens it at once (below). Invoices bulk-loaded
    by another process with longer numbers than any before are found by their whole
    number at once, and by a shorter prefix within a few minutes.
    """
    global _longest_invoice_no
    now = time.monotonic()
    if _longest_invoice_no is None or now - _longest_invoice_no[0] > _LONGEST_INVOICE_NO_TTL:
        longest = Invoice.objects.aggregate(longest=Max("invoice_no"))["longest"] or 0
        _longest_invoice_no = (now, len(str(longest)))
    return _longest_invoice_no[1]


def _widen_for_saved_invoice(sender, instance: Invoice, **kwargs) -> None:
    global _longest_invoice_no
    digits = len(str(instance.invoice_no))
    if _longest_invoice_no is not None and digits > _longest_invoice_no[1]:
        _longest_invoice_no = (_longest_invoice_no[0], digits)


post_save.connect(_widen_for_saved_invoice, sender=Invoice, dispatch_uid="picker_invoice_digits")


def parse_sort(raw: str, allowed: dict[str, str]) -> tuple[str, bool] | None:
    """``"-date"`` -> ``("date", True)``; anything unknown -> ``None`` (newest first)."""
    descending = raw.startswith("-")
    key = raw.removeprefix("-")
    if key not in allowed:
        return None
    return key, descending


def _ordered(queryset: QuerySet, sort: tuple[str, bool] | None, allowed: dict[str, str]):
    if sort is None:
        return queryset.order_by("-id")
    key, descending = sort
    column = allowed[key]
    if column == "id":
        return queryset.order_by("-id" if descending else "id")
    prefix = "-" if descending else ""
    return queryset.order_by(f"{prefix}{column}", f"{prefix}id")


def writeoffs_for(account: Account, sort: tuple[str, bool] | None = None) -> QuerySet[WriteOff]:
    rows = WriteOff.objects.filter(account=account).select_related("invoice")
    return _ordered(rows, sort, WRITEOFF_SORTS)


def disputes_for(account: Account, sort: tuple[str, bool] | None = None) -> QuerySet[DisputeHold]:
    rows = DisputeHold.objects.filter(account=account).select_related("invoice")
    return _ordered(rows, sort, DISPUTE_SORTS)


def invoice_number_match(query: str) -> Q | None:
    """Invoice numbers that start with the digits in ``query``, as numeric ranges.

    "1002" matches 1002, 10020-10029, 100200-100299 and so on: each range is an
    index range scan on the invoice number, where a text prefix match would read
    every invoice of the account. ``None`` when ``query`` is not a number.
    """
    query = query.strip()
    if not is_ascii_digits(query) or len(query) > _INVOICE_NO_DIGITS:
        return None
    start = int(query)
    if query.startswith("0") or start > _INVOICE_NO_MAX:
        return Q(pk__in=[])
    # Ranges stop at the longest invoice number there is. With one for every length up
    # to 19 digits, SQLite's planner gives up the invoice-number index and reads all
    # of the account's invoices; and a whole number stays one equality, which both
    # databases answer from the unique index.
    digits = _invoice_no_digits()
    match = Q(invoice_no=start)
    for extra_digits in range(1, digits - len(query) + 1):
        scale = 10**extra_digits
        match |= Q(invoice_no__gte=start * scale, invoice_no__lte=(start + 1) * scale - 1)
    return match


def pickable_invoices(account: Account, query: str = "") -> QuerySet[Invoice]:
    """The account's sent invoices that still have an amount available to write off or hold."""
    invoices = (
        Invoice.objects.filter(account=account, status=Invoice.Status.SENT)
        .alias(
            available=F("total_minor") - F("paid_minor") - F("written_off_minor") - F("held_minor")
        )
        .filter(available__gt=0)
        .order_by("-bill_date", "-invoice_no")
    )
    if query.strip():
        match = invoice_number_match(query)
        if match is None:
            return invoices.none()
        invoices = invoices.filter(match)
    return invoices


def dispute_for(account: Account, dispute_id: int) -> DisputeHold:
    """The dispute hold ``dispute_id`` if it belongs to ``account``; 404 otherwise."""
    return get_object_or_404(
        DisputeHold.objects.select_related("invoice"), account=account, pk=dispute_id
    )


def writeoff_for(account: Account, writeoff_id: int) -> WriteOff:
    """The write-off ``writeoff_id`` if it belongs to ``account``; 404 otherwise."""
    return get_object_or_404(
        WriteOff.objects.select_related("invoice"), account=account, pk=writeoff_id
    )
