"""The daily run: every job that is due once a day, in order, in one command.

Each step is a ``DailyStep``: a name and a function ``run(day, report) -> str``.
``day`` is the run date; the step calls ``report(line)`` once per change it
makes and returns its one-line summary. A step must be idempotent (running the
same day again changes nothing more) and commit its own work: a step that
fails is reported, the steps after it still run, and the command then exits
with an error naming the failed steps.

Adding a step is one line in ``STEPS``, at its place in the order.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing import tallies
from billing.actors import Actor
from billing.ops.maintenance import purge_expired_records
from writeoffs.approvals.decisions import writeoffs_lapse
from writeoffs.bulk import tasks as bulk_tasks
from writeoffs.cases.notify import overdue_digest
from writeoffs.cases.resolution import close_settled_cases
from writeoffs.lifecycle.tax_relief import tax_relief_due
from writeoffs.management.commands.expire_dispute_holds import (
    expire_holds,
    parse_run_date,
    refuse_future_date,
)

log = logging.getLogger(__name__)

Report = Callable[[str], None]


@dataclass(frozen=True)
class DailyStep:
    name: str
    run: Callable[[datetime.date, Report], str]


def expire_dispute_holds(day: datetime.date, report: Report) -> str:
    """Step 1: DISPUTE_HOLD_EXPIRATION_ACTION on the holds past expiry (writeoffs)."""
    return expire_holds(day, report)


def lapse_pending_approvals(day: datetime.date, report: Report) -> str:
    """Step 2: write-offs pending approval for longer than WRITEOFF_APPROVAL_DAYS."""
    result = writeoffs_lapse(run_date=day)
    for line in result.lines():
        report(line)
    return result.summary()


def move_due_tax_relief(day: datetime.date, report: Report) -> str:
    """Step 3: bad debts whose tax relief is due: their tax moves from "tax relief
    pending" to tax payable (dated today, never in a closed period)."""
    result = tax_relief_due(run_date=day)
    for line in result.moved:
        report(line)
    return result.summary()


def resume_stalled_bulk_runs(day: datetime.date, report: Report) -> str:
    """Step 4: bulk runs whose heartbeat is over 5 minutes old, enqueued again."""
    resumed = bulk_tasks.resume_stalled_bulk_runs()
    for run_id in resumed:
        report(f"Bulk run {run_id} was stalled: enqueued again.")
    return f"{len(resumed)} stalled bulk run(s) resumed."


def purge(day: datetime.date, report: Report) -> str:
    """Step 5: records that only matter for a while (billing/maintenance.py).
    The cut-offs count back from now, not from ``day``: catching up a missed day
    must not purge more than a run on that day would have."""
    results = purge_expired_records()
    for purged in results:
        if purged.count:
            report(
                f"Removed {purged.count:,} {purged.what} "
                f"(older than {purged.cutoff:%Y-%m-%d %H:%M %Z})."
            )
    return "Purged " + ", ".join(f"{p.count:,} {p.what}" for p in results) + "."


def close_settled_dispute_cases(day: datetime.date, report: Report) -> str:
    """Step 6: dispute cases left open with no open hold (their closing, which follows
    the settlement's commit, was interrupted), resolved."""
    closed = close_settled_cases(Actor.for_system())
    return f"{closed} settled dispute case(s) resolved."


def mail_overdue_cases(day: datetime.date, report: Report) -> str:
    """Step 7: each assignee's open dispute cases past their due date, one email each,
    once per day."""
    sent = overdue_digest(day)
    if sent is None:
        return f"The overdue cases digest of {day} was sent already."
    return f"{sent} overdue cases digest(s) sent."


def compact_tallies(day: datetime.date, report: Report) -> str:
    """Step 8: every tally's rows of deltas folded into one row per key
    (``billing.tallies.compact``), so a day's writes leave a day's rows at most."""
    folded = tallies.compact_all()
    for model, (before, written) in folded.items():
        if before != written:
            report(f"{model._meta.verbose_name}: {before:,} rows folded into {written:,}.")
    before = sum(rows for rows, _ in folded.values())
    after = sum(rows for _, rows in folded.values())
    return f"{len(folded)} tallies compacted: {before:,} rows into {after:,}."


STEPS: list[DailyStep] = [
    DailyStep("dispute expiry", expire_dispute_holds),
    DailyStep("approval lapse", lapse_pending_approvals),
    DailyStep("tax relief", move_due_tax_relief),
    DailyStep("bulk run resume", resume_stalled_bulk_runs),
    DailyStep("purge", purge),
    DailyStep("settled cases", close_settled_dispute_cases),
    DailyStep("overdue cases digest", mail_overdue_cases),
    DailyStep("tally compaction", compact_tallies),
]


class Command(BaseCommand):
    help = (
        "Run the daily jobs in order: "
        + ", ".join(f"({n}) {step.name}" for n, step in enumerate(STEPS, 1))
        + ". Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date",
            type=parse_run_date,
            default=None,
            help="Run as of this date (YYYY-MM-DD, not in the future); default today in TIME_ZONE.",
        )

    def handle(self, *args, date: datetime.date | None = None, **options) -> None:
        day = refuse_future_date(date)
        failed = []
        for number, step in enumerate(STEPS, 1):
            prefix = f"[{day} {number}/{len(STEPS)} {step.name}]"

            def say(line: str, p: str = prefix) -> None:
                self.stdout.write(f"{p} {line}")

            try:
                summary = step.run(day, say)
            except Exception as error:
                # One step's failure (a bug, a lock timeout) must not stop the others,
                # which are independent; the traceback goes to the log.
                log.exception("Daily run: step %s failed", step.name)
                message = getattr(error, "message", None) or str(error)
                self.stderr.write(f"{prefix} FAILED: {message}")
                failed.append(step.name)
                continue
            self.stdout.write(self.style.SUCCESS(f"{prefix} {summary}"))
        if failed:
            raise CommandError(
                f"The daily run for {day} finished with failed steps: {', '.join(failed)}. "
                "The other steps ran; run it again once the cause is fixed."
            )
        self.stdout.write(
            self.style.SUCCESS(f"The daily run for {day} finished: all {len(STEPS)} steps ran.")
        )
