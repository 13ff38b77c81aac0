"""Import the billing system's accounts, invoices or payments from a CSV file.

    manage.py import_billing --kind accounts|invoices|payments FILE [--dry-run]
        [--mapping NAME] [--as-user NAME]

Every row is checked before any is written; then the rows that passed are imported.
Prints each refused row's problems and a summary line. Exit status 0 when every row
was imported or unchanged, 1 when some were refused (the others are imported) or the
file could not be read. It acts as the system unless ``--as-user`` names the person
it acts for (as ``provision_allowance`` does).
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from typing import IO

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.actors import Actor
from billing.errors import BillingError
from billing.models import ImportKind
from billing.sync.imports.mappings import saved_mapping
from billing.sync.imports.service import import_billing

BAR_WIDTH = 30
# Refused rows printed before "and N more".
PRINTED_PROBLEMS = 200


class Command(BaseCommand):
    help = "Import accounts, invoices or payments from the billing system's CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV file (UTF-8)")
        parser.add_argument("--kind", required=True, choices=ImportKind.values)
        parser.add_argument("--dry-run", action="store_true", help="check only; write nothing")
        parser.add_argument("--mapping", help="a saved column mapping's name")
        parser.add_argument("--as-user", help="the person it acts for (default: the system)")

    def handle(self, *args, **options) -> None:
        path = options["file"]
        kind = options["kind"]
        actor = self._actor(options["as_user"])
        try:
            size = os.path.getsize(path)
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}.") from None

        def open_file() -> AbstractContextManager[IO[bytes]]:
            return open(path, "rb")

        try:
            mapping = saved_mapping(options["mapping"], kind) if options["mapping"] else None
            self.stderr.write(f"Checking {path}…")
            result = import_billing(
                kind=kind,
                open_file=open_file,
                size=size,
                actor=actor,
                dry_run=options["dry_run"],
                mapping=mapping,
                progress=self._bar,
            )
        except BillingError as error:
            raise CommandError(f"{error.message} (error {error.code})") from None
        if result.created + result.updated and not options["dry_run"]:
            self.stderr.write("")  # ends the progress bar's line
        for problem in result.problems[:PRINTED_PROBLEMS]:
            self.stdout.write(f"Row {problem.row}, {problem.column}: {problem.message}")
        more = result.refused and len(result.problems) > PRINTED_PROBLEMS
        if more:
            self.stdout.write(f"… and more problems in {result.refused} refused rows.")
        if not result.succeeded:
            raise CommandError(result.summary())
        self.stdout.write(self.style.SUCCESS(result.summary()))

    def _bar(self, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        percent = 100 * done // total if total else 100
        self.stderr.write(
            f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {percent:3d}% {done}/{total}",
            ending="",
        )
        self.stderr.flush()

    @staticmethod
    def _actor(username: str | None) -> Actor:
        if not username:
            return Actor.for_system()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"--as-user: no active user {username!r}.")
        return Actor.for_user(user)
