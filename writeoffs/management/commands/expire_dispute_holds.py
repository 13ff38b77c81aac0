"""Apply DISPUTE_HOLD_EXPIRATION_ACTION to every open dispute hold past its expiry date.

Meant to run once a day (see the README). Running it again the same day, or
for a date already processed, changes nothing: settled holds are no longer open.
"""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.errors import BillingError
from billing.money import format_money
from writeoffs.models import DisputeHold
from writeoffs.services import dispute_holds_expire


def _run_date(raw: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"--date must be YYYY-MM-DD, not {raw!r}.") from None


class Command(BaseCommand):
    help = "Expire open dispute holds past their expiry date (DISPUTE_HOLD_EXPIRATION_ACTION)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date",
            type=_run_date,
            default=None,
            help="Run as of this date (YYYY-MM-DD); default today in TIME_ZONE.",
        )

    def handle(self, *args, date: datetime.date | None = None, **options) -> None:
        try:
            result = dispute_holds_expire(run_date=date)
        except BillingError as error:
            raise CommandError(error.message) from None
        touched = result.settled or result.left_open
        verb = {
            "none": "left open, shown as expired",
            "convert": "converted to a permanent write-off (reason 9999)",
            "release": "released",
            "release_reage": f"released and re-aged to {result.run_date}",
        }[result.action]
        if result.closed_through is not None:
            verb = f"left open, the books are closed through {result.closed_through}"
        for hold in self._holds(touched):
            self.stdout.write(
                f"Dispute hold {hold.pk} on invoice {hold.invoice.invoice_no} "
                f"({format_money(hold.amount, hold.invoice.currency)} {hold.invoice.currency}, "
                f"expired {hold.expires_on}): {verb}"
            )
        self.stdout.write(self.style.SUCCESS(result.summary()))

    @staticmethod
    def _holds(ids: list[int]):
        # In chunks: a year of backlog must not exceed the database's parameter limit.
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            yield from (
                DisputeHold.objects.filter(pk__in=chunk).select_related("invoice").order_by("pk")
            )
