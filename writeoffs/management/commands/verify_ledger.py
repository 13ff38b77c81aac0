"""Print the ledger check (writeoffs/verification/): every invoice whose stored
totals drifted from its rows, every journal problem, and a summary; exit non-zero
when anything drifted.

The check is the one the close snapshot stores, run through billing's registry
(``billing.verification.verify_ledger``); this command only prints it.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.verification import verify_ledger
from writeoffs.verification import INVOICE_TOTALS


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
        limit = options["limit"]
        started = time.perf_counter()
        result = verify_ledger(limit)
        seconds = time.perf_counter() - started
        # The drifting invoices first, then the journal's problems: the order found.
        for failure in result.failures:
            self.stdout.write(failure.message)
        drifting = result.failed.get(INVOICE_TOTALS, 0)
        journal = result.failure_count - drifting
        journal_listed = sum(1 for failure in result.failures if failure.kind != INVOICE_TOTALS)
        if drifting > limit:
            self.stdout.write(f"... and {drifting - limit:,} more.")
        if journal > journal_listed:
            self.stdout.write(f"... and {journal - journal_listed:,} more journal problems.")
        checked = result.checked.get("invoices", 0)
        if not result.ok:
            raise CommandError(
                f"{drifting:,} of {checked:,} invoices have stored totals that disagree with "
                f"their rows; {journal:,} journal problems ({seconds:.1f} s)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Checked {checked:,} invoices: every stored total agrees with its payments, "
                f"write-offs and dispute holds, and the journal agrees with them "
                f"({result.checked.get('journal_entries', 0):,} entries; {seconds:.1f} s)."
            )
        )
