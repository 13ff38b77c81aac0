"""Aging as of a date: each invoice's balance from its AR-control lines, bucketed by
days past its aging date, with held and pending amounts in their own columns, and the
check against AR control.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

from django.conf import settings
from django.db.models import (
    Case,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.extensions import Reserved
from billing.ledger.books import trial_balance
from billing.ledger.codes import control_codes
from billing.models import Invoice, JournalLine
from billing.models.invoices import OPEN_ITEM
from billing.receivables.tallies import accounts_with_receivables, aging_date_figures
from billing.rules import today
from writeoffs.models import DisputeHold, WriteOff

# (key, label, days past the aging date: first, last). Current is "not yet past".
BUCKETS = (
    ("current", "Current", None, 0),
    ("d1_30", "1\u201330", 1, 30),
    ("d31_60", "31\u201360", 31, 60),
    ("d61_90", "61\u201390", 61, 90),
    ("over_90", "Over 90", 91, None),
)


BUCKET_KEYS = tuple(key for key, *_ in BUCKETS)


BUCKET_LABELS = dict((key, label) for key, label, *_ in BUCKETS)


def end_of_day(day: datetime.date) -> datetime.datetime:
    """The first moment after ``day`` in the configured time zone: a row created
    before it was created on or before ``day``."""
    return timezone.make_aware(
        datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min)
    )


def aging_date_at(as_of: datetime.date, *, prefix: str) -> Coalesce:
    """The invoice's aging date at ``as_of``: its latest re-age (a hold settled
    "released and re-aged") on or before ``as_of``, else its due date. ``prefix`` is
    the path from the queried model to the invoice ("" for Invoice itself)."""
    invoice_ref = f"{prefix}id" if prefix else "pk"
    latest_reage = (
        DisputeHold.objects.filter(
            invoice_id=OuterRef(invoice_ref),
            status=DisputeHold.Status.RELEASED_REAGED,
            settled_on__lte=as_of,
        )
        .order_by("-settled_on")
        .values("settled_on")[:1]
    )
    return Coalesce(Subquery(latest_reage), F(f"{prefix}due_date"))


def _bucket_of(field_name: str, as_of: datetime.date) -> Case:
    """0..4, the index in BUCKETS of ``as_of`` minus the date in ``field_name``."""

    def not_before(days: int) -> Q:
        return Q(**{f"{field_name}__gte": as_of - datetime.timedelta(days=days)})

    return Case(
        When(not_before(0), then=Value(0)),
        When(not_before(30), then=Value(1)),
        When(not_before(60), then=Value(2)),
        When(not_before(90), then=Value(3)),
        default=Value(4),
        output_field=IntegerField(),
    )


def bucket_at(as_of: datetime.date, *, prefix: str) -> Coalesce:
    """The invoice's bucket at ``as_of`` (see ``aging_date_at``). The latest re-age's
    bucket is worked out inside its subquery, so the database runs the subquery once
    per row rather than once per bucket boundary; an invoice never re-aged is
    bucketed by its due date, a column of the row."""
    invoice_ref = f"{prefix}id" if prefix else "pk"
    latest_reage_bucket = (
        DisputeHold.objects.filter(
            invoice_id=OuterRef(invoice_ref),
            status=DisputeHold.Status.RELEASED_REAGED,
            settled_on__lte=as_of,
        )
        .order_by("-settled_on")
        .annotate(reage_bucket=_bucket_of("settled_on", as_of))
        .values("reage_bucket")[:1]
    )
    return Coalesce(Subquery(latest_reage_bucket), _bucket_of(f"{prefix}due_date", as_of))


def ar_balances(as_of: datetime.date) -> QuerySet:
    """Every AR-control line dated on or before ``as_of``, as (signed amount) rows
    with the invoice's path at ``invoice__``."""
    return JournalLine.objects.filter(
        accounting_code__code=settings.AR_CONTROL_CODE, entry_date__lte=as_of
    ).annotate(amount=F("debit_minor") - F("credit_minor"))


def invoice_balances(as_of: datetime.date) -> QuerySet:
    """Every invoice with its balance at ``as_of`` as ``amount``: the sum of its
    AR-control lines dated on or before it, one lookup in the lines' (invoice, code)
    index per invoice. Joining every line to its invoice instead read the lines in
    date order and each invoice once per line: five times slower at 1M invoices."""
    balance = (
        JournalLine.objects.filter(
            invoice=OuterRef("pk"),
            accounting_code_id=control_codes().ar_control_id,
            entry_date__lte=as_of,
        )
        .order_by()
        .values("invoice")
        .annotate(total=Sum(F("debit_minor") - F("credit_minor")))
        .values("total")
    )
    return Invoice.objects.annotate(amount=Subquery(balance))


def holds_open_at(as_of: datetime.date) -> QuerySet:
    """Dispute holds open at the end of ``as_of``: created on or before it, and not
    settled by then."""
    # The plugin objects to an annotation named like the model's ``amount`` property;
    # rows here are only aggregated over (never instances), so the name is safe.
    return DisputeHold.objects.filter(  # type: ignore[no-redef]
        Q(settled_on__isnull=True) | Q(settled_on__gt=as_of),
        created_at__lt=end_of_day(as_of),
    ).annotate(amount=F("amount_minor"))


def pending_open_at(as_of: datetime.date) -> QuerySet:
    """Write-offs pending approval at the end of ``as_of``: requested on or before it,
    and neither rejected, withdrawn nor lapsed by then, nor already written off in the
    books at that date (an approval posts on the write-off date, so one approved later
    but dated on or before ``as_of`` is in the AR lines, not pending). A conversion
    pending approval is left out: its amount is still on hold."""
    eod = end_of_day(as_of)
    went_pending = (
        Q(status=WriteOff.Status.PENDING)
        | Q(approved_at__isnull=False)
        | Q(rejected_at__isnull=False)
        | Q(lapsed_at__isnull=False)
    )
    still_open = (
        Q(status=WriteOff.Status.PENDING)
        | Q(approved_at__isnull=False, writeoff_date__gt=as_of)
        | Q(rejected_at__gte=eod)
        | Q(lapsed_at__gte=eod)
    )
    return (
        # As in holds_open_at: ``amount`` is only aggregated over, never an instance's.
        WriteOff.objects.filter(  # type: ignore[no-redef]
            went_pending, still_open, origin_dispute__isnull=True
        )
        .filter(created_at__lt=eod)
        .annotate(amount=F("amount_minor"))
    )


def reservations(invoice: Invoice, since: datetime.date) -> list[Reserved]:
    """What of ``invoice`` was held or pending approval on the days from ``since`` on,
    as ``holds_open_at`` and ``pending_open_at`` count it, one interval per row.

    Registered with billing (``billing.extensions.register_reservations``): a backdated
    payment, write-off or recovery must fit what was available on every day since its
    date, so that aging as of any day keeps its buckets at or above zero.
    """
    reserved: list[Reserved] = []
    holds = DisputeHold.objects.filter(invoice=invoice).exclude(settled_on__lte=since)
    for created_at, settled_on, amount in holds.values_list(
        "created_at", "settled_on", "amount_minor"
    ):
        # Open from the day it was made until the day before it was settled.
        last = None if settled_on is None else settled_on - datetime.timedelta(days=1)
        reserved.append(Reserved(timezone.localdate(created_at), last, amount))
    requests = WriteOff.objects.filter(
        Q(status=WriteOff.Status.PENDING)
        | Q(approved_at__isnull=False)
        | Q(rejected_at__isnull=False)
        | Q(lapsed_at__isnull=False),
        invoice=invoice,
        origin_dispute__isnull=True,
    )
    fields = ("status", "created_at", "writeoff_date", "approved_at", "rejected_at", "lapsed_at")
    for row in requests.values_list(*fields, "amount_minor", named=True):
        until: datetime.date | None
        if row.status == WriteOff.Status.PENDING:
            until = None
        elif row.rejected_at is not None or row.lapsed_at is not None:
            refused_at = row.rejected_at or row.lapsed_at
            until = timezone.localdate(refused_at) - datetime.timedelta(days=1)
        elif row.approved_at is not None:
            # Approved: in the AR lines from its write-off date, pending before that.
            until = row.writeoff_date - datetime.timedelta(days=1)
        else:
            continue
        first = timezone.localdate(row.created_at)
        if until is None or until >= max(first, since):
            reserved.append(Reserved(first, until, row.amount_minor))
    return reserved


# The amounts shown beside the buckets and left out of them, each one aggregate over
# rows that name their invoice at ``invoice__`` and carry an ``amount``.
OUTSIDE_BUCKETS: list[tuple[str, str, Callable[[datetime.date], QuerySet]]] = [
    ("held", "On hold", holds_open_at),
    ("pending", "Pending approval", pending_open_at),
]


def _by_bucket(rows: QuerySet, as_of: datetime.date, prefix: str) -> list[tuple]:
    """``rows`` summed per account, currency and bucket, in two statements: the
    invoices never re-aged by ``as_of`` are bucketed by their due date, a column of
    the row; only the few re-aged ones pay for the subquery that finds their latest
    re-age. The list of re-aged invoices is an uncorrelated subquery, computed once.
    ``prefix`` is the path from a row to its invoice ("" for invoices themselves)."""
    reaged = DisputeHold.objects.filter(
        status=DisputeHold.Status.RELEASED_REAGED, settled_on__lte=as_of
    ).values("invoice_id")
    invoice_id = f"{prefix}id" if prefix else "pk"
    plain = rows.exclude(**{f"{invoice_id}__in": reaged}).annotate(
        bucket=_bucket_of(f"{prefix}due_date", as_of)
    )
    moved = rows.filter(**{f"{invoice_id}__in": reaged}).annotate(
        bucket=bucket_at(as_of, prefix=prefix)
    )
    group = (f"{prefix}account__acct_no", f"{prefix}account__name", f"{prefix}currency")
    return [
        row
        for part in (plain, moved)
        for row in part.values_list(*group, "bucket").annotate(total=Sum("amount")).order_by()
    ]


@dataclass
class AgingRow:
    """One line of the report: an account (or a currency's total) in one currency."""

    currency: str
    acct_no: int | None = None
    name: str = ""
    buckets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKET_KEYS, 0))
    outside: dict[str, int] = field(default_factory=lambda: {key: 0 for key, *_ in OUTSIDE_BUCKETS})

    @property
    def bucketed_minor(self) -> int:
        return sum(self.buckets.values())

    @property
    def total_minor(self) -> int:
        """The balance at the date: buckets plus everything held out of them."""
        return self.bucketed_minor + sum(self.outside.values())

    @property
    def is_zero(self) -> bool:
        return not any(self.buckets.values()) and not any(self.outside.values())


@dataclass(frozen=True)
class ControlCheck:
    """The aging's total for a currency beside the trial balance's AR control (both
    read from the journal) and, as of today, beside the balance due the invoices
    store (kept by the services apart from the journal): None for a past date."""

    currency: str
    aging_minor: int
    ar_control_minor: int
    stored_minor: int | None = None

    @property
    def agrees(self) -> bool:
        stored_agrees = self.stored_minor is None or self.stored_minor == self.aging_minor
        return self.aging_minor == self.ar_control_minor and stored_agrees


@dataclass
class AgingReport:
    as_of: datetime.date
    # A list, or as of today ``TodayAccounts``: rows read a page at a time.
    accounts: Sequence[AgingRow]
    totals: dict[str, AgingRow]
    checks: list[ControlCheck]

    @property
    def agrees(self) -> bool:
        return all(check.agrees for check in self.checks)


def aging_report(
    as_of: datetime.date, *, currency: str | None = None, from_journal: bool = False
) -> AgingReport:
    """Aging as of ``as_of`` (SPEC, "Reports and worklists"), per account and per
    currency. An invoice's balance at the date is the sum of its AR-control lines
    dated on or before it; what is held (and pending) at the date goes to its own
    column and comes out of the invoice's bucket. A fixed number of queries whatever
    the size: two for the balances, two for each outside column, one for the trial
    balance (account names ride along in the GROUP BY).

    As of today (unless ``from_journal``) the figures come from the tallies kept
    at write time: the totals from AgingTally (``_totals_today``), the account rows
    paged from AccountTally, each page's accounts split into buckets from their own
    open items (``TodayAccounts``), so nothing reads every open item. As of a past
    date, from the journal's lines and the holds and requests
    (``_fill_from_journal``), which grows with history: the report-job threshold
    is for that."""
    accounts: Sequence[AgingRow]
    totals: dict[str, AgingRow] = {}
    if as_of >= today() and not from_journal:
        accounts = TodayAccounts(as_of, currency)
        totals = _totals_today(as_of, currency)
    else:
        accounts = _accounts_from_journal(as_of, currency)
        for row in accounts:
            total = totals.setdefault(row.currency, AgingRow(currency=row.currency))
            for key, amount in row.buckets.items():
                total.buckets[key] += amount
            for key, amount in row.outside.items():
                total.outside[key] += amount
    control = ar_control_at(as_of)
    # The invoices' stored balances are today's: a later date has posted nothing more.
    stored = stored_balance_due(currency) if as_of >= today() else None
    named = set(control) | set(stored or {})
    currencies = sorted(set(totals) | ({currency} & named if currency else named))
    checks = [
        ControlCheck(
            code,
            totals[code].total_minor if code in totals else 0,
            control.get(code, 0),
            None if stored is None else stored.get(code, 0),
        )
        for code in currencies
    ]
    return AgingReport(
        as_of=as_of,
        accounts=accounts,
        totals={code: totals.get(code, AgingRow(currency=code)) for code in currencies},
        checks=checks,
    )


RowFor = Callable[[int, str, str], AgingRow]


def _accounts_from_journal(as_of: datetime.date, currency: str | None) -> list[AgingRow]:
    # By the invoice's currency, while the trial balance goes by the line's: a line
    # posted in the wrong currency shows as a disagreement.
    rows: dict[tuple[int, str], AgingRow] = {}

    def row_for(acct_no: int, name: str, row_currency: str) -> AgingRow:
        key = (acct_no, row_currency)
        if key not in rows:
            rows[key] = AgingRow(currency=row_currency, acct_no=acct_no, name=name)
        return rows[key]

    _fill_from_journal(row_for, as_of, currency)
    return sorted(
        (row for row in rows.values() if not row.is_zero), key=lambda r: (r.currency, r.acct_no)
    )


def _fill_from_journal(row_for: RowFor, as_of: datetime.date, currency: str | None) -> None:
    """The cells at a past date, from the AR-control lines dated on or before it and
    the holds and pending requests open at its end: reads grow with history."""
    sources = [(None, invoice_balances, "")] + [
        (key, open_at, "invoice__") for key, _label, open_at in OUTSIDE_BUCKETS
    ]
    for key, rows_at, prefix in sources:
        found = rows_at(as_of)
        if currency:
            found = found.filter(**{f"{prefix}currency": currency})
        for acct_no, name, row_currency, bucket, total in _by_bucket(found, as_of, prefix):
            if total is None:  # an invoice with no AR lines by then (a draft, say)
                continue
            row = row_for(acct_no, name, row_currency)
            if key is None:
                row.buckets[BUCKET_KEYS[bucket]] += total
                continue
            row.outside[key] += total
            row.buckets[BUCKET_KEYS[bucket]] -= total


def bucket_index(as_of: datetime.date, aging_date: datetime.date) -> int:
    """The index in BUCKETS of an aging date at ``as_of``, as ``_bucket_of`` says it
    in SQL."""
    days = (as_of - aging_date).days
    for index, (_key, _label, _first, last) in enumerate(BUCKETS):
        if last is not None and days <= last:
            return index
    return len(BUCKETS) - 1


def _totals_today(as_of: datetime.date, currency: str | None) -> dict[str, AgingRow]:
    """Today's aging per currency from AgingTally: each aging date's due less what is
    held and pending in its bucket, those two in their own columns (a few thousand
    rows, however many invoices)."""
    totals: dict[str, AgingRow] = {}
    for (code, aging_date), (due, held, pending, _stored) in aging_date_figures(currency).items():
        row = totals.setdefault(code, AgingRow(currency=code))
        row.buckets[BUCKET_KEYS[bucket_index(as_of, aging_date)]] += due - held - pending
        row.outside["held"] += held
        row.outside["pending"] += pending
    return {code: totals[code] for code in sorted(totals) if not totals[code].is_zero}


def aging_totals_today(as_of: datetime.date) -> AgingReport:
    """Today's aging per currency only (what the home page's charts draw), without the
    accounts or the check, from AgingTally."""
    if as_of < today():
        raise ValueError("aging totals come from the aggregates of today")
    return AgingReport(as_of=as_of, accounts=[], totals=_totals_today(as_of, None), checks=[])


class TodayAccounts(Sequence[AgingRow]):
    """Today's account rows, read a slice at a time: the accounts with something due,
    held or pending come from AccountTally, ordered by currency and account number
    (``accounts_with_receivables``); only the slice's accounts are split into buckets,
    from their own open items (``invoice_account_open_idx``). The page reads one page;
    the CSV streams every account, a chunk at a time."""

    CHUNK = 500

    def __init__(self, as_of: datetime.date, currency: str | None) -> None:
        self.as_of = as_of
        self.currency = currency
        self.rows = accounts_with_receivables(currency)

    def __len__(self) -> int:
        return self.rows.count()

    @overload
    def __getitem__(self, index: int) -> AgingRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[AgingRow]: ...
    def __getitem__(self, index: int | slice) -> AgingRow | list[AgingRow]:
        if isinstance(index, slice):
            return self._split(list(self.rows[index]))
        found = self._split(list(self.rows[index : index + 1]))
        if not found:
            raise IndexError(index)
        return found[0]

    def __iter__(self) -> Iterator[AgingRow]:
        start = 0
        while chunk := self[start : start + self.CHUNK]:
            yield from chunk
            start += self.CHUNK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def _split(self, rows: list[tuple]) -> list[AgingRow]:
        found = {
            (account_id, row_currency): AgingRow(currency=row_currency, acct_no=acct_no, name=name)
            for account_id, acct_no, name, row_currency, *_sums in rows
        }
        if not found:
            return []
        items = open_items(self.currency).filter(
            account_id__in={account_id for account_id, _ in found}
        )
        for account_id, row_currency, bucket, due, held, pending in (
            items.annotate(bucket=_bucket_of("aging_date", self.as_of))
            .values_list("account_id", "currency", "bucket")
            .annotate(
                due=Sum("ar_balance_minor"),
                held_sum=Sum("held_minor"),
                pending_sum=Sum("pending_minor"),
            )
            .order_by()
        ):
            row = found.get((account_id, row_currency))
            if row is None:
                continue
            row.buckets[BUCKET_KEYS[bucket]] += due - held - pending
            row.outside["held"] += held
            row.outside["pending"] += pending
        return list(found.values())


def open_items(currency: str | None = None) -> QuerySet[Invoice]:
    """The sent invoices with a balance due, on the very condition of
    ``invoice_open_items_idx`` so that the database reads that index alone."""
    invoices = Invoice.objects.filter(OPEN_ITEM)
    return invoices.filter(currency=currency) if currency else invoices


def stored_balance_due(currency: str | None = None) -> dict[str, int]:
    """Σ balance due (total - paid - written off) the sent invoices store, per
    currency, from AgingTally (kept from those very columns): no invoice read."""
    stored: dict[str, int] = {}
    for (code, _aging_date), (*_cells, balance_due) in aging_date_figures(currency).items():
        stored[code] = stored.get(code, 0) + balance_due
    return stored


def ar_control_at(as_of: datetime.date) -> dict[str, int]:
    """The trial balance's closing AR control at ``as_of``, per currency: the
    trial balance's own computation (``billing.ledger.books.trial_balance``), read for the
    AR-control code only, from the lines' (entry date, code, currency, amounts)
    index, so the check does not add up every other code of the books as well."""
    balance = trial_balance(start=None, end=as_of, codes=[settings.AR_CONTROL_CODE])
    return {row.currency: row.closing_minor for row in balance.rows}


def aging_invoices(
    as_of: datetime.date,
    *,
    currency: str,
    column: str,
    acct_no: int | None = None,
) -> QuerySet[Invoice]:
    """The invoices behind one cell: ``column`` is a bucket key or an outside
    column's key. Each invoice carries its balance, held, aging date and bucket at
    ``as_of``; a bucket cell lists those with a bucketed amount, an outside cell
    those with an amount in that column."""
    ar_lines = (
        ar_balances(as_of)
        .filter(invoice_id=OuterRef("pk"))
        .order_by()
        .values("invoice_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    annotations = {"balance_at": Coalesce(Subquery(ar_lines), 0)}
    for key, _label, open_at in OUTSIDE_BUCKETS:
        amounts = (
            open_at(as_of)
            .filter(invoice_id=OuterRef("pk"))
            .order_by()
            .values("invoice_id")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        annotations[f"{key}_at"] = Coalesce(Subquery(amounts), 0)
    outside_sum = sum((F(f"{key}_at") for key, *_ in OUTSIDE_BUCKETS), Value(0))
    invoices = (
        Invoice.objects.filter(currency=currency)
        .exclude(status=Invoice.Status.DRAFT)
        .select_related("account")
        .annotate(**annotations)
        .annotate(bucketed_at=F("balance_at") - outside_sum)
        .annotate(aging_on=aging_date_at(as_of, prefix=""))
        .annotate(bucket=bucket_at(as_of, prefix=""))
    )
    if acct_no is not None:
        invoices = invoices.filter(account__acct_no=acct_no)
    if column in BUCKET_KEYS:
        invoices = invoices.filter(bucket=BUCKET_KEYS.index(column)).exclude(bucketed_at=0)
    else:
        invoices = invoices.exclude(**{f"{column}_at": 0})
    return invoices.order_by("aging_on", "invoice_no")


def outside_columns() -> list[tuple[str, str]]:
    return [(key, label) for key, label, _ in OUTSIDE_BUCKETS]
