"""The write-off analysis: written off per month by reason, revenue-impacting against
expense, reversals and recoveries, and by user: from the tallies kept at posting
time for whole months, from the journal's lines for a part-month.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from billing.ledger.aggregates import next_month
from billing.models import JournalLine
from billing.tallies import figures
from writeoffs.models import AnalysisMonthTally, AnalysisTally, ReasonCode
from writeoffs.reports.analysis_sums import tax_and_recovered, written_off


@dataclass
class AnalysisRow:
    month: datetime.date
    currency: str
    reason_code: int
    revenue_impacting: bool
    user: str
    written_off_minor: int = 0
    reversed_minor: int = 0

    @property
    def net_minor(self) -> int:
        return self.written_off_minor - self.reversed_minor

    @property
    def reason_label(self) -> str:
        return ReasonCode(self.reason_code).label if self.reason_code in ReasonCode.values else ""


@dataclass
class MonthRow:
    month: datetime.date
    currency: str
    by_reason: dict[int, int] = field(default_factory=dict)
    written_off_minor: int = 0
    reversed_minor: int = 0
    revenue_minor: int = 0
    expense_minor: int = 0
    recovered_minor: int = 0
    # Of the net written off, the tax part (taxed invoices' write-offs, net of
    # reversals): tax payable given up, or relief claimed or pending.
    tax_minor: int = 0

    @property
    def net_minor(self) -> int:
        return self.written_off_minor - self.reversed_minor

    @property
    def net_of_tax_minor(self) -> int:
        return self.net_minor - self.tax_minor


@dataclass
class UserRow:
    user: str
    currency: str
    written_off_minor: int = 0
    reversed_minor: int = 0

    @property
    def net_minor(self) -> int:
        return self.written_off_minor - self.reversed_minor


@dataclass
class WriteoffAnalysis:
    start: datetime.date
    end: datetime.date
    rows: list[AnalysisRow]
    months: list[MonthRow]
    users: list[UserRow]
    reasons: list[int]

    def currencies(self) -> list[str]:
        return sorted({month.currency for month in self.months})

    def month_of(self, month: datetime.date) -> WriteoffAnalysis:
        """The analysis of ``month`` (a first day) through ``end``, cut from this one
        (which must cover it): the home page's month, from its twelve months."""
        if not self.start <= month <= self.end:
            raise ValueError(f"{month} is outside the analysis of {self.start} to {self.end}")
        rows = [row for row in self.rows if row.month == month]
        users: dict[tuple[str, str], UserRow] = {}
        for row in rows:
            user = users.setdefault((row.user, row.currency), UserRow(row.user, row.currency))
            user.written_off_minor += row.written_off_minor
            user.reversed_minor += row.reversed_minor
        return WriteoffAnalysis(
            start=month,
            end=self.end,
            rows=rows,
            months=[row for row in self.months if row.month == month],
            users=[users[key] for key in sorted(users, key=lambda k: (k[1], k[0]))],
            reasons=sorted({row.reason_code for row in rows}),
        )


def month_starts(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def writeoff_analysis(
    start: datetime.date, end: datetime.date, *, from_journal: bool = False
) -> WriteoffAnalysis:
    """Written off per month (of the journal's entry date), by reason, revenue-
    impacting or expense, and by the user who wrote it off, from ``start`` through
    ``end``. A reversal counts, negatively, in the month it posts, against its
    write-off's reason and user. Recoveries come from the journal's recovery entries,
    net of their voids in the month each void posts. The tax part comes from the same
    entries' lines on the tax codes (``analysis_sums`` defines each figure).

    The months the range covers come from the tallies kept at posting time; so does
    a month it takes only part of when none of that month's lines lies outside the
    range (this month, through today); such a part-month's lines are read otherwise.
    Either way the figures are the journal's. ``from_journal`` reads every line of
    the range instead (the ledger check and the tests compare the two)."""
    if from_journal:
        tally_from, tally_to, line_ranges = start, start, [(start, end)]
    else:
        tally_from, tally_to, line_ranges = _split(start, end)
    grouped: list[tuple] = []
    by_month: list[tuple] = []
    if tally_from < tally_to:
        for key, sums in figures(AnalysisTally, month__gte=tally_from, month__lt=tally_to).items():
            grouped.append((*key, *sums))
        for key, sums in figures(
            AnalysisMonthTally, month__gte=tally_from, month__lt=tally_to
        ).items():
            by_month.append((*key, *sums))
    for since, through in line_ranges:
        lines = JournalLine.objects.filter(entry_date__gte=since, entry_date__lte=through)
        grouped.extend(written_off(lines))
        by_month.extend(tax_and_recovered(lines))
    rows = [
        AnalysisRow(_month(month), currency, reason, bool(revenue), user, written, rev)
        for month, currency, reason, revenue, user, written, rev in grouped
    ]
    return _assemble(start, end, rows, by_month)


def _no_lines(since: datetime.date, before: datetime.date) -> bool:
    return not JournalLine.objects.filter(entry_date__gte=since, entry_date__lt=before).exists()


def _split(
    start: datetime.date, end: datetime.date
) -> tuple[datetime.date, datetime.date, list[tuple[datetime.date, datetime.date]]]:
    """The months [from, to) the tallies give, and the date ranges read from the
    lines: a part-month at either end that has lines outside the range (two probes
    of the lines' date index decide it)."""
    month = start.replace(day=1)
    tally_from = month if start.day == 1 or _no_lines(month, start) else next_month(start)
    after = end + datetime.timedelta(days=1)
    if after.day == 1 or _no_lines(after, next_month(end)):
        tally_to = next_month(end)
    else:
        tally_to = end.replace(day=1)
    if tally_from >= tally_to:
        return tally_from, tally_from, [(start, end)]
    line_ranges = []
    if start < tally_from:
        line_ranges.append((start, tally_from - datetime.timedelta(days=1)))
    if tally_to <= end:
        line_ranges.append((tally_to, end))
    return tally_from, tally_to, line_ranges


def _assemble(
    start: datetime.date, end: datetime.date, rows: list[AnalysisRow], by_month: list[tuple]
) -> WriteoffAnalysis:
    months: dict[tuple[datetime.date, str], MonthRow] = {}
    users: dict[tuple[str, str], UserRow] = {}
    for row in rows:
        month = months.setdefault((row.month, row.currency), MonthRow(row.month, row.currency))
        month.by_reason[row.reason_code] = month.by_reason.get(row.reason_code, 0) + row.net_minor
        month.written_off_minor += row.written_off_minor
        month.reversed_minor += row.reversed_minor
        if row.revenue_impacting:
            month.revenue_minor += row.net_minor
        else:
            month.expense_minor += row.net_minor
        user = users.setdefault((row.user, row.currency), UserRow(row.user, row.currency))
        user.written_off_minor += row.written_off_minor
        user.reversed_minor += row.reversed_minor
    for month_value, currency, tax, recovered in by_month:
        if not tax and not recovered:
            # A recovery voided in its own month: nothing to show (the tallies keep
            # no key whose figures are all zero).
            continue
        key = (_month(month_value), currency)
        month = months.setdefault(key, MonthRow(*key))
        month.tax_minor += tax
        month.recovered_minor += recovered
    rows.sort(key=lambda r: (r.month, r.currency, r.reason_code, not r.revenue_impacting, r.user))
    return WriteoffAnalysis(
        start=start,
        end=end,
        rows=rows,
        months=[months[key] for key in sorted(months)],
        users=[users[key] for key in sorted(users, key=lambda k: (k[1], k[0]))],
        reasons=sorted({row.reason_code for row in rows}),
    )


def _month(value: datetime.date | datetime.datetime) -> datetime.date:
    # TruncMonth of a DateField is a date on both databases; be lenient all the same.
    if isinstance(value, datetime.datetime):
        return value.date().replace(day=1)
    return value.replace(day=1)
