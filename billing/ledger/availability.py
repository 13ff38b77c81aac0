"""What was available on an invoice on each past day, for a backdated money event.

An invoice's ``available`` today is its balance due less what is held or pending
approval. A payment, write-off or recovery dated in the past takes its amount off
the balance of every day from its date on, while the holds and pending write-offs
of those days stay what they were: dated inside a since-released hold's lifetime,
it can leave a past day with less balance than was held then, and aging as of that
day shows a negative bucket (issue 26, finding 4). The rule chosen is to refuse it:
the amount must fit what was available on every day from its date to today.

The balance of each day comes from the invoice's own AR-control lines (the journal
is dated, so it is history already); what was held or pending on each day comes
from the apps that hold and reserve money, through the ``reservations`` hook of
``billing.extensions``. Call under the invoice's row lock, as every service does.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db.models import F, Sum

from billing import extensions
from billing.errors import OVER_AVAILABLE_ON_A_PAST_DAY, BillingError
from billing.ledger.codes import control_codes
from billing.models import Invoice, JournalLine
from billing.money import format_money, from_minor
from billing.rules import today

ONE_DAY = datetime.timedelta(days=1)


def available_by_day(invoice: Invoice, since: datetime.date) -> list[tuple[datetime.date, int]]:
    """``(day, available)`` from ``since`` through today, at ``since`` and at each day
    it changed: between two listed days it stayed what the earlier one says. Minor
    units: the AR-control balance at the end of the day, less what was reserved then."""
    end = today()
    ar_lines = JournalLine.objects.filter(
        invoice_id=invoice.pk, accounting_code_id=control_codes().ar_control_id
    )
    opening = ar_lines.filter(entry_date__lt=since).aggregate(
        net=Sum(F("debit_minor") - F("credit_minor"))
    )["net"]
    change: dict[datetime.date, int] = defaultdict(int)
    change[since] += opening or 0
    for day, net in (
        ar_lines.filter(entry_date__gte=since, entry_date__lte=end)
        .values_list("entry_date")
        .annotate(net=Sum(F("debit_minor") - F("credit_minor")))
        .order_by()
    ):
        change[day] += net
    for hook in extensions.hooks.reservations:
        for reserved in hook(invoice, since):
            first = max(reserved.first_day, since)
            last = end if reserved.last_day is None else min(reserved.last_day, end)
            if first > last:
                continue
            change[first] -= reserved.amount_minor
            change[last + ONE_DAY] += reserved.amount_minor
    available, days = 0, []
    for day in sorted(change):
        if day > end:
            break
        available += change[day]
        days.append((day, available))
    return days


def require_available_since(
    invoice: Invoice,
    *,
    amount_minor: int,
    since: datetime.date,
    field: str | None,
    what: str,
    through: datetime.date | None = None,
) -> None:
    """Refuse (``OVER_AVAILABLE_ON_A_PAST_DAY``, beside ``field``) an amount dated
    ``since`` that is more than was available on some day from then to today (or to
    ``through``). The message names the tightest day and what was available on it.
    Today itself is the caller's own check against the invoice's stored totals."""
    last = today() - ONE_DAY if through is None else min(through, today() - ONE_DAY)
    if amount_minor <= 0 or since > last:
        return
    days = [row for row in available_by_day(invoice, since) if row[0] <= last]
    day, available = min(days, key=lambda row: (row[1], row[0]))
    if amount_minor <= available:
        return

    currency = invoice.currency

    def money(minor: int) -> str:
        return f"{format_money(from_minor(minor, currency), currency)} {currency}"

    raise BillingError(
        OVER_AVAILABLE_ON_A_PAST_DAY,
        f"On {day.isoformat()} only {money(max(available, 0))} of invoice "
        f"{invoice.invoice_no} was available (the rest was on hold or pending approval, "
        f"or already paid or written off): a {what} of {money(amount_minor)} dated "
        f"{since.isoformat()} would not have fitted. Date it after the money was "
        "released, or record a smaller amount.",
        field=field,
    )
