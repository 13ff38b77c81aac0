"""The allowance's roll-forward per currency and month: opening, provisions, write-offs
charged to it, recoveries credited back, closing; and the check that the closing
figure is the allowance account's balance in the trial balance.

Read from the journal's lines on the allowance code, grouped by month and event in
SQL; the check reads the trial balance's own computation, so the two can disagree.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Sum
from django.db.models.functions import TruncMonth

from billing.ledger.books import trial_balance
from billing.models import JournalEvent, JournalLine
from writeoffs.reports.analysis import month_starts

PROVISIONS = {JournalEvent.PROVISION}
# A reversal of a write-off takes its charge back, in the month it posts.
CHARGED = {
    JournalEvent.WRITEOFF,
    JournalEvent.DISPUTE_CONVERSION,
    JournalEvent.WRITEOFF_REVERSAL,
}
# A voided recovery payment takes its credit back.
RECOVERIES = {JournalEvent.RECOVERY, JournalEvent.PAYMENT_VOID}


@dataclass
class RollForwardRow:
    """One currency's month, in minor units, the allowance's (credit) side positive."""

    currency: str
    month: datetime.date
    opening_minor: int = 0
    provisions_minor: int = 0
    charged_minor: int = 0
    recoveries_minor: int = 0
    # Reclassifications onto or off the allowance (a write-off's code corrected).
    other_minor: int = 0
    # The allowance account's balance at the month's last day, from the trial balance.
    trial_balance_minor: int = 0

    @property
    def month_end(self) -> datetime.date:
        return (self.month + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(
            days=1
        )

    @property
    def closing_minor(self) -> int:
        return (
            self.opening_minor
            + self.provisions_minor
            - self.charged_minor
            + self.recoveries_minor
            + self.other_minor
        )

    @property
    def agrees(self) -> bool:
        return self.closing_minor == self.trial_balance_minor


@dataclass
class RollForward:
    start: datetime.date
    end: datetime.date
    rows: dict[str, list[RollForwardRow]]

    @property
    def agrees(self) -> bool:
        return all(row.agrees for rows in self.rows.values() for row in rows)


def allowance_balance(as_of: datetime.date) -> dict[str, int]:
    """The allowance's credit balance per currency at ``as_of``, per the trial balance."""
    balance = trial_balance(start=None, end=as_of, codes=[settings.ALLOWANCE_CODE])
    return {row.currency: -row.closing_minor for row in balance.rows}


def allowance_rollforward(start: datetime.date, end: datetime.date) -> RollForward:
    """Per currency, every month from ``start``'s through ``end``'s."""
    months = month_starts(start, end)
    first = months[0]
    lines = JournalLine.objects.filter(accounting_code__code=settings.ALLOWANCE_CODE)
    opening = dict(
        lines.filter(entry_date__lt=first)
        .values_list("currency")
        .annotate(net=Sum(F("credit_minor") - F("debit_minor")))
        .order_by()
    )
    moves: dict[tuple[str, datetime.date], dict[str, int]] = defaultdict(dict)
    in_range = (
        lines.filter(entry_date__gte=first, entry_date__lt=_next_month(months[-1]))
        .annotate(month=TruncMonth("entry_date"))
        .values_list("currency", "month", "entry__event")
        .annotate(net=Sum(F("credit_minor") - F("debit_minor")))
        .order_by()
    )
    for currency, month, event, net in in_range:
        moves[(currency, _as_date(month))][event] = net
    currencies = sorted(set(opening) | {currency for currency, _ in moves})
    result = RollForward(start=first, end=months[-1], rows={})
    for currency in currencies:
        running = opening.get(currency, 0)
        rows = []
        for month in months:
            row = RollForwardRow(currency, month, opening_minor=running)
            for event, net in moves.get((currency, month), {}).items():
                if event in PROVISIONS:
                    row.provisions_minor += net
                elif event in CHARGED:
                    row.charged_minor -= net
                elif event in RECOVERIES:
                    row.recoveries_minor += net
                else:
                    row.other_minor += net
            rows.append(row)
            running = row.closing_minor
        result.rows[currency] = rows
    for month in months:
        booked = allowance_balance(RollForwardRow("", month).month_end)
        for currency, rows in result.rows.items():
            for row in rows:
                if row.month == month:
                    row.trial_balance_minor = booked.get(currency, 0)
    return result


def _next_month(month: datetime.date) -> datetime.date:
    return (month + datetime.timedelta(days=32)).replace(day=1)


def _as_date(month: datetime.date | datetime.datetime) -> datetime.date:
    return month.date() if isinstance(month, datetime.datetime) else month
