"""Today's open receivables from the tallies the invoice table's triggers keep
(``billing.models.receivable_tallies``): their sources recomputed from the invoices
(for ``verify_ledger`` and ``rebuild_aggregates``), and their reads.
"""

from __future__ import annotations

import datetime

from django.db.models import Case, F, Q, QuerySet, Sum, When
from django.db.models.functions import Coalesce

from billing import tallies
from billing.models import AccountTally, AgingTally, Invoice

ReceivableSums = tuple[int, int, int]  # due, held, pending


def _sums(model_sums: tuple[str, ...]) -> dict:
    columns = {
        "due_minor": Sum("ar_balance_minor"),
        "held_minor": Sum("held_minor"),
        "pending_minor": Sum("pending_minor"),
        "balance_due_minor": Sum(
            Case(
                When(
                    status=Invoice.Status.SENT,
                    then=F("total_minor") - F("paid_minor") - F("written_off_minor"),
                ),
                default=0,
            )
        ),
    }
    return {f"recomputed_{name}": Coalesce(columns[name], 0) for name in model_sums}


def aging_tally_source() -> QuerySet:
    """AgingTally recomputed from the invoices: one GROUP BY currency and aging date."""
    return (
        Invoice.objects.values_list(*AgingTally.KEYS).annotate(**_sums(AgingTally.SUMS)).order_by()
    )


def account_tally_source() -> QuerySet:
    """AccountTally recomputed from the invoices: one GROUP BY account and currency."""
    return (
        Invoice.objects.values_list(*AccountTally.KEYS)
        .annotate(**_sums(AccountTally.SUMS))
        .order_by()
    )


def register_receivable_tallies() -> None:
    """Called by billing's AppConfig.ready()."""
    tallies.register(AgingTally, aging_tally_source)
    tallies.register(AccountTally, account_tally_source)


def aging_date_figures(
    currency: str | None = None,
) -> dict[tuple[str, datetime.date], tuple[int, int, int, int]]:
    """(currency, aging date) -> (due, held, pending, stored balance due): a few
    thousand rows at most, however many invoices."""
    filters = {"currency": currency} if currency else {}
    return tallies.figures(AgingTally, **filters)  # type: ignore[return-value]


def receivable_totals() -> dict[str, tuple[int, int, int, int]]:
    """Per currency: (due, held, pending, stored balance due), from AgingTally."""
    totals: dict[str, list[int]] = {}
    for (currency, _aging_date), sums in aging_date_figures().items():
        row = totals.setdefault(currency, [0, 0, 0, 0])
        for n, value in enumerate(sums):
            row[n] += value
    return {currency: (a, b, c, d) for currency, (a, b, c, d) in sorted(totals.items())}


def accounts_with_receivables(currency: str | None = None) -> QuerySet:
    """Accounts with something due, held or pending, per currency, ordered by
    currency and account number, as (account id, acct_no, name, currency, due, held,
    pending): one grouped read of AccountTally (about one row per such account after
    compaction), never of the invoices. Slice it for a page."""
    rows = AccountTally.objects.all()
    if currency:
        rows = rows.filter(currency=currency)
    return (
        rows.values_list("account_id", "account__acct_no", "account__name", "currency")
        .annotate(
            due=Sum("due_minor"), held_total=Sum("held_minor"), pending_total=Sum("pending_minor")
        )
        .filter(~Q(due=0) | ~Q(held_total=0) | ~Q(pending_total=0))
        .order_by("currency", "account__acct_no")
    )
