"""Tallies kept from the journal's lines: the month tally of every code (billing's
own, ``MonthTally``) and whatever the apps on billing register
(``billing.extensions.register_journal_tally``: the write-off analysis).

Each is fed from the one posting path, in the posting's transaction: ``post_entry``
adds its entry's lines (``add_entry``), the bulk posting the lines of its INSERT …
SELECT (``add_lines_after``). Each addition is one INSERT … SELECT of the tally's
own recomputation (``JournalTally.source``) over just those lines, so the figure a
posting adds and the one the check recomputes are the same SQL: they cannot
disagree on what counts. The rows are insert-only deltas (``billing.tallies``): two
postings share no row. Each tally's recomputation from every line (``JournalTally.every_line``)
is registered with the other tallies (``billing.tallies.register``): the daily run
and the seed's end compact it, ``verify_ledger`` compares it with that
recomputation, and ``rebuild_aggregates`` rebuilds it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection
from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncMonth

from billing import extensions, tallies
from billing.extensions import JournalTally
from billing.models import Invoice, JournalEntry, JournalLine, MonthTally


def month_sums(lines: QuerySet[JournalLine]) -> QuerySet:
    """Σ debits and credits of ``lines`` per month (its first day), code and currency:
    ``MonthTally``'s figures."""
    return (
        lines.annotate(tally_month=TruncMonth("entry_date"))
        .values_list("tally_month", "accounting_code", "currency")
        .annotate(debits=Sum("debit_minor"), credits=Sum("credit_minor"))
        .order_by()
    )


MONTH_TALLY = JournalTally(MonthTally, month_sums)

# Set inside ``rebuilt_at_the_end``: the postings leave the tallies to its end.
_deferred: ContextVar[bool] = ContextVar("journal_tallies_deferred", default=False)


def journal_tallies() -> list[JournalTally]:
    return [MONTH_TALLY, *extensions.hooks.journal_tallies]


def add_entry(entry: JournalEntry, line_ids: Sequence[int]) -> None:
    """Add the lines ``line_ids`` of ``entry``, just written, to every tally its event
    feeds. The lines are found by key, not by entry (the seed drops the journal's
    other indexes while it loads)."""
    if _deferred.get():
        return
    for tally in journal_tallies():
        if tally.events is None or entry.event in tally.events:
            tallies.add_select(
                tally.model, tally.source(JournalLine.objects.filter(pk__in=line_ids))
            )


def add_lines_after(after_line: int, event: str) -> None:
    """Add the lines written after line ``after_line``, all of them ``event``'s, to
    every tally that event feeds: the bulk posting's counterpart of ``add_entry``.
    For a bulk write that runs alone: a service's line posted meanwhile would count
    twice."""
    if _deferred.get():
        return
    for tally in journal_tallies():
        if tally.events is None or event in tally.events:
            tallies.add_select(
                tally.model, tally.source(JournalLine.objects.filter(pk__gt=after_line))
            )


@contextmanager
def rebuilt_at_the_end() -> Iterator[None]:
    """For a bulk load that runs alone (the seed): its postings feed no journal
    tally, and when it ends every journal tally is rebuilt from every line, once.
    Fed batch after batch, a tally's join to the entries would be planned on
    statistics from before the load, and each taxed entry would pay three INSERTs.
    On PostgreSQL the journal's statistics are refreshed before the rebuild."""
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (JournalEntry, JournalLine, Invoice):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    for tally in journal_tallies():
        tallies.rebuild(tally.model, tally.every_line())


def register_month_tally() -> None:
    """Called by billing's AppConfig.ready(); the apps' journal tallies register
    their sources through ``billing.extensions.register_journal_tally``."""
    tallies.register(MonthTally, MONTH_TALLY.every_line)
