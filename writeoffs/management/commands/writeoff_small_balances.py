"""Write off small balances in bulk, in the foreground, with the same rules as the screen.

    manage.py writeoff_small_balances --as-user clerk --max-balance USD=5.00 EUR=5.00 \\
        --older-than-days 90 --reason-code 0 --comments "Month-end clean-up" [--dry-run]

It creates a bulk run as ``--as-user``, starts it (approved by ``--approved-by``
when the total is above the creator's limit) and runs the worker's own code in
this process, with a progress bar and a summary line. ``--dry-run`` prints the
preview's figures and writes nothing.

Exit status (for cron): 0 when the run completed, and when nothing matches today
(it says so, and keeps no run); non-zero when the input or the start was refused,
or when an invoice failed.
"""

from __future__ import annotations

import argparse

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from billing.actors import Actor
from billing.errors import BULK_RUN_EMPTY, BillingError
from billing.models import Account, AccountingCode
from billing.money import minor_money_text, money_text
from writeoffs.bulk.execute import bulk_run_execute, bulk_run_progress
from writeoffs.bulk.preview import bulk_run_preview
from writeoffs.bulk.runs import bulk_run_prepare, bulk_run_start
from writeoffs.models import BulkRun, BulkRunItem

BAR_WIDTH = 30


def _max_balance(raw: str) -> tuple[str, str]:
    currency, sep, amount = raw.partition("=")
    if not sep or not currency or not amount:
        raise argparse.ArgumentTypeError(f"use CURRENCY=AMOUNT such as USD=5.00, not {raw!r}")
    return currency.strip().upper(), amount.strip()


class Command(BaseCommand):
    help = "Write off small balances in bulk (a bulk run, executed in the foreground)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-user", required=True, help="The run's creator (username).")
        parser.add_argument(
            "--approved-by",
            help="A different person who approves a total above the creator's limit.",
        )
        parser.add_argument(
            "--max-balance",
            required=True,
            nargs="+",
            type=_max_balance,
            metavar="CUR=AMOUNT",
            help="Largest available balance to write off, per currency (e.g. USD=5.00).",
        )
        parser.add_argument("--older-than-days", required=True, help="Days past the aging date.")
        parser.add_argument("--reason-code", required=True)
        parser.add_argument("--comments", required=True)
        parser.add_argument(
            "--expense-code",
            help="Post to this expense accounting code (default: revenue-impacting).",
        )
        parser.add_argument(
            "--account-status",
            nargs="+",
            default=[Account.Status.ACTIVE],
            choices=Account.Status.values,
            help="Account statuses to include (default: active).",
        )
        parser.add_argument(
            "--include-held",
            action="store_true",
            help="Include invoices with open dispute holds (their available part).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Preview only; write nothing.")

    def handle(self, *args, **options) -> None:
        creator = self._actor(options["as_user"], "--as-user")
        approver = (
            self._actor(options["approved_by"], "--approved-by")
            if options["approved_by"]
            else creator
        )
        try:
            run = bulk_run_prepare(
                actor=creator,
                max_balance=dict(options["max_balance"]),
                older_than_days=options["older_than_days"],
                reason_code=options["reason_code"],
                comments=options["comments"],
                account_statuses=options["account_status"],
                exclude_held=not options["include_held"],
                revenue_impacting=not options["expense_code"],
                accounting_code_id=self._expense_code(options["expense_code"]),
            )
            if options["dry_run"]:
                self._preview(run)
                return
            # A start that is refused leaves no draft behind.
            with transaction.atomic():
                run.save()
                # Started, not enqueued: this process executes it below.
                run = bulk_run_start(run_id=run.pk, actor=approver)
        except BillingError as error:
            if error.code == BULK_RUN_EMPTY:
                # Nothing to do is not a failure; the draft was rolled back, so no run
                # is named.
                self.stdout.write(
                    self.style.SUCCESS(
                        "Nothing to write off: no invoice matches these criteria today. "
                        "No bulk run was created."
                    )
                )
                return
            raise CommandError(f"{error.message} (error {error.code})") from None
        self.stdout.write(f"Bulk run {run.pk} started; approved by {run.approved_by}.")
        total = run.items.filter(excluded=False).count()
        done = 0

        def advance(item: BulkRunItem) -> None:
            nonlocal done
            done += 1
            self._bar(done, total)

        self._bar(0, total)
        run = bulk_run_execute(run.pk, on_item=advance, processed_by="command")
        self.stdout.write("")
        self._summary(run)

    def _actor(self, username: str, option: str) -> Actor:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"{option}: no active user {username!r}.")
        return Actor.for_user(user)

    @staticmethod
    def _expense_code(code: str | None) -> int | None:
        if not code:
            return None
        pk = AccountingCode.objects.filter(code=code).values_list("pk", flat=True).first()
        if pk is None:
            raise CommandError(f"--expense-code: no accounting code {code!r}.")
        return pk

    def _preview(self, run: BulkRun) -> None:
        figures = bulk_run_preview(run)
        for line in figures:
            self.stdout.write(
                f"{line.currency}: {line.count} invoice(s), {money_text(line.total, line.currency)}"
            )
        count = sum(line.count for line in figures)
        self.stdout.write(
            self.style.SUCCESS(
                f"Dry run: {count} invoice(s) would be written off; nothing written."
            )
        )

    def _bar(self, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        percent = 100 * done // total if total else 100
        self.stdout.write(
            f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {percent:3d}% {done}/{total}",
            ending="",
        )
        self.stdout.flush()

    def _summary(self, run: BulkRun) -> None:
        progress = bulk_run_progress(run)
        written: dict[str, int] = {}
        for item in run.items.filter(state=BulkRunItem.State.WRITTEN).only(
            "currency", "amount_minor"
        ):
            # A written item was not excluded, so it has its amount (bulkrunitem_amount_gt_0).
            assert item.amount_minor is not None
            written[item.currency] = written.get(item.currency, 0) + item.amount_minor
        amounts = ", ".join(
            minor_money_text(minor, currency) for currency, minor in sorted(written.items())
        )
        line = (
            f"Bulk run {run.pk} {run.get_status_display().lower()}: {progress.written} written"
            f"{f' ({amounts})' if amounts else ''}, {progress.skipped} skipped, "
            f"{progress.failed} failed."
        )
        if progress.failed:
            # Written ones stay written; the failures are in the run's log.
            raise CommandError(f"{line} See the run's log for the failed invoices.")
        self.stdout.write(self.style.SUCCESS(line))
