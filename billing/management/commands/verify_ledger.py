"""Recompute every invoice's running totals from its rows and report any drift.

This deliberately shares no code with the services: it adds up the integer
minor units of the active payments, the active write-offs and the open dispute
holds itself. A check that reused the code it checks could not fail.

Each kind of row is read as one stream ordered by invoice, and the streams are
merged with the invoices in id order, so memory stays flat on a million
invoices. Sums are taken in Python: SQLite sums in floating point.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import F

from billing.models import Invoice, Payment
from writeoffs.models import DisputeHold, WriteOff

CHUNK = 10000
END = object()


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
        self._head = next(self._sums, END)

    def take(self, invoice_id: int) -> int:
        """The sum for ``invoice_id``: 0 when it has no rows. Rows of invoices that do
        not exist cannot happen (foreign keys), so anything smaller is skipped."""
        while self._head is not END and self._head[0] < invoice_id:
            self._head = next(self._sums, END)
        if self._head is not END and self._head[0] == invoice_id:
            return self._head[1]
        return 0


def _amounts(queryset) -> Iterable[tuple[int, int]]:
    return (
        queryset.order_by("invoice_id")
        .values_list("invoice_id", "amount_minor")
        .iterator(chunk_size=CHUNK)
    )


class Command(BaseCommand):
    help = (
        "Recompute every invoice's paid, written-off and held totals from its payments, "
        "write-offs and dispute holds; list every invoice that disagrees and exit non-zero."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit",
            type=int,
            default=1000,
            help="List at most this many drifting invoices (all are counted; default 1000).",
        )

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        paid = Stream(_amounts(Payment.objects.filter(status=Payment.Status.ACTIVE)))
        # Net of bad-debt recoveries, as the invoice keeps it.
        written_off = Stream(
            WriteOff.objects.filter(status=WriteOff.Status.ACTIVE)
            .order_by("invoice_id")
            .values_list("invoice_id", F("amount_minor") - F("recovered_minor"))
            .iterator(chunk_size=CHUNK)
        )
        held = Stream(_amounts(DisputeHold.objects.filter(status=DisputeHold.Status.OPEN)))
        # Approvals: a pending write-off reserves its amount, except a pending conversion,
        # whose amount stays in its open hold.
        pending = Stream(
            _amounts(
                WriteOff.objects.filter(status=WriteOff.Status.PENDING, origin_dispute__isnull=True)
            )
        )
        invoices = (
            Invoice.objects.order_by("id")
            .values_list(
                "id",
                "invoice_no",
                "total_minor",
                "paid_minor",
                "written_off_minor",
                "held_minor",
                "pending_minor",
            )
            .iterator(chunk_size=CHUNK)
        )

        checked = drifting = 0
        for row in invoices:
            invoice_id, invoice_no, total, stored_paid, stored_wo, stored_held, stored_pending = row
            checked += 1
            problems = []
            for name, stored, actual in (
                ("paid", stored_paid, paid.take(invoice_id)),
                ("written off", stored_wo, written_off.take(invoice_id)),
                ("held", stored_held, held.take(invoice_id)),
                ("pending", stored_pending, pending.take(invoice_id)),
            ):
                if stored != actual:
                    problems.append(f"{name} stored {stored} but rows add up to {actual}")
            if not 0 <= stored_held <= total - stored_paid - stored_wo:
                problems.append("held is outside 0..balance due")
            if not 0 <= stored_pending <= total - stored_paid - stored_wo - stored_held:
                problems.append("held + pending is more than the balance due")
            if problems:
                drifting += 1
                if drifting <= options["limit"]:
                    self.stdout.write(
                        f"Invoice {invoice_no} (id {invoice_id}): "
                        + "; ".join(problems)
                        + " (minor units)"
                    )

        seconds = time.perf_counter() - started
        if drifting:
            if drifting > options["limit"]:
                self.stdout.write(f"... and {drifting - options['limit']:,} more.")
            raise CommandError(
                f"{drifting:,} of {checked:,} invoices have stored totals that disagree with "
                f"their rows ({seconds:.1f} s)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Checked {checked:,} invoices: every stored total agrees with its payments, "
                f"write-offs and dispute holds ({seconds:.1f} s)."
            )
        )
