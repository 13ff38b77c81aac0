"""What closing the books hears about the allowance (registered with billing in
``WriteoffsConfig.ready()``): whether each month a close would take in has had its
provision run, and the allowance the close snapshot records."""

from __future__ import annotations

import datetime
from typing import Any

from writeoffs import selectors
from writeoffs.allowance.provision import month_end_of
from writeoffs.allowance.rollforward import allowance_balance
from writeoffs.models import ProvisionRun


def _next_month_end(day: datetime.date) -> datetime.date:
    following = month_end_of(day.year, day.month) + datetime.timedelta(days=1)
    return month_end_of(following.year, following.month)


def month_ends_between(after: datetime.date | None, through: datetime.date) -> list[datetime.date]:
    """The month ends after ``after`` (the lock date) and on or before ``through``.
    Books never closed: from the first month end with a provision run, or else only
    the last month end on or before ``through``."""
    if after is None:
        first_run = ProvisionRun.objects.order_by("month_end").values_list("month_end", flat=True)
        last_end = through.replace(day=1) - datetime.timedelta(days=1)
        if through == month_end_of(through.year, through.month):
            last_end = through
        start = min(first_run.first() or last_end, last_end)
        after = start.replace(day=1) - datetime.timedelta(days=1)
    ends = []
    day = (
        _next_month_end(after)
        if after == month_end_of(after.year, after.month)
        else (month_end_of(after.year, after.month))
    )
    while day <= through:
        ends.append(day)
        day = _next_month_end(day)
    return ends


def provision_checklist(
    after: datetime.date | None, through: datetime.date
) -> list[tuple[str, bool]]:
    """Per month end a close from ``after`` through ``through`` would take in: whether
    its allowance provision has been run (a run that found nothing to post counts)."""
    ends = month_ends_between(after, through)
    run = set(ProvisionRun.objects.filter(month_end__in=ends).values_list("month_end", flat=True))
    return [(f"Allowance provision at {day:%b} {day.day}, {day.year}", day in run) for day in ends]


def close_figures(locked_through: datetime.date) -> dict[str, Any]:
    """The close snapshot's write-off figures, and the allowance at the lock date per
    currency (its credit balance from the journal) with the runs of that month end."""
    runs = ProvisionRun.objects.filter(month_end=locked_through).order_by("currency", "id")
    return {
        **selectors.close_figures(locked_through),
        "allowance": {
            currency: {
                "balance_minor": balance,
                "provision_runs": [
                    {
                        "id": run.pk,
                        "posted_minor": run.posted_minor,
                        "required_minor": run.required_minor,
                    }
                    for run in runs
                    if run.currency == currency
                ],
            }
            for currency, balance in sorted(allowance_balance(locked_through).items())
        },
    }
