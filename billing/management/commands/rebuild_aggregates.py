"""Recompute the journal's aggregates (``billing.ledger.aggregates``) from its lines
and store those that differ: each invoice's AR-control balance, the period
balances of the closed months and the journal tallies (compacted too).

Idempotent (a second run changes nothing and says so) and safe while the app runs:
the invoices are rebuilt a locked batch at a time, the period balances under the
lock date's lock; see ``rebuild_aggregates`` and docs/architecture.md.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from billing.ledger.aggregates import rebuild_aggregates


class Command(BaseCommand):
    help = (
        "Rebuild the aggregates today's reports read (each invoice's AR-control balance, "
        "the closed months' period balances, the journal tallies) from the journal. "
        "Idempotent; safe while the app runs."
    )

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        rebuilt = rebuild_aggregates()
        seconds = time.perf_counter() - started
        if not rebuilt.ar_balances and not rebuilt.period_balances and not rebuilt.tally_keys:
            self.stdout.write(
                self.style.SUCCESS(
                    "Nothing to rebuild: every aggregate agrees with the journal "
                    f"({seconds:.1f} s)."
                )
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Rebuilt {rebuilt.ar_balances:,} invoices' AR-control balances and "
                f"{rebuilt.period_balances:,} period balances and {rebuilt.tally_keys:,} "
                f"journal tallies' figures ({seconds:.1f} s)."
            )
        )
