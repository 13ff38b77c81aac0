"""Reads of write-offs and dispute holds: the Write-Offs page's tables and picker,
the parts of billing's pages that show them (the overview's totals and latest
entries, the invoice's entries, the Invoices list's Recovered filter)
and what a close of the books asks of them.

Each list is one query. Rows carry their invoice (``select_related``) because the
tables show its number and the amounts need its currency.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.shortcuts import get_object_or_404
from django.utils.formats import date_format

from billing.models import Account, Invoice
from billing.money import from_minor
from billing.parsing import is_ascii_digits
from billing.receivables.selectors import sent_invoice_sums
from billing.rules import today
from writeoffs.footers import footer_figures
from writeoffs.models import OPEN_CASE_STATUSES, BulkRun, CreditNote, DisputeHold, WriteOff

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
    "origin_dispute",
    # Approvals: who asked, who decided.
    "requested_by_label",
    "requested_by_id",
    "approved_by_label",
    "rejected_by_label",
    "rejected_at",
    "rejection_reason",
    "withdrawn",
    "lapsed_at",
    "recovered_minor",
    "bulk_run",
    "credit_note__number",
)

# Invoice numbers fit a signed 64-bit column (PositiveBigIntegerField).
_INVOICE_NO_MAX = 2**63 - 1
_INVOICE_NO_DIGITS = len(str(_INVOICE_NO_MAX))


def _invoice_no_digits() -> int:
    """Digits of the longest invoice number there is: one indexed MAX, about 0.3 ms
    over 100,000 invoices, so it is read on every search rather than cached."""
    longest = Invoice.objects.aggregate(longest=Max("invoice_no"))["longest"] or 0
    return len(str(longest))


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
    rows = WriteOff.objects.filter(account=account).select_related("invoice", "credit_note")
    return _ordered(rows, sort, WRITEOFF_SORTS)


def writeoff_table(account: Account, sort: tuple[str, bool] | None = None) -> QuerySet[WriteOff]:
    """The Write-offs table's rows, loading only the columns it shows."""
    return writeoffs_for(account, sort).only(*WRITEOFF_TABLE_FIELDS)


def _conversion_writeoff_id() -> Subquery:
    """The write-off a converted hold became (a rejected or lapsed conversion left the
    hold open, so a written-off hold has exactly one that took effect)."""
    took_effect = WriteOff.objects.filter(
        origin_dispute=OuterRef("pk"),
        status__in=[WriteOff.Status.ACTIVE, WriteOff.Status.REVERSED],
    )
    return Subquery(took_effect.order_by("-id").values("id")[:1])


def disputes_for(account: Account, sort: tuple[str, bool] | None = None) -> QuerySet[DisputeHold]:
    # A converted hold links to its write-off: the id comes in the same query (a LEFT JOIN).
    rows = (
        DisputeHold.objects.filter(account=account)
        .select_related("invoice", "case")
        .annotate(conversion_writeoff_id=_conversion_writeoff_id())
    )
    return _ordered(rows, sort, DISPUTE_SORTS)


@dataclass(frozen=True)
class WriteOffTotals:
    """The Write-offs table's footer: the account's active write-offs (reversed ones do
    not count) gross, what recovery payments reinstated of them, and the net, which is
    what the invoices' written-off totals add up to."""

    written_off: Decimal
    recovered: Decimal
    net: Decimal


def active_writeoffs_totals(account: Account) -> WriteOffTotals:
    """From the account's footer tally (``writeoffs.footers``): a handful of rows by
    index, however many write-offs the account has."""
    figures = footer_figures(account)
    gross, recovered = figures.active_gross_minor, figures.active_recovered_minor
    return WriteOffTotals(
        written_off=from_minor(gross, account.currency),
        recovered=from_minor(recovered, account.currency),
        net=from_minor(gross - recovered, account.currency),
    )


def open_holds_total(account: Account) -> Decimal:
    """Σ the account's open holds, from its footer tally."""
    return from_minor(footer_figures(account).open_held_minor, account.currency)


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
            # Not "available": Invoice has a property of that name.
            open_minor=F("total_minor")
            - F("paid_minor")
            - F("written_off_minor")
            - F("held_minor")
            - F("pending_minor")
        )
        .filter(open_minor__gt=0)
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


# --- billing's pages: the overview and the invoice ------------------------------


@dataclass(frozen=True)
class AccountTotals:
    currency: str
    balance_due_minor: int
    held_minor: int
    written_off_this_year_minor: int
    year: int

    @property
    def balance_due(self) -> Decimal:
        return from_minor(self.balance_due_minor, self.currency)

    @property
    def held(self) -> Decimal:
        return from_minor(self.held_minor, self.currency)

    @property
    def available(self) -> Decimal:
        return from_minor(self.balance_due_minor - self.held_minor, self.currency)

    @property
    def written_off_this_year(self) -> Decimal:
        return from_minor(self.written_off_this_year_minor, self.currency)


def account_totals(account: Account) -> AccountTotals:
    """Balance due and held over the account's sent invoices, and this year's write-offs."""
    year = today().year
    balance_due_minor, held_minor = sent_invoice_sums(account)
    written_off = WriteOff.objects.filter(
        account=account, status=WriteOff.Status.ACTIVE, writeoff_date__year=year
    ).aggregate(total=Sum("amount_minor"))
    return AccountTotals(
        currency=account.currency,
        balance_due_minor=balance_due_minor,
        held_minor=held_minor,
        written_off_this_year_minor=written_off["total"] or 0,
        year=year,
    )


def latest_writeoffs(account: Account, count: int) -> QuerySet[WriteOff]:
    return writeoffs_for(account)[:count]


def latest_disputes(account: Account, count: int) -> QuerySet[DisputeHold]:
    return disputes_for(account)[:count]


def recovered_invoices(account: Account) -> Q:
    """The Invoices list's Recovered filter: invoices of which some write-off was partly
    paid after all (bad-debt recovery)."""
    return Q(
        pk__in=Invoice.objects.filter(account=account, writeoffs__recovered_minor__gt=0).values(
            "pk"
        )
    )


# Through the invoice's related managers, so each row already carries its invoice.
def invoice_writeoffs(invoice: Invoice) -> list[WriteOff]:
    return list(
        invoice.writeoffs.select_related(
            "accounting_code", "origin_dispute", "credit_note"
        ).order_by("-id")
    )


def invoice_credit_notes(writeoffs: list[WriteOff]) -> list[CreditNote]:
    """The credit notes of an invoice's write-offs (``invoice_writeoffs``, which loads
    them with the write-offs), newest first, cancelled ones too."""
    notes = [w.credit_note for w in writeoffs if w.credit_note_no is not None]
    return sorted(notes, key=lambda note: (note.year, note.sequence), reverse=True)


def invoice_disputes(invoice: Invoice) -> list[DisputeHold]:
    # A converted hold links to its write-off on the same page: the id comes in the
    # same query (a LEFT JOIN).
    # Each hold's case too (its number and status), in the same query: the page shows it
    # and flags the invoice while one is open (``in_open_case``).
    rows = invoice.dispute_holds.select_related("case").annotate(
        conversion_writeoff_id=_conversion_writeoff_id()
    )
    return list(rows.order_by("-id"))


def pending_approvals() -> QuerySet[WriteOff]:
    """Write-offs waiting for a second person, across accounts, oldest first."""
    return (
        WriteOff.objects.filter(status=WriteOff.Status.PENDING)
        .select_related("invoice", "account")
        .order_by("created_at", "id")
    )


def pending_approval_for(writeoff_id: int) -> WriteOff:
    """A write-off on the Approvals queue (any status, so a decided one shows why)."""
    return get_object_or_404(WriteOff.objects.select_related("invoice", "account"), pk=writeoff_id)


# --- billing's close of the books -------------------------------------------------


def pending_writeoff_count() -> int:
    """How many write-offs wait for approval: the top bar, the home page and a close
    snapshot all show this one count (a COUNT over writeoff_pending_idx)."""
    return WriteOff.objects.filter(status=WriteOff.Status.PENDING).count()


def void_blockers(invoice: Invoice) -> list[str]:
    """What stops ``invoice`` being voided, of write-offs and holds: an active or
    pending write-off (reverse, reject or withdraw it first) and an open hold (settle
    it first). Asked by invoice_void under the invoice's row lock."""
    blockers = []
    writeoffs = WriteOff.objects.filter(
        invoice=invoice, status__in=[WriteOff.Status.ACTIVE, WriteOff.Status.PENDING]
    )
    for pk, status in writeoffs.order_by("pk").values_list("pk", "status"):
        if status == WriteOff.Status.PENDING:
            blockers.append(f"write-off {pk} is pending approval (reject or withdraw it first)")
        else:
            blockers.append(f"write-off {pk} is active (reverse it first)")
    holds = DisputeHold.objects.filter(invoice=invoice, status=DisputeHold.Status.OPEN)
    for pk in holds.order_by("pk").values_list("pk", flat=True):
        blockers.append(f"dispute hold {pk} is open (settle it first)")
    return blockers


def close_blockers(locked_through: datetime.date) -> list[str]:
    """What stops the books closing through ``locked_through``: pending write-offs
    dated on or before it, and started bulk runs that have not finished (a run writes
    on its frozen date, which a close must not overtake; a draft posts nothing). At
    most 50 of each are named."""
    blockers = []
    pending = WriteOff.objects.filter(
        status=WriteOff.Status.PENDING, writeoff_date__lte=locked_through
    )
    for pk, date in pending.order_by("writeoff_date", "pk").values_list("pk", "writeoff_date")[:50]:
        blockers.append(f"Write-off {pk}, dated {date_format(date)}, is pending approval.")
    unfinished = BulkRun.objects.filter(status=BulkRun.Status.RUNNING).filter(
        Q(writeoff_date__isnull=True) | Q(writeoff_date__lte=locked_through)
    )
    for pk, status in unfinished.order_by("pk").values_list("pk", "status")[:50]:
        blockers.append(f"Bulk run {pk} is {status}: finish or cancel it first.")
    return blockers


def close_figures(locked_through: datetime.date) -> dict[str, int]:
    """What a close snapshot records of write-offs: how many wait for approval."""
    return {"pending_writeoffs": pending_writeoff_count()}


# --- a requester's own write-offs that went for approval -----------------------------

# The "My requests" filter: each name and the write-offs it shows.
MY_REQUEST_FILTERS: dict[str, Q] = {
    "pending": Q(status=WriteOff.Status.PENDING),
    "approved": Q(approved_at__isnull=False),
    "rejected": Q(status=WriteOff.Status.REJECTED),
    "lapsed": Q(status=WriteOff.Status.LAPSED),
}


def requests_of(user, status: str = "") -> QuerySet[WriteOff]:
    """``user``'s write-offs that went for approval (pending, approved by someone,
    rejected or withdrawn, lapsed), newest first; ``status`` narrows to one of
    ``MY_REQUEST_FILTERS``. A bulk run's write-offs are approved with their run,
    which the Bulk write-offs page shows, so they are left out."""
    went_for_approval = Q()
    for condition in MY_REQUEST_FILTERS.values():
        went_for_approval |= condition
    chosen = MY_REQUEST_FILTERS.get(status, went_for_approval)
    return (
        WriteOff.objects.filter(
            chosen, requested_by=user, requested_by_api_key__isnull=True, bulk_run__isnull=True
        )
        .select_related("invoice", "account")
        .order_by("-created_at", "-id")
    )


def in_dispute() -> Exists:
    """For an invoice queryset: the invoice has a hold in an open dispute case (SPEC
    Part 3, "Collections pause"): it is "in dispute", left out of bulk runs and
    flagged. Annotate or filter with it (``.alias(disputed=in_dispute())``)."""
    return Exists(
        DisputeHold.objects.filter(invoice=OuterRef("pk"), case__status__in=OPEN_CASE_STATUSES)
    )


def invoices_in_dispute(invoice_ids: list[int] | set[int]) -> set[int]:
    """Which of ``invoice_ids`` are in dispute (one query, for a table's flags)."""
    return set(
        DisputeHold.objects.filter(
            invoice_id__in=invoice_ids, case__status__in=OPEN_CASE_STATUSES
        ).values_list("invoice_id", flat=True)
    )


IN_DISPUTE = "In dispute"


def dispute_flags(invoice_ids: list[int]) -> dict[int, list[str]]:
    """The "In dispute" flag for billing's invoice tables (billing.extensions)."""
    return {invoice_id: [IN_DISPUTE] for invoice_id in invoices_in_dispute(invoice_ids)}


def invoice_in_dispute(invoice: Invoice) -> bool:
    """Whether the invoice is in dispute: the one question a page asks for its flag."""
    return bool(invoices_in_dispute({invoice.pk}))
