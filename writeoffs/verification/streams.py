"""The ordered streams the ledger check merges, so that memory stays flat on a
million invoices: per-invoice sums, and each source row's postings in id order
(grouped in SQL, where a SUM over integer columns is exact)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db.models import Count, Sum

from billing.models import JournalEntry, JournalLine

CHUNK = 10000


def sums_by_invoice(rows: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """``(invoice_id, amount)`` rows ordered by invoice -> ``(invoice_id, sum)``."""
    current, total = None, 0
    for invoice_id, amount in rows:
        if invoice_id != current:
            if current is not None:
                yield current, total
            current, total = invoice_id, 0
        total += amount
    if current is not None:
        yield current, total


class Stream:
    """A cursor over one kind of row's per-invoice sums, advanced in step with the invoices."""

    def __init__(self, rows: Iterable[tuple[int, int]]) -> None:
        self._sums = sums_by_invoice(rows)
        self._head = next(self._sums, None)

    def take(self, invoice_id: int) -> int:
        """The sum for ``invoice_id``: 0 when it has no rows. Rows of invoices that do
        not exist cannot happen (foreign keys), so anything smaller is skipped."""
        while self._head is not None and self._head[0] < invoice_id:
            self._head = next(self._sums, None)
        if self._head is not None and self._head[0] == invoice_id:
            return self._head[1]
        return 0


def postings(source_type: str) -> Iterator[tuple[int, dict[int, int], dict[str, int]]]:
    """Per source row of ``source_type``, in id order: its net per code (debits minus
    credits, zeros left out) and how many entries of each event it has."""
    nets = (
        JournalLine.objects.filter(entry__source_type=source_type)
        .values_list("entry__source_id", "accounting_code_id")
        .annotate(net=Sum("debit_minor") - Sum("credit_minor"))
        .order_by("entry__source_id", "accounting_code_id")
        .iterator(chunk_size=CHUNK)
    )
    events = (
        JournalEntry.objects.filter(source_type=source_type)
        .values_list("source_id", "event")
        .annotate(n=Count("id"))
        .order_by("source_id", "event")
        .iterator(chunk_size=CHUNK)
    )
    net_head = next(nets, None)
    for source_id, counts in _grouped_events(events):
        by_code: dict[int, int] = {}
        while net_head is not None and net_head[0] <= source_id:
            if net_head[0] == source_id and net_head[2]:
                by_code[net_head[1]] = net_head[2]
            net_head = next(nets, None)
        yield source_id, by_code, counts


def _grouped_events(rows) -> Iterator[tuple[int, dict[str, int]]]:
    current: int | None = None
    counts: dict[str, int] = {}
    for source_id, event, n in rows:
        if source_id != current:
            if current is not None:
                yield current, counts
            current, counts = source_id, {}
        counts[event] = n
    if current is not None:
        yield current, counts
