"""The journal's aggregates: kept at posting time, written when a month closes,
recomputed by ``verify_ledger`` and rebuilt by ``rebuild_aggregates``.

- **An invoice's AR-control balance** (``Invoice.ar_balance_minor``): ``post_entry``
  adds each entry's AR-control lines to it in the entry's transaction, and the bulk
  posting of the seed recomputes it for the rows it posted. Every service posts for
  an invoice under that invoice's row lock, so the UPDATE adds no wait of its own:
  no two writers share a row that they did not share already.
- **Period balances** (``PeriodBalance``): per code, currency and closed month,
  written by the move of the lock date that closes the month.
- **The month tally** (``MonthTally``, ``billing.ledger.journal_tallies``): every
  posting adds its lines to their month, as insert-only deltas, so a posting shares
  no row with another. The trial balance reads the period balances for the closed
  months and the tally for the open ones; a part-month at either end of its range
  comes from the tally when none of that month's lines lies outside the range (this
  month, through today), from its lines otherwise.

Why the tally covers every month rather than the open ones only: a posting then
need not know where the lock date is, and a close need not move anything. The
period balances stay what a close writes once and the snapshot of a closed month;
both are checked against the lines, and for a closed month they agree.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, Min, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from billing import tallies
from billing.ledger.codes import control_codes
from billing.ledger.periods import hold_period_lock
from billing.models import (
    AccountingPeriodLock,
    Invoice,
    JournalLine,
    MonthTally,
    PeriodBalance,
)
from billing.verification import Verification


class PostedLine(Protocol):
    @property
    def accounting_code_id(self) -> int: ...
    @property
    def debit_minor(self) -> int: ...
    @property
    def credit_minor(self) -> int: ...


# --- an invoice's AR-control balance -------------------------------------------------


def add_ar_lines(invoice: Invoice, lines: Sequence[PostedLine]) -> None:
    """Add the AR-control lines among ``lines`` (one entry's, for ``invoice``) to the
    invoice's ``ar_balance_minor``, in the database (an UPDATE of a delta, so that a
    stale instance cannot write an old figure) and on the instance."""
    ar_id = control_codes().ar_control_id
    delta = sum(
        line.debit_minor - line.credit_minor for line in lines if line.accounting_code_id == ar_id
    )
    if delta:
        Invoice.objects.filter(pk=invoice.pk).update(ar_balance_minor=F("ar_balance_minor") + delta)
        invoice.ar_balance_minor += delta


def add_ar_lines_after(after_line: int, ar_control_id: int) -> None:
    """Add the AR-control lines written after line ``after_line`` to their invoices'
    balances, in one UPDATE ... FROM of their sums per invoice: the bulk posting's
    counterpart of ``add_ar_lines``. It reads the new lines by key, so it needs none
    of the journal's indexes (a bulk load builds them at its end). For the bulk load
    only, which runs alone: a service's line posted meanwhile would count twice."""
    quote = connection.ops.quote_name
    invoice, line = quote(Invoice._meta.db_table), quote(JournalLine._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {invoice} SET ar_balance_minor = {invoice}.ar_balance_minor + added.total "  # noqa: S608
            f"FROM (SELECT invoice_id, SUM(debit_minor - credit_minor) AS total FROM {line} "
            f"WHERE id > %s AND accounting_code_id = %s AND invoice_id IS NOT NULL "
            f"GROUP BY invoice_id) AS added WHERE {invoice}.id = added.invoice_id",
            [after_line, ar_control_id],
        )


def ar_lines_sum() -> Subquery:
    """Σ an invoice's AR-control lines, as a subquery on ``OuterRef("pk")`` (the
    lines' (invoice, code) index serves it)."""
    return Subquery(
        JournalLine.objects.filter(
            invoice=OuterRef("pk"), accounting_code_id=control_codes().ar_control_id
        )
        .order_by()
        .values("invoice")
        .annotate(total=Sum(F("debit_minor") - F("credit_minor")))
        .values("total")
    )


def refresh_ar_balances(invoices: QuerySet[Invoice]) -> int:
    """Set ``ar_balance_minor`` of ``invoices`` from their lines, where it differs;
    returns how many changed. The bulk posting calls it for the invoices it posted;
    the rebuild for invoices it holds locked."""
    recomputed = Coalesce(ar_lines_sum(), Value(0))
    return (
        invoices.annotate(recomputed=recomputed)
        .exclude(ar_balance_minor=F("recomputed"))
        .update(ar_balance_minor=recomputed)
    )


def ar_balance_drift(limit: int) -> tuple[int, list[tuple[int, int, int]]]:
    """Invoices whose ``ar_balance_minor`` differs from their lines: how many, and the
    first ``limit`` as (invoice number, stored, recomputed)."""
    drifted = (
        Invoice.objects.annotate(recomputed=Coalesce(ar_lines_sum(), Value(0)))
        .exclude(ar_balance_minor=F("recomputed"))
        .order_by("invoice_no")
    )
    listed = list(drifted.values_list("invoice_no", "ar_balance_minor", "recomputed")[:limit])
    return (drifted.count() if len(listed) == limit else len(listed)), listed


# --- period balances -----------------------------------------------------------------


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)


def closed_months_end(locked_through: datetime.date | None) -> datetime.date | None:
    """The first day after the last whole month on or before ``locked_through``
    (None: no month is closed). Period balances cover every month before it."""
    if locked_through is None:
        return None
    after = locked_through + datetime.timedelta(days=1)
    return after if after.day == 1 else month_start(locked_through)


def stored_months_end() -> datetime.date | None:
    """The day before which the period balances are stored, as recorded on the lock
    date in force (None: none are, as after a lock date written by hand)."""
    current = AccountingPeriodLock.objects.order_by("-id").values_list("balances_before", flat=True)
    return current.first()


def _month_sums(lines: QuerySet[JournalLine]) -> QuerySet:
    return (
        lines.annotate(month=TruncMonth("entry_date"))
        .values_list("month", "accounting_code_id", "currency")
        .annotate(debits=Sum("debit_minor"), credits=Sum("credit_minor"))
        .order_by()
    )


def write_closed_months(
    stored_before: datetime.date | None, locked_through: datetime.date
) -> datetime.date | None:
    """Bring the period balances in line with a new lock date ``locked_through``:
    those stored before ``stored_before`` stay (nothing posts into a closed month),
    any stored since are stale and go, and the months the new lock date closes that
    are not stored yet are written from their lines. Returns the day the stored
    months now end before (for the new lock row's ``balances_before``).

    Called by ``lock_date_move`` under the exclusive period lock (no posting in
    flight) and by the rebuild under the lock row's lock."""
    new_end = closed_months_end(locked_through)
    keep_before = (
        stored_before if new_end is None or stored_before is None else min(stored_before, new_end)
    )
    stale = PeriodBalance.objects.all()
    if keep_before is not None:
        stale = stale.filter(month__gte=keep_before)
    stale.delete()
    if new_end is None:
        return None
    lines = JournalLine.objects.filter(entry_date__lt=new_end)
    if keep_before is not None:
        lines = lines.filter(entry_date__gte=keep_before)
    PeriodBalance.objects.bulk_create(
        (
            PeriodBalance(
                month=_as_date(month),
                accounting_code_id=code_id,
                currency=currency,
                debit_minor=debits,
                credit_minor=credits,
            )
            for month, code_id, currency, debits, credits in _month_sums(lines)
        ),
        batch_size=1000,
    )
    return new_end


def _as_date(value: datetime.date | datetime.datetime) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


@dataclass(frozen=True)
class BalanceDrift:
    month: datetime.date
    accounting_code_id: int
    currency: str
    stored: tuple[int, int]
    recomputed: tuple[int, int]


def period_balance_drift() -> list[BalanceDrift]:
    """Every stored period balance (of the months the lock date in force says are
    stored) that differs from its month's lines, and every such month with lines but
    no stored row."""
    end = stored_months_end()
    stored = {
        (row.month, row.accounting_code_id, row.currency): (row.debit_minor, row.credit_minor)
        for row in PeriodBalance.objects.filter(month__lt=end or datetime.date.min)
    }
    recomputed: dict[tuple[datetime.date, int, str], tuple[int, int]] = {}
    if end is not None:
        for month, code_id, currency, debits, credits in _month_sums(
            JournalLine.objects.filter(entry_date__lt=end)
        ):
            recomputed[(_as_date(month), code_id, currency)] = (debits, credits)
    return [
        BalanceDrift(key[0], key[1], key[2], stored.get(key, (0, 0)), recomputed.get(key, (0, 0)))
        for key in sorted(set(stored) | set(recomputed))
        if stored.get(key, (0, 0)) != recomputed.get(key, (0, 0))
    ]


def sums_between(
    first: datetime.date | None, last: datetime.date, *, codes: Iterable[str] | None = None
) -> dict[tuple[int, str], tuple[int, int]]:
    """Σ debits and credits per (code id, currency) of the lines dated from ``first``
    (the beginning when None) through ``last``: the stored balances of the closed
    months wholly inside the range, and the month tally of the rest (``_unstored``)."""
    end = stored_months_end()
    # The whole months [from_month, to_month) read from the stored rows.
    from_month = None if first is None else (first if first.day == 1 else next_month(first))
    after_last = last + datetime.timedelta(days=1)
    to_month = after_last if after_last.day == 1 else month_start(last)
    if end is not None and to_month > end:
        to_month = end
    totals: dict[tuple[int, str], tuple[int, int]] = {}

    def add(key: tuple[int, str], debits: int, credits: int) -> None:
        old = totals.get(key, (0, 0))
        totals[key] = (old[0] + debits, old[1] + credits)

    code_filter = {} if codes is None else {"accounting_code__code__in": list(codes)}
    ranges: list[tuple[datetime.date | None, datetime.date]] = [(first, last)]
    if end is not None and (from_month is None or from_month < to_month):
        stored = PeriodBalance.objects.filter(month__lt=to_month, **code_filter)
        if from_month is not None:
            stored = stored.filter(month__gte=from_month)
        for code_id, currency, debits, credits in (
            stored.values_list("accounting_code_id", "currency")
            .annotate(debits=Sum("debit_minor"), credits=Sum("credit_minor"))
            .order_by()
        ):
            add((code_id, currency), debits, credits)
        ranges = [(to_month, last)]
        if from_month is not None and first is not None and first < from_month:
            ranges.append((first, from_month - datetime.timedelta(days=1)))
    for since, through in ranges:
        if since is not None and since > through:
            continue
        for key, (debits, credits) in _unstored(since, through, code_filter).items():
            add(key, debits, credits)
    return totals


def _no_lines(since: datetime.date, before: datetime.date) -> bool:
    """Whether no line is dated from ``since`` to the day before ``before`` (one probe
    of the lines' date index)."""
    return not JournalLine.objects.filter(entry_date__gte=since, entry_date__lt=before).exists()


def _unstored(
    since: datetime.date | None, through: datetime.date, code_filter: Mapping[str, object]
) -> dict[tuple[int, str], tuple[int, int]]:
    """Σ per (code id, currency) of the lines from ``since`` through ``through``: the
    month tally (``MonthTally``) of every month in the range, and of a month at either
    end that the range takes only part of when none of that month's lines lies outside
    the range (this month, through today); the lines of such a part-month otherwise.
    Two probes of the date index decide it, so the figures are the lines' exactly."""
    after = through + datetime.timedelta(days=1)
    if after.day == 1 or _no_lines(after, next_month(through)):
        tally_to = next_month(through)
    else:
        tally_to = month_start(through)
    tally_from = since
    if since is not None and since.day != 1:
        tally_from = (
            month_start(since) if _no_lines(month_start(since), since) else next_month(since)
        )
    sums: dict[tuple[int, str], tuple[int, int]] = {}
    line_ranges: list[tuple[datetime.date | None, datetime.date]] = []
    if tally_from is not None and tally_from >= tally_to:
        line_ranges.append((since, through))
    else:
        tallied = MonthTally.objects.filter(month__lt=tally_to, **code_filter)
        if tally_from is not None:
            tallied = tallied.filter(month__gte=tally_from)
        for code_id, currency, debits, credits in (
            tallied.values_list("accounting_code_id", "currency")
            .annotate(debits=Sum("debit_minor"), credits=Sum("credit_minor"))
            .order_by()
        ):
            sums[(code_id, currency)] = (debits, credits)
        if since is not None and tally_from is not None and since < tally_from:
            line_ranges.append((since, tally_from - datetime.timedelta(days=1)))
        if tally_to <= through:
            line_ranges.append((tally_to, through))
    for line_from, line_through in line_ranges:
        lines = JournalLine.objects.filter(entry_date__lte=line_through, **code_filter)
        if line_from is not None:
            lines = lines.filter(entry_date__gte=line_from)
        for code_id, currency, debits, credits in (
            lines.values_list("accounting_code_id", "currency")
            .annotate(debits=Sum("debit_minor"), credits=Sum("credit_minor"))
            .order_by()
        ):
            old = sums.get((code_id, currency), (0, 0))
            sums[(code_id, currency)] = (old[0] + debits, old[1] + credits)
    return sums


# --- verification and rebuild ---------------------------------------------------------

AR_BALANCE_DRIFT = "ar_balance_drift"
PERIOD_BALANCE_DRIFT = "period_balance_drift"
TALLY_DRIFT = "tally_drift"


def verify_aggregates(limit: int) -> Verification:
    """Every aggregate recomputed from the journal's lines: each invoice's AR-control
    balance (kind ``ar_balance_drift``) and each stored period balance
    (``period_balance_drift``); and each registered tally recomputed from its rows,
    one grouped query each (``tally_drift``, per key that differs). The app that
    registers the ledger checks merges it into its own, so ``verify_ledger`` and each
    close snapshot run it. (It adds no ``checked`` count: it reads the same invoices
    and lines the other checks count.)"""
    result = Verification()
    count, listed = ar_balance_drift(limit)
    for invoice_no, stored, recomputed in listed:
        result.count(
            AR_BALANCE_DRIFT,
            f"Invoice {invoice_no} stores an AR-control balance of {stored} (minor units); "
            f"its journal lines add up to {recomputed}.",
            listed=True,
        )
    for _ in range(count - len(listed)):
        result.count(AR_BALANCE_DRIFT, "", listed=False)
    drifts = period_balance_drift()
    for n, drift in enumerate(drifts):
        result.count(
            PERIOD_BALANCE_DRIFT,
            f"The period balance of {drift.month:%Y-%m}, code id {drift.accounting_code_id}, "
            f"{drift.currency} stores debits/credits {drift.stored}; its lines add up to "
            f"{drift.recomputed}.",
            listed=n < limit,
        )
    for model, source in tallies.registered():
        differing, drifted = tallies.drift(model, source(), limit)
        for key_drift in drifted:
            result.count(
                TALLY_DRIFT,
                f"The {model._meta.verbose_name} of {key_drift.key} stores "
                f"{dict(zip(model.SUMS, key_drift.stored, strict=True))}; its rows add up to "
                f"{dict(zip(model.SUMS, key_drift.recomputed, strict=True))}.",
                listed=True,
            )
        for _ in range(differing - len(drifted)):
            result.count(TALLY_DRIFT, "", listed=False)
    return result


@dataclass(frozen=True)
class Rebuilt:
    ar_balances: int  # invoices whose balance changed
    period_balances: int  # stored rows that changed, appeared or went
    tally_keys: int = 0  # keys of the tallies whose figures differed from their rows


def rebuild_aggregates(*, batch: int = 1000) -> Rebuilt:
    """Recompute every aggregate from the lines and store it where it differs.
    Idempotent (a second run changes nothing), and safe while the app runs:

    - invoices a batch at a time, each batch in its own transaction with the batch's
      rows locked (``select_for_update``, in key order): every posting for an invoice
      holds that lock, so no entry can land between the recomputation and the write;
    - the period balances in one transaction that locks the lock date in force (as a
      move of the lock date does), so the stored months cannot change meanwhile;
      their months are closed, so no posting can touch their lines;
    - each tally, after the invoices' balances it sums: rebuilt in one statement when
      it drifted (``billing.tallies.rebuild``, one snapshot), compacted otherwise.
    """
    changed = 0
    after = 0
    while True:
        with transaction.atomic():
            keys = list(
                Invoice.objects.filter(pk__gt=after)
                .order_by("pk")
                .select_for_update()
                .values_list("pk", flat=True)[:batch]
            )
            if not keys:
                break
            changed += refresh_ar_balances(Invoice.objects.filter(pk__in=keys))
        after = keys[-1]
    with transaction.atomic():
        # Shared, as a posting takes it: a move of the lock date (exclusive) in flight
        # finishes first, and the next waits for this transaction.
        hold_period_lock()
        current = AccountingPeriodLock.objects.select_for_update().order_by("-id").first()
        before = _stored_rows()
        if current is not None:
            current.balances_before = write_closed_months(None, current.locked_through)
            current.save(update_fields=["balances_before"])
        rewritten = len(set(before.items()) ^ set(_stored_rows().items()))
    drifted = 0
    for model, source in tallies.registered():
        count, _listed = tallies.drift(model, source(), limit=0)
        if count:
            tallies.rebuild(model, source())
        else:
            tallies.compact(model)
        drifted += count
    return Rebuilt(ar_balances=changed, period_balances=rewritten, tally_keys=drifted)


def _stored_rows() -> dict[tuple, tuple[int, int]]:
    return {
        (month, code_id, currency): (debits, credits)
        for month, code_id, currency, debits, credits in PeriodBalance.objects.values_list(
            "month", "accounting_code_id", "currency", "debit_minor", "credit_minor"
        )
    }


# --- how long a read of the lines would take -------------------------------------------


def lines_to_read(
    first: datetime.date | None, last: datetime.date, *, stored_months: bool = True
) -> int:
    """An estimate, from two index lookups, of how many journal lines a report from
    ``first`` through ``last`` reads: every line, times the share of the journal's
    days that the stored months do not cover (all of them when ``stored_months`` is
    False, as for aging, which reads each invoice's lines). Lines are assumed spread
    evenly over the days; a report job's threshold needs no more."""
    bounds = JournalLine.objects.aggregate(
        lines=Max("pk"), oldest=Min("entry_date"), newest=Max("entry_date")
    )
    if not bounds["lines"]:
        return 0
    oldest, newest = bounds["oldest"], max(bounds["newest"], last)
    span = (newest - oldest).days + 1
    since = max(first or oldest, oldest)
    read_days = max(0, (last - since).days + 1)
    end = stored_months_end() if stored_months else None
    if end is not None and read_days:
        from_month = since if since.day == 1 else next_month(since)
        covered = (min(end, last + datetime.timedelta(days=1)) - from_month).days
        read_days -= max(0, covered)
    return bounds["lines"] * min(read_days, span) // span


def seconds_to_read(lines: int) -> float:
    """How long reading ``lines`` journal lines takes, at ``REPORT_LINES_PER_SECOND``."""
    return lines / settings.REPORT_LINES_PER_SECOND


def too_slow_for_a_request(lines: int) -> bool:
    """Whether a report reading ``lines`` lines runs as a report job: more than
    ``REPORT_JOB_THRESHOLD_SECONDS`` (about two seconds)."""
    return seconds_to_read(lines) > settings.REPORT_JOB_THRESHOLD_SECONDS


def trial_balance_runs_as_job(start: datetime.date | None, end: datetime.date) -> bool:
    """Whether the trial balance from ``start`` through ``end`` is left to a report
    job: it reads the lines the stored months do not cover (the open months, the
    part-months at either end; everything when no month is stored), for the opening
    balance too."""
    opening = 0 if start is None else lines_to_read(None, start - datetime.timedelta(days=1))
    return too_slow_for_a_request(opening + lines_to_read(start, end))
