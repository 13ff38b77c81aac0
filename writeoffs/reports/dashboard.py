"""The disputes worklist and the staff home page's figures."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import (
    Count,
    QuerySet,
)

from billing.receivables.tallies import receivable_totals
from writeoffs.models import DisputeHold
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
    """Open receivables (the balance due the sent invoices store) and on hold, per
    currency, from AgingTally (a few thousand rows, however many invoices); this
    month's written off and recovered from ``month``."""
    figures = {
        currency: CurrencyFigures(currency, balance_due, held)
        for currency, (_due, held, _pending, balance_due) in receivable_totals().items()
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
