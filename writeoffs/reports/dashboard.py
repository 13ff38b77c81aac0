"""The disputes worklist and the staff home page's figures.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import (
    Count,
    QuerySet,
    Sum,
)

from billing.models.invoices import BALANCE_DUE_MINOR
from writeoffs.models import DisputeHold
from writeoffs.reports.aging import open_items
from writeoffs.reports.analysis import WriteoffAnalysis
from writeoffs.selectors import pending_writeoff_count

WORKLIST_FILTERS = {
    "all": "All open",
    "week": "Expiring within 7 days",
    "expired": "Expired",
}


def open_holds(view: str, today: datetime.date) -> QuerySet[DisputeHold]:
    """Open dispute holds across accounts, soonest expiry first. ``week``: expiring
    within 7 days (not yet expired); ``expired``: past their expiry date."""
    holds = DisputeHold.objects.filter(status=DisputeHold.Status.OPEN)
    if view == "week":
        holds = holds.filter(
            expires_on__gte=today, expires_on__lte=today + datetime.timedelta(days=7)
        )
    elif view == "expired":
        holds = holds.filter(expires_on__lt=today)
    return holds.select_related("invoice", "account").order_by("expires_on", "id")


@dataclass
class CurrencyFigures:
    currency: str
    receivable_minor: int = 0
    held_minor: int = 0
    written_off_minor: int = 0
    recovered_minor: int = 0


@dataclass
class HomeFigures:
    today: datetime.date
    currencies: list[CurrencyFigures]
    pending_approvals: int
    expiring_this_week: int


def home_figures(today: datetime.date, month: WriteoffAnalysis) -> HomeFigures:
    """Open receivables and on hold from the invoices' running totals (the open
    items: a settled invoice is due nothing and holds nothing), this month's written
    off and recovered from ``month``."""
    grouped = (
        open_items()
        .values_list("currency")
        .annotate(
            receivable=Sum(BALANCE_DUE_MINOR),
            held_total=Sum("held_minor"),
        )
        .order_by("currency")
    )
    figures = {
        currency: CurrencyFigures(currency, receivable or 0, held or 0)
        for currency, receivable, held in grouped
    }
    for row in month.months:
        entry = figures.setdefault(row.currency, CurrencyFigures(row.currency))
        entry.written_off_minor += row.net_minor
        entry.recovered_minor += row.recovered_minor
    expiring = DisputeHold.objects.filter(
        status=DisputeHold.Status.OPEN,
        expires_on__gte=today,
        expires_on__lte=today + datetime.timedelta(days=7),
    ).aggregate(n=Count("id"))["n"]
    return HomeFigures(
        today=today,
        currencies=[figures[key] for key in sorted(figures)],
        pending_approvals=pending_writeoff_count(),
        expiring_this_week=expiring,
    )
