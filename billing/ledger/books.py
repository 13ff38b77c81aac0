"""Reads of the books: the trial balance and the journal's lines.

Every figure is a SUM over integer minor-unit columns in SQL, exact on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import QuerySet

from billing.ledger.aggregates import sums_between
from billing.models import AccountingCode, JournalLine


@dataclass(frozen=True)
class TrialBalanceRow:
    code: str
    name: str
    kind: str
    currency: str
    opening_minor: int
    debit_minor: int
    credit_minor: int

    @property
    def closing_minor(self) -> int:
        return self.opening_minor + self.debit_minor - self.credit_minor


@dataclass
class CurrencyTotals:
    currency: str
    opening_minor: int = 0
    debit_minor: int = 0
    credit_minor: int = 0

    @property
    def closing_minor(self) -> int:
        return self.opening_minor + self.debit_minor - self.credit_minor

    @property
    def balanced(self) -> bool:
        return self.debit_minor == self.credit_minor and self.opening_minor == 0


@dataclass
class TrialBalance:
    start: datetime.date | None
    end: datetime.date
    rows: list[TrialBalanceRow] = field(default_factory=list)
    totals: dict[str, CurrencyTotals] = field(default_factory=dict)


def trial_balance(
    *, start: datetime.date | None, end: datetime.date, codes: list[str] | None = None
) -> TrialBalance:
    """Per code and currency: the opening balance (lines before ``start``), the
    debits and credits from ``start`` through ``end``, and the closing balance.
    Per currency, debits equal credits (and the opening balances net to 0).
    ``codes`` narrows it to those accounting codes (the aging report's AR-control
    check); the totals are then those codes' only and need not balance.

    The closed months come from their stored period balances and only the lines of
    the open months (and of a part-month at either end of the range) are read
    (``billing.ledger.aggregates.sums_between``)."""
    in_range = sums_between(start, end, codes=codes)
    opening = (
        {} if start is None else sums_between(None, start - datetime.timedelta(days=1), codes=codes)
    )
    rows = [
        (code_id, currency, *in_range.get(key, (0, 0)), _net(opening.get(key, (0, 0))))
        for key in set(in_range) | set(opening)
        for code_id, currency in [key]
    ]
    code_by_pk = {
        code.pk: code for code in AccountingCode.objects.filter(pk__in={row[0] for row in rows})
    }
    result = TrialBalance(start=start, end=end)
    for code_id, currency, debits, credits, opened in rows:
        code = code_by_pk[code_id]
        result.rows.append(
            TrialBalanceRow(code.code, code.name, code.kind, currency, opened, debits, credits)
        )
        totals = result.totals.setdefault(currency, CurrencyTotals(currency))
        totals.opening_minor += opened
        totals.debit_minor += debits
        totals.credit_minor += credits
    result.rows.sort(key=lambda row: (row.currency, row.code))
    result.totals = dict(sorted(result.totals.items()))
    return result


def _net(sides: tuple[int, int]) -> int:
    return sides[0] - sides[1]


def journal_lines(
    *,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    first_entry: int | None = None,
    last_entry: int | None = None,
) -> QuerySet[JournalLine]:
    """Lines by entry date range or entry-number range, in (entry date, line) order,
    with their entry and code. ``keyset_window`` pages it for the API; the export
    streams it."""
    lines = JournalLine.objects.all()
    if start:
        lines = lines.filter(entry_date__gte=start)
    if end:
        lines = lines.filter(entry_date__lte=end)
    if first_entry:
        lines = lines.filter(entry_id__gte=first_entry)
    if last_entry:
        lines = lines.filter(entry_id__lte=last_entry)
    return lines.select_related("entry", "accounting_code").order_by("entry_date", "id")
