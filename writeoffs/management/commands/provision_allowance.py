"""Book the allowance for doubtful accounts at a month end, with the screen's rules.

    manage.py provision_allowance --month 2026-11 [--currency USD] [--dry-run] [--as-user NAME]

Prints, per currency, each aging column's total x rate = amount, the allowance
required and booked, and the difference it posts (one entry per currency, dated the
month end). A month with no difference prints "nothing to post" and exits 0; a
refusal (a month not over, one on or before the lock date) exits 1.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.actors import Actor
from billing.errors import BillingError
from billing.money import format_money, from_minor
from writeoffs.allowance.provision import parse_month, provision_run


class Command(BaseCommand):
    help = "Post the month end's allowance provision: the aging's buckets x the provision rates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help="YYYY-MM: the month whose end it books")
        parser.add_argument("--currency", help="only this currency (default: every one)")
        parser.add_argument("--dry-run", action="store_true", help="print the figures only")
        parser.add_argument(
            "--as-user", help="the controller it runs as (default: the system, as run_daily)"
        )

    def handle(self, *args, **options) -> None:
        actor = self._actor(options["as_user"])
        try:
            month_end = parse_month(options["month"])
            result = provision_run(
                actor=actor,
                month_end=month_end,
                currency=options["currency"],
                dry_run=options["dry_run"],
            )
        except BillingError as error:
            raise CommandError(f"{error.message} (error {error.code})") from None
        for provision in result.plan.currencies:
            code = provision.currency

            def money(minor: int, code: str = code) -> str:
                return f"{format_money(from_minor(minor, code), code)} {code}"

            self.stdout.write(f"{code} at {month_end}:")
            for column in provision.columns:
                self.stdout.write(
                    f"  {column.label:<20} {money(column.total_minor):>22} x "
                    f"{column.rate.normalize()} % = {money(column.amount_minor)}"
                )
            self.stdout.write(f"  required {money(provision.required_minor)}")
            self.stdout.write(f"  booked   {money(provision.booked_minor)}")
            verb = "would post" if options["dry_run"] else "posted"
            if provision.difference_minor:
                self.stdout.write(f"  {verb} {money(provision.difference_minor)}")
        if result.plan.nothing_to_post:
            self.stdout.write(f"Allowance at {month_end}: nothing to post.")
        elif options["dry_run"]:
            self.stdout.write("Dry run: nothing was posted.")
        else:
            entries = ", ".join(str(run.journal_entry_id) for run in result.posted)
            self.stdout.write(f"Posted journal entries {entries}.")

    @staticmethod
    def _actor(username: str | None) -> Actor:
        if not username:
            return Actor.for_system()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"--as-user: no active user {username!r}.")
        return Actor.for_user(user)
