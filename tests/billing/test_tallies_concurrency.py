"""Tallies under concurrent writers, on PostgreSQL: writers add deltas (directly, or
through the invoice table's triggers) while compactions and rebuilds run beside
them; afterwards every delta is counted exactly once.

SQLite has one writer at a time, so nothing interleaves there: the test runs on
PostgreSQL only (``DATABASE_URL=postgres://... pytest``).
"""

from __future__ import annotations

import datetime
import random
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.db.models import F

from billing import tallies
from billing.factories import AccountFactory, InvoiceFactory
from billing.models import AccountTally, AgingTally, Invoice
from billing.receivables.tallies import account_tally_source, aging_tally_source

WRITERS = 6
WRITES_PER_WRITER = 40
DAYS = [datetime.date(2026, 3, d) for d in range(1, 5)]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite allows one writer at a time, so nothing interleaves; run with "
            "DATABASE_URL=postgres://... to test compaction under concurrent writers."
        )


def run_beside(writer, background, writers: int = WRITERS) -> list[BaseException]:
    """``writer(i)`` in ``writers`` threads while ``background()`` runs in a loop in
    two more, until the writers finish; the errors raised."""
    errors: list[BaseException] = []
    done = threading.Event()

    def guarded(call, *args):
        try:
            call(*args)
        except BaseException as error:  # asserted on by the caller
            errors.append(error)
        finally:
            connections.close_all()

    def loop():
        while not done.is_set():
            background()
            time.sleep(0.002)

    loops = [threading.Thread(target=guarded, args=(loop,)) for _ in range(2)]
    threads = [threading.Thread(target=guarded, args=(writer, i)) for i in range(writers)]
    for thread in loops + threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done.set()
    for thread in loops:
        thread.join(timeout=120)
    return errors


def test_deltas_added_while_two_compactions_run_are_each_counted_once():
    expected: dict[tuple, list[int]] = {}
    lock = threading.Lock()

    def write(i: int) -> None:
        rng = random.Random(i)
        for _ in range(WRITES_PER_WRITER):
            currency, day = rng.choice(["USD", "EUR"]), rng.choice(DAYS)
            due, held = rng.randint(-500, 1000), rng.randint(0, 50)
            with transaction.atomic():
                tallies.add(
                    AgingTally,
                    [
                        {
                            "currency": currency,
                            "aging_date": day,
                            "due_minor": due,
                            "held_minor": held,
                        }
                    ],
                )
                # A late commit: compactions start and finish meanwhile.
                time.sleep(rng.uniform(0, 0.01))
            with lock:
                sums = expected.setdefault((currency, day), [0, 0, 0, 0])
                sums[0] += due
                sums[1] += held

    errors = run_beside(write, lambda: tallies.compact(AgingTally))

    assert errors == []
    wanted = {key: tuple(sums) for key, sums in expected.items() if any(sums)}
    assert tallies.figures(AgingTally) == wanted
    tallies.compact(AgingTally)
    assert tallies.figures(AgingTally) == wanted
    assert AgingTally.objects.count() == len(wanted)


def test_invoices_changed_while_tallies_compact_and_rebuild_leave_no_drift():
    account = AccountFactory()
    invoice_ids = [InvoiceFactory(account=account, total_minor=100_000).pk for _ in range(WRITERS)]

    def write(i: int) -> None:
        rng = random.Random(i)
        for _ in range(WRITES_PER_WRITER):
            with transaction.atomic():
                # Behind the services' back: the triggers see any UPDATE.
                Invoice.objects.filter(pk=invoice_ids[i]).update(
                    ar_balance_minor=F("ar_balance_minor") - rng.randint(1, 100),
                    aging_date=rng.choice(DAYS),
                )
                time.sleep(rng.uniform(0, 0.01))

    def background() -> None:
        tallies.compact(AgingTally)
        tallies.rebuild(AccountTally, account_tally_source())
        tallies.compact(AccountTally)
        tallies.rebuild(AgingTally, aging_tally_source())

    errors = run_beside(write, background)

    assert errors == []
    assert tallies.drift(AgingTally, aging_tally_source()) == (0, [])
    assert tallies.drift(AccountTally, account_tally_source()) == (0, [])
