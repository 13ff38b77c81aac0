"""What a draft run would write off: the candidates by its criteria, the count and
total per currency, and the invoices behind them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import BigIntegerField, Count, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.actors import Actor
from billing.models import AVAILABLE_MINOR, Account, Invoice
from billing.money import from_minor
from billing.rules import today
from writeoffs.approvals.limits import approval_limit_minor, within_limit
from writeoffs.models import BulkRun, WriteOff
from writeoffs.selectors import in_dispute


def bulk_run_candidates(
    run: BulkRun, *, on: datetime.date | None = None, currency: str | None = None
) -> QuerySet[Invoice]:
    """The invoices ``run``'s criteria select today (or ``on``), with ``available``.

    Written against ``invoice_small_balance_idx``: the same partial condition
    (status sent), and per currency a range of the indexed available expression.
    With ``currency`` it is that currency's range alone, which both databases
    answer with one index range scan; across currencies an OR of ranges makes
    SQLite scan the whole index, so the preview's totals use one range per
    currency, joined with UNION ALL (``bulk_run_preview``).
    """
    cutoff = aging_cutoff(run, on or today())
    per_currency = Q()
    for code, largest in sorted(run.max_balance_minor.items()):
        if currency is None or code == currency:
            per_currency |= Q(currency=code, open_minor__gte=1, open_minor__lte=largest)
    if not per_currency:
        return Invoice.objects.none()
    invoices = (
        Invoice.objects.filter(status=Invoice.Status.SENT)
        # Not "available": Invoice has a property of that name.
        .alias(open_minor=AVAILABLE_MINOR)
        .filter(per_currency, aging_date__lte=cutoff)
    )
    if set(run.account_statuses) != set(Account.Status.values):
        invoices = invoices.filter(account__status__in=run.account_statuses)
    if run.exclude_held:
        invoices = invoices.filter(held_minor=0)
    # An invoice in an open dispute case is never written off in bulk, whatever the
    # run's criteria: its collections are paused while the case is worked.
    return invoices.exclude(in_dispute())


def aging_cutoff(run: BulkRun, on: datetime.date) -> datetime.date:
    """The latest aging date an invoice may have to be at least N days past it."""
    return on - datetime.timedelta(days=run.older_than_days)


@dataclass(frozen=True)
class CurrencyFigures:
    currency: str
    count: int
    total_minor: int
    excluded_count: int = 0
    excluded_total_minor: int = 0

    @property
    def total(self) -> Decimal:
        return from_minor(self.total_minor, self.currency)

    @property
    def excluded_total(self) -> Decimal:
        return from_minor(self.excluded_total_minor, self.currency)


def excluded_invoice_ids(run: BulkRun) -> list[int]:
    if run.pk is None:
        return []
    return list(run.items.filter(excluded=True).values_list("invoice_id", flat=True))


def bulk_run_preview(run: BulkRun, *, on: datetime.date | None = None) -> list[CurrencyFigures]:
    """Count and total per currency of what the run would write: one SQL statement,
    an aggregate per currency's index range, joined with UNION ALL.

    ``count``/``total`` leave out the excluded invoices, which are counted apart.
    Integer SUMs are exact on both databases.
    """
    excluded = excluded_invoice_ids(run)
    n_excluded: Count | Value
    total_excluded: Sum | Value
    if excluded:
        left_out = Q(pk__in=excluded)
        n = Count("pk", filter=~left_out)
        total = Sum("open_minor", filter=~left_out)
        n_excluded = Count("pk", filter=left_out)
        total_excluded = Sum("open_minor", filter=left_out)
    else:
        n = Count("pk")
        total = Sum("open_minor")
        n_excluded = Value(0)
        total_excluded = Value(0)
    parts = [
        bulk_run_candidates(run, on=on, currency=currency)
        .values("currency")
        .annotate(n=n, included_total=total, n_excluded=n_excluded, total_excluded=total_excluded)
        .order_by()
        for currency in sorted(run.max_balance_minor)
    ]
    if not parts:
        return []
    rows = parts[0].union(*parts[1:], all=True).order_by() if len(parts) > 1 else parts[0]
    figures = [
        CurrencyFigures(
            currency=row["currency"],
            count=row["n"],
            total_minor=row["included_total"] or 0,
            excluded_count=row["n_excluded"],
            excluded_total_minor=row["total_excluded"] or 0,
        )
        for row in rows
    ]
    return sorted(figures, key=lambda f: f.currency)


def bulk_run_preview_invoices(run: BulkRun, currency: str) -> QuerySet[Invoice]:
    """One currency's invoices for the preview list (paginate it), smallest first,
    each with ``available_now`` and ``creator_window_minor`` (what the split rule adds
    to the item: the creator's active and pending write-offs on the invoice in the
    approval window); in the index's own order, so a page reads only its rows."""
    since = timezone.now() - datetime.timedelta(days=settings.WRITEOFF_APPROVAL_WINDOW_DAYS)
    by_creator = (
        WriteOff.objects.filter(
            invoice=OuterRef("pk"),
            requested_by_id=run.created_by_id,
            requested_by_api_key__isnull=True,
            status__in=[WriteOff.Status.PENDING, WriteOff.Status.ACTIVE],
            created_at__gte=since,
        )
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount_minor"))
        .values("total")
    )
    return (
        bulk_run_candidates(run, currency=currency)
        .annotate(
            available_now=AVAILABLE_MINOR,
            creator_window_minor=Coalesce(
                Subquery(by_creator), Value(0), output_field=BigIntegerField()
            ),
        )
        .select_related("account")
        .order_by("available_now", "aging_date", "id")
    )


def over_creators_limit(run: BulkRun, currency: str, invoices: Iterable[Invoice]) -> set[int]:
    """Which of a preview page's ``invoices`` (from ``bulk_run_preview_invoices``) the
    split rule would skip in a run its creator starts: the item plus the creator's
    write-offs on it in the window is above the creator's limit. A person whose limit
    covers that total can start the run instead (the worker checks the limit that
    approved the run, under each invoice's lock)."""
    flagged = [i for i in invoices if i.creator_window_minor]  # type: ignore[attr-defined]
    if not flagged:
        return set()
    limit = approval_limit_minor(Actor.for_user(run.created_by), currency)
    return {
        i.pk
        for i in flagged
        if not within_limit(limit, i.available_now + i.creator_window_minor)  # type: ignore[attr-defined]
    }


@dataclass(frozen=True)
class StartCheck:
    """One currency of a draft against the limit of the person about to start it."""

    figures: CurrencyFigures
    limit_minor: int | None

    @property
    def within(self) -> bool:
        return within_limit(self.limit_minor, self.figures.total_minor)

    @property
    def limit(self) -> Decimal | None:
        if self.limit_minor is None:
            return None
        return from_minor(self.limit_minor, self.figures.currency)


def bulk_run_start_check(run: BulkRun, actor: Actor) -> list[StartCheck]:
    """What starting ``run`` now would freeze, per currency, against ``actor``'s limit:
    the confirm step says from it whether the run needs someone else's approval.
    ``bulk_run_start`` checks the same again on the locked run."""
    return [
        StartCheck(figures=f, limit_minor=approval_limit_minor(actor, f.currency))
        for f in bulk_run_preview(run)
        if f.count
    ]
