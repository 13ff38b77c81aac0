"""Credit-note numbers under twenty concurrent writers (measure_credit_notes, PostgreSQL).

Every revenue-impacting write-off that becomes active takes the year's next credit-note
number (``writeoffs.tax.credit_notes.next_number``): the year's counter row is locked by
the UPDATE that takes the number and held until the write-off commits, so numbers are
gap-free per year (SPEC Part 3). Writers therefore queue on that one row for the end of
their transactions; this measures what the queue costs.

``WRITERS`` threads, each on its own connection and released together by one barrier
(the pattern of ``tests/writeoffs/test_concurrency.py``), each write off 0.01 of their
own invoices (disjoint, so no invoice lock orders them; only the counter does), one
write-off per transaction. The same number of write-offs by one writer is the
baseline. Afterwards every number of the year is checked: unique, consecutive from 1,
and the counter at the last one.

SQLite serializes every writer on its file (IMMEDIATE transactions), so the race would
measure that, not the counter: the step is PostgreSQL only.
"""

from __future__ import annotations

import threading
import time

from django.contrib.auth import get_user_model
from django.db import connection

from billing.actors import Actor
from billing.rules import today
from tests.benchmarks.pages import NotReady, goodwill_writeoff, invoices_with_room
from writeoffs.models import CreditNote, CreditNoteCounter, WriteOff

WRITERS = 20


def _writer(user_id: int) -> Actor:
    actor = Actor.for_user(get_user_model().objects.get(pk=user_id))
    actor.has_perm("writeoffs.add_writeoff")  # the permission cache, warmed before the race
    return actor


def race(slices: list[list[int]], user_id: int) -> float:
    """Each slice's invoices written off by its own thread, all released at once; the
    seconds from the release to the last commit. Any writer's error stops the benchmark."""
    count = len(slices)
    started: list[float] = []
    barrier = threading.Barrier(count, action=lambda: started.append(time.perf_counter()))
    errors: list[BaseException] = []

    def run(invoice_ids: list[int]) -> None:
        try:
            actor = _writer(user_id)
            barrier.wait(timeout=60)
            for invoice_id in invoice_ids:
                _active(goodwill_writeoff(invoice_id, actor))
        except BaseException as error:  # reported below, with every other writer's
            errors.append(error)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(ids,)) for ids in slices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"credit notes: {len(errors)} writer(s) failed: {errors[:3]!r}")
    return time.perf_counter() - started[0]


def _active(writeoff: WriteOff) -> None:
    if writeoff.credit_note_no is None:
        raise SystemExit(
            f"credit notes: write-off {writeoff.pk} has no credit note ({writeoff.status})"
        )


def check_numbers(year: int) -> dict[str, int]:
    """The year's notes: unique numbers, sequences 1..n without a gap, each number
    built from its sequence, and the counter at n. Raises on any breach."""
    notes = list(
        CreditNote.objects.filter(year=year).order_by("sequence").values_list("sequence", "number")
    )
    sequences = [sequence for sequence, _ in notes]
    numbers = {number for _, number in notes}
    counter = CreditNoteCounter.objects.filter(year=year).values_list("last_number", flat=True)
    last = counter.first() or 0
    if sequences != list(range(1, len(notes) + 1)):
        missing = sorted(set(range(1, last + 1)) - set(sequences))[:10]
        raise SystemExit(f"credit notes {year}: not consecutive; missing e.g. {missing}")
    if len(numbers) != len(notes):
        raise SystemExit(f"credit notes {year}: {len(notes) - len(numbers)} duplicate numbers")
    wrong = [n for s, n in notes if n != CreditNote.number_for(year, s)][:5]
    if wrong:
        raise SystemExit(f"credit notes {year}: numbers not from their sequence: {wrong}")
    if last != len(notes):
        raise SystemExit(f"credit notes {year}: counter at {last}, {len(notes)} notes")
    return {"notes": len(notes), "last_sequence": last}


def measure(bench, per_writer: int) -> dict[str, object]:
    """The race and its one-writer baseline over as many write-offs; the figures."""
    if connection.vendor != "postgresql":
        raise NotReady("PostgreSQL only (SQLite serializes every writer)")
    total = WRITERS * per_writer
    invoice_ids = [i for i, _ in invoices_with_room(bench.account, 2 * total)]
    if len(invoice_ids) < 2 * total:
        raise NotReady(f"{2 * total} invoices with room needed, {len(invoice_ids)} found")
    year = today().year
    before = CreditNote.objects.filter(year=year).count()
    alone, racing = invoice_ids[:total], invoice_ids[total:]
    user_id = bench.clerk.pk
    one_seconds = race([alone], user_id)
    many_seconds = race([racing[w::WRITERS] for w in range(WRITERS)], user_id)
    checked = check_numbers(year)
    if checked["notes"] != before + 2 * total:
        raise SystemExit(
            f"credit notes: {checked['notes'] - before} new notes, {2 * total} write-offs"
        )
    return {
        "writers": WRITERS,
        "writeoffs": total,
        "one_writer_per_s": total / one_seconds,
        "many_writers_per_s": total / many_seconds,
        **checked,
    }
