"""The write-off analysis: written off per month by reason, revenue-impacting against
expense, reversals and recoveries, and by user, from the journal.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    F,
    FilteredRelation,
    Q,
    Sum,
)
from django.db.models.functions import TruncMonth

from billing.models import JournalEvent, JournalLine
from writeoffs.models import ReasonCode, WriteOff
from writeoffs.tax.expected import tax_code_ids

WRITEOFF_SOURCE = WriteOff._meta.label_lower


# AR-control lines of these events move written-off money: a write-off or a
# conversion credits AR control, its reversal debits it back, in the month each posts.
WRITTEN_OFF_EVENTS = (
    JournalEvent.WRITEOFF,
    JournalEvent.DISPUTE_CONVERSION,
    JournalEvent.WRITEOFF_REVERSAL,
)
# Entries that reinstate written-off money, or undo that: a recovery payment's entry
# and its void (any reclassification of a recovery only moves it between codes).
RECOVERY_EVENTS = (JournalEvent.RECOVERY, JournalEvent.PAYMENT_VOID)


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


def month_starts(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def writeoff_analysis(start: datetime.date, end: datetime.date) -> WriteoffAnalysis:
    """Written off per month (of the journal's entry date), by reason, revenue-
    impacting or expense, and by the user who wrote it off, from ``start`` through
    ``end``. A reversal counts, negatively, in the month it posts, against its
    write-off's reason and user. Recoveries come from the journal's recovery entries,
    net of their voids in the month each void posts. The tax part comes from the same
    entries' lines on the tax codes. Three queries."""
    lines = JournalLine.objects.filter(
        accounting_code__code=settings.AR_CONTROL_CODE,
        entry_date__gte=start,
        entry_date__lte=end,
    )
    grouped = (
        lines.filter(entry__event__in=WRITTEN_OFF_EVENTS, entry__source_type=WRITEOFF_SOURCE)
        .annotate(
            month=TruncMonth("entry_date"),
            # The entry names its write-off by id (source_id), not by a relation; the
            # write-off is found along the entry's invoice, whose write-offs it is one
            # of, so the database joins it instead of probing it once per line.
            writeoff=FilteredRelation(
                "entry__invoice__writeoffs",
                condition=Q(entry__invoice__writeoffs__pk=F("entry__source_id")),
            ),
        )
        .values_list(
            "month",
            "currency",
            "writeoff__reason_code",
            "writeoff__revenue_impacting",
            "writeoff__created_by_label",
        )
        .annotate(
            written=Sum("credit_minor", filter=~Q(entry__event=JournalEvent.WRITEOFF_REVERSAL)),
            reversed=Sum("debit_minor", filter=Q(entry__event=JournalEvent.WRITEOFF_REVERSAL)),
        )
        .order_by()
    )
    rows = [
        AnalysisRow(_month(month), currency, reason, bool(revenue), user, written or 0, rev or 0)
        for month, currency, reason, revenue, user, written, rev in grouped
    ]
    # Recovered: what a recovery entry credits back to the codes its write-offs
    # debited (its lines on neither AR control nor cash). Voiding the payment
    # reverses its whole entry, debiting those codes again, so the void nets the
    # recovery in the month the void posts; a plain payment's entry and its void
    # touch nothing but AR control and cash.
    recovered = (
        JournalLine.objects.filter(
            entry__event__in=RECOVERY_EVENTS, entry_date__gte=start, entry_date__lte=end
        )
        .exclude(accounting_code__code__in=[settings.AR_CONTROL_CODE, settings.CASH_CODE])
        .annotate(month=TruncMonth("entry_date"))
        .values_list("month", "currency")
        .annotate(total=Sum(F("credit_minor") - F("debit_minor")))
        .order_by()
    )
    # The split's tax part: the write-offs' and reversals' lines on the tax codes (a
    # relief's reclassification moves tax between them, another event).
    taxed = (
        JournalLine.objects.filter(
            entry__event__in=WRITTEN_OFF_EVENTS,
            entry__source_type=WRITEOFF_SOURCE,
            entry_date__gte=start,
            entry_date__lte=end,
            accounting_code_id__in=tax_code_ids(),
        )
        .annotate(month=TruncMonth("entry_date"))
        .values_list("month", "currency")
        .annotate(total=Sum(F("debit_minor") - F("credit_minor")))
        .order_by()
    )
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
    for month_value, currency, total in recovered:
        key = (_month(month_value), currency)
        months.setdefault(key, MonthRow(*key)).recovered_minor += total or 0
    for month_value, currency, total in taxed:
        key = (_month(month_value), currency)
        months.setdefault(key, MonthRow(*key)).tax_minor += total or 0
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
