"""Apply DISPUTE_HOLD_EXPIRATION_ACTION to every open dispute hold past its expiry date.

Meant to run once a day (see the README). Running it again the same day, or
for a date already processed, changes nothing: settled holds are no longer open.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.errors import BillingError
from billing.money import money_text
from billing.rules import today
from writeoffs.checks import EXPIRATION_LEAVE_OPEN
from writeoffs.lifecycle.expiry import dispute_holds_expire
from writeoffs.models import DisputeHold, Settlement


def parse_run_date(raw: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"--date must be YYYY-MM-DD, not {raw!r}.") from None


def refuse_future_date(day: datetime.date | None) -> datetime.date:
    """The run date of a daily job: ``--date`` (today or earlier: a catch-up run) or
    today. A future date would post conversions and move aging dates into the
    future: refused, before anything runs (exit status 1)."""
    if day is None:
        return today()
    if day > today():
        raise CommandError(
            f"--date {day} is in the future: run for today ({today()}) or an earlier date."
        )
    return day


VERBS = {
    EXPIRATION_LEAVE_OPEN: "left open, shown as expired",
    Settlement.CONVERT: f"{Settlement.CONVERT.outcome} (reason 9999)",
    Settlement.RELEASE: Settlement.RELEASE.outcome,
    Settlement.RELEASE_REAGE: f"{Settlement.RELEASE_REAGE.outcome} to {{run_date}}",
}


def expire_holds(day: datetime.date | None, report: Callable[[str], None]) -> str:
    """Expire the holds past expiry as of ``day``, ``report`` one line per hold, and
    return the summary. Also the first step of ``run_daily``."""
    result = dispute_holds_expire(run_date=day)
    verb = VERBS[result.action].format(run_date=result.run_date)
    if result.closed_through is not None:
        verb = f"left open, the books are closed through {result.closed_through}"
    for hold in _holds(result.settled or result.left_open):
        done = verb
        if hold.pk in result.not_reaged:
            done = f"released without re-aging ({result.not_reaged[hold.pk]})"
        report(
            f"Dispute hold {hold.pk} on invoice {hold.invoice.invoice_no} "
            f"({money_text(hold.amount, hold.invoice.currency)}, "
            f"expired {hold.expires_on}): {done}"
        )
    for hold in _holds(result.conversion_pending):
        report(
            f"Dispute hold {hold.pk} on invoice {hold.invoice.invoice_no} "
            f"({money_text(hold.amount, hold.invoice.currency)}, "
            f"expired {hold.expires_on}): conversion pending approval (over the limit of "
            f"{hold.created_by_label or 'its creator'})"
        )
    for hold in _holds(result.refused):
        report(
            f"Dispute hold {hold.pk} on invoice {hold.invoice.invoice_no} "
            f"({money_text(hold.amount, hold.invoice.currency)}, "
            f"expired {hold.expires_on}): conversion refused, left open for a person to settle"
        )
    return result.summary()


def _holds(ids: list[int]):
    # In chunks: a year of backlog must not exceed the database's parameter limit.
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        yield from (
            DisputeHold.objects.filter(pk__in=chunk).select_related("invoice").order_by("pk")
        )


class Command(BaseCommand):
    help = "Expire open dispute holds past their expiry date (DISPUTE_HOLD_EXPIRATION_ACTION)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date",
            type=parse_run_date,
            default=None,
            help="Run as of this date (YYYY-MM-DD, not in the future); default today in TIME_ZONE.",
        )

    def handle(self, *args, date: datetime.date | None = None, **options) -> None:
        day = refuse_future_date(date)
        try:
            summary = expire_holds(day, self.stdout.write)
        except BillingError as error:
            raise CommandError(error.message) from None
        self.stdout.write(self.style.SUCCESS(summary))
