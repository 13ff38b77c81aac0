"""Dispute cases by category, by root cause and by days to resolve, for the cases
opened (and those resolved) in a period. Counts and days only: no amounts, so no
currencies to keep apart.

Days to resolve are from the day a case was opened to the day it was resolved or
rejected, both in TIME_ZONE. The period bounds the rows read (an index on the dates).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from statistics import median

from django.utils import timezone

from writeoffs.models import CLOSED_CASE_STATUSES, Case, CaseCategory, CaseStatus

# Days-to-resolve buckets: (label, first day, last day or None).
DAY_BUCKETS = (
    ("0-7 days", 0, 7),
    ("8-14 days", 8, 14),
    ("15-30 days", 15, 30),
    ("31-60 days", 31, 60),
    ("Over 60 days", 61, None),
)


@dataclass
class CategoryRow:
    name: str
    target_days: int
    opened: int = 0
    resolved: int = 0
    rejected: int = 0
    still_open: int = 0
    days: list[int] = field(default_factory=list)

    @property
    def median_days(self) -> float | None:
        return median(self.days) if self.days else None

    @property
    def within_target(self) -> int:
        return sum(1 for days in self.days if days <= self.target_days)


@dataclass
class RootCauseRow:
    name: str
    resolved: int = 0
    days: list[int] = field(default_factory=list)

    @property
    def median_days(self) -> float | None:
        return median(self.days) if self.days else None


@dataclass
class CasesReport:
    start: datetime.date
    end: datetime.date
    categories: list[CategoryRow]
    root_causes: list[RootCauseRow]
    buckets: list[tuple[str, int]]

    @property
    def opened(self) -> int:
        return sum(row.opened for row in self.categories)

    @property
    def closed(self) -> int:
        return sum(row.resolved + row.rejected for row in self.categories)


def days_to_close(case: Case) -> int:
    opened = timezone.localdate(case.created_at)
    closed = timezone.localdate(case.resolved_at) if case.resolved_at else opened
    return (closed - opened).days


def _bucket(days: int) -> int:
    for index, (_, first, last) in enumerate(DAY_BUCKETS):
        if days >= first and (last is None or days <= last):
            return index
    return len(DAY_BUCKETS) - 1


def cases_report(start: datetime.date, end: datetime.date) -> CasesReport:
    """Cases opened from ``start`` to ``end`` (inclusive), what became of them, and
    how long those closed took."""
    tz = timezone.get_current_timezone()
    since = datetime.datetime.combine(start, datetime.time.min, tzinfo=tz)
    until = datetime.datetime.combine(
        end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
    )
    categories = {
        c.pk: CategoryRow(c.name, c.target_days) for c in CaseCategory.objects.order_by("name")
    }
    causes: dict[int, RootCauseRow] = {}
    counts = [0] * len(DAY_BUCKETS)
    rows = Case.objects.filter(created_at__gte=since, created_at__lt=until).select_related(
        "root_cause"
    )
    for case in rows.only("category_id", "status", "created_at", "resolved_at", "root_cause"):
        row = categories[case.category_id]
        row.opened += 1
        if case.status not in CLOSED_CASE_STATUSES:
            row.still_open += 1
            continue
        days = days_to_close(case)
        row.days.append(days)
        counts[_bucket(days)] += 1
        if case.status == CaseStatus.REJECTED:
            row.rejected += 1
            continue
        row.resolved += 1
        if case.root_cause is not None and case.root_cause_id is not None:
            cause = causes.setdefault(case.root_cause_id, RootCauseRow(case.root_cause.name))
            cause.resolved += 1
            cause.days.append(days)
    return CasesReport(
        start=start,
        end=end,
        categories=[row for row in categories.values() if row.opened],
        root_causes=sorted(causes.values(), key=lambda row: (-row.resolved, row.name)),
        buckets=[(label, count) for (label, *_), count in zip(DAY_BUCKETS, counts, strict=True)],
    )
