"""Deterministic demo data for the billing ledger, written with bulk inserts.

The rows are built by ``writeoffs.seeding.ledger`` (each from a factory-built
prototype, the varying columns from a seeded ``random.Random``) and inserted with
``executemany``, a few thousand invoices per transaction, with primary keys
assigned here so that children can point at parents without reading anything back.
Every invoice's running totals are computed from the very rows inserted with it, so
``verify_ledger`` agrees with the result; the database CHECK constraints still guard
every row.

Every seeded money event gets its journal entry, the one its rule in
``billing.ledger.rules`` gives, the table the services post by: an invoice sent on
its bill date, each payment on its paid-on date, each write-off on its write-off
date, and a void (of an invoice or a payment) or reversal on the day it happened.
The journal is not built in Python: right after a batch's rows are inserted, in
its transaction, ``billing.ledger.bulk`` writes the entries of the batch's new rows with one
INSERT … SELECT per event, and their lines with one more per line of its rule
(``Command._post_journal_batch``).

A seed that at least doubles the invoices drops the journal's indexes (all but the
primary keys, the unique constraint, which keeps guarding every entry, and the lines'
entry index, which the taxed rows' one-by-one postings read through) before
its first batch and builds them again once the rows are in
(``writeoffs.seeding.indexes``). A run that was killed before the end leaves them
missing, and the next seed builds them again.

Bulk inserts bypass django-simple-history's signals, so each seeded invoice,
payment, write-off and hold gets its creation record at the end, in one
INSERT … SELECT per table (``record_creation_history``), by "seed_billing":
the first change made through the app, the API or admin then shows what it changed.
"""

from __future__ import annotations

import datetime
import math
import random
import sys
import time

import factory.random
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from billing import tallies
from billing.factories import AccountingCodeFactory
from billing.history import record_creation_history
from billing.ledger import journal_tallies
from billing.ledger.bulk import post_rows
from billing.ledger.codes import STARTING_TAX_RATE, control_codes
from billing.ledger.periods import lock_date
from billing.models import (
    Account,
    ApiIdempotencyRecord,
    Event,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalEvent,
    JournalLine,
    Payment,
    TaxRate,
)
from writeoffs.cases.backfill import cases_for_lone_holds
from writeoffs.models import (
    Case,
    CaseAttachment,
    CaseNote,
    CaseNumber,
    CaseStatusChange,
    CreditNote,
    CreditNoteLine,
    DisputeHold,
    WriteOff,
)
from writeoffs.seeding import SEED_LABEL
from writeoffs.seeding.indexes import journal_indexes_built_after
from writeoffs.seeding.ledger import ACCOUNTING_CODES, BUSY_WRITEOFFS_PER_INVOICE, LedgerBuilder
from writeoffs.seeding.rows import MomentOf
from writeoffs.seeding.taxed import issue_credit_notes, post_taxed_rows
from writeoffs.seeding.users import demo_users

# Seeded numbers start above what the test factories hand out, and a re-run
# without --reset continues after the highest number already in the database.
ACCOUNT_NO_START = 300000
INVOICE_NO_START = 500000
# Invoices inserted per transaction.
BATCH_INVOICES = 5000
# The events the seed makes, and the rows they post: every rule of the table but a
# recovery (the seed makes none) and a reclassification (nor any correction).
SEEDED_EVENTS: tuple[tuple[JournalEvent, type[models.Model]], ...] = (
    (JournalEvent.INVOICE_SENT, Invoice),
    (JournalEvent.INVOICE_VOID, Invoice),
    (JournalEvent.PAYMENT, Payment),
    (JournalEvent.PAYMENT_VOID, Payment),
    (JournalEvent.WRITEOFF, WriteOff),
    (JournalEvent.DISPUTE_CONVERSION, WriteOff),
    (JournalEvent.WRITEOFF_REVERSAL, WriteOff),
)


class Command(BaseCommand):
    help = (
        "Create deterministic demo data (accounts, invoices, payments, write-offs, dispute "
        "holds) with bulk inserts, each with its creation record in history."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--accounts", type=int, default=50, help="Accounts to add (default 50)."
        )
        parser.add_argument(
            "--invoices-per-account",
            type=int,
            default=20,
            help="Invoices per account (default 20).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help=(
                "Delete all accounts, invoices, payments, write-offs, holds, their history "
                "and the API idempotency records first (asks to confirm; see --noinput)."
            ),
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Seed only when there are no accounts yet (used by .ci/serve).",
        )
        parser.add_argument(
            "--busy-account-writeoffs",
            type=int,
            default=0,
            metavar="N",
            help=(
                "Give the first new account N more write-offs, on invoices of its own "
                f"({BUSY_WRITEOFFS_PER_INVOICE} per invoice), for benchmarks (default 0)."
            ),
        )
        parser.add_argument(
            "--as-of",
            type=datetime.date.fromisoformat,
            default=None,
            help="The day the data is relative to, YYYY-MM-DD (default: today).",
        )
        parser.add_argument(
            "--demo-users",
            action="store_true",
            help="Also create the demo users clerk, supervisor, controller and viewer (only with "
            "DEBUG on).",
        )
        parser.add_argument(
            "--demo-password",
            default=None,
            help="Password for the demo users (default: random for new users; kept otherwise).",
        )
        parser.add_argument(
            "--reset-demo-password",
            action="store_true",
            help="Give existing demo users a new random password (default: keep theirs).",
        )
        parser.add_argument(
            "--allow-production-database",
            metavar="NAME",
            default=None,
            help=(
                "Required with DEBUG off: the NAME of the configured database this run will "
                "change (DATABASES['default']['NAME']). Anything else is refused."
            ),
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Do not ask to confirm --reset (for scripts; a reset without a terminal "
            "is refused otherwise).",
        )

    def handle(self, *args, **options) -> None:
        if options["demo_users"] and not settings.DEBUG:
            raise CommandError(
                "Refusing to create demo users: DEBUG is off. Demo users are for local demo "
                "data only, never for a production database."
            )
        for name in ("accounts", "invoices_per_account", "busy_account_writeoffs"):
            if options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} cannot be negative.")
        self._refuse_unsafe_target(options)
        locked = lock_date()
        if locked is not None:
            raise CommandError(
                f"Refusing to seed: the books are closed through {locked}. Seeded rows would "
                "post into closed periods."
            )
        self.verbosity = options["verbosity"]
        self.started = time.perf_counter()
        self.as_of = options["as_of"] or timezone.localdate()

        if options["reset"]:
            if options["interactive"]:
                self._confirm_reset()
            self._reset()
        if options["if_empty"] and Account.objects.exists():
            self._demo_users(options)
            self.stdout.write("Billing data is already there; nothing seeded.")
            return

        accounts = self._seed(
            seed=options["seed"],
            n_accounts=options["accounts"],
            per_account=options["invoices_per_account"],
            busy_writeoffs=options["busy_account_writeoffs"],
        )
        self._demo_users(options)
        built = self.built
        statuses = ", ".join(
            f"{n:,} {status}" for status, n in sorted(built.tally.invoices_by_status.items())
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {accounts:,} accounts, {built.invoices.count:,} invoices "
                f"({statuses or 'none'}), {built.lines.count:,} invoice lines, "
                f"{built.payments.count:,} payments, {built.writeoffs.count:,} write-offs, "
                f"{built.holds.count:,} dispute holds ({built.tally.expired_open_holds:,} open "
                f"past expiry) and {self.journal_entries:,} journal entries in "
                f"{time.perf_counter() - self.started:.1f} s "
                f"(seed {options['seed']}, as of {self.as_of})."
            )
        )

    @staticmethod
    def _database_name() -> str:
        return str(connection.settings_dict["NAME"])

    def _refuse_unsafe_target(self, options: dict) -> None:
        """With DEBUG off this may be a live ledger: the operator must name the
        database, so that a command pasted into the wrong shell changes nothing."""
        named = options["allow_production_database"]
        actual = self._database_name()
        if named is not None and named != actual:
            raise CommandError(
                f"Refusing to seed: --allow-production-database names {named!r}, but the "
                f"configured database is {actual!r}."
            )
        if named is None and not settings.DEBUG:
            raise CommandError(
                "Refusing to seed: DEBUG is off, so this may be a production database. Demo "
                "data does not belong there. If this database really is a throwaway copy, "
                "name it: --allow-production-database NAME (the configured database's NAME)."
            )

    def _confirm_reset(self) -> None:
        """A reset deletes the whole ledger. It runs only after someone at a terminal
        types the database's name; without a terminal (cron, a pipe, CI) only an
        explicit --noinput lets it run, never a default."""
        name = self._database_name()
        if not sys.stdin.isatty():
            raise CommandError(
                "Refusing to --reset without confirmation: there is no terminal to ask on. "
                "Pass --noinput to reset without asking."
            )
        answer = input(
            "This deletes every account, invoice, payment, write-off and dispute hold, their "
            f"history and the API idempotency records in the database {name!r}.\n"
            "Type the database name to continue: "
        )
        if answer.strip() != name:
            raise CommandError("Reset cancelled: the name did not match; nothing was changed.")

    def _progress(self, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(message)

    # --- steps -------------------------------------------------------------

    def _reset(self) -> None:
        """Delete the billing data with plain DELETEs: a QuerySet.delete() would load
        every row and write a history record for each."""
        # Write-off and hold numbers may start again after a reset, so a stored API
        # response could name someone else's new entry: idempotency records go too.
        # The feed's events name the deleted rows and go; its counter stays, so event
        # ids go on rising and a reader's cursor from before the reset skips nothing.
        # Dispute cases go with their holds (an attachment's file stays in storage), and
        # case numbers start again.
        tables = [
            Event,
            CreditNoteLine,
            CreditNote,
            JournalLine,
            JournalEntry,
            ApiIdempotencyRecord,
            CaseAttachment,
            CaseNote,
            CaseStatusChange,
            Case.history.model,
            CaseNumber,
            WriteOff.history.model,
            DisputeHold.history.model,
            Payment.history.model,
            Invoice.history.model,
            WriteOff,
            DisputeHold,
            Case,
            Payment,
            InvoiceLine,
            Invoice,
            Account,
            # Last: the DELETEs above moved the trigger-fed ones to zero.
            *(model for model, _source in tallies.registered()),
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            for model in tables:
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608
        self._progress(
            "Deleted the existing accounts, invoices, ledger rows, their history, the journal "
            "and the API idempotency records."
        )

    def _seed(self, *, seed: int, n_accounts: int, per_account: int, busy_writeoffs: int) -> int:
        codes = {
            code: AccountingCodeFactory.create(code=code, name=name, kind=kind)
            for code, name, kind in ACCOUNTING_CODES
        }
        first_acct_no = 1 + max(
            Account.objects.aggregate(m=Max("acct_no"))["m"] or 0, ACCOUNT_NO_START
        )
        next_invoice_no = 1 + max(
            Invoice.objects.aggregate(m=Max("invoice_no"))["m"] or 0, INVOICE_NO_START
        )
        # The same seed on the same starting numbers gives the same data; a re-run that
        # adds to existing data starts elsewhere, so it draws other values.
        stream = f"{seed}/{first_acct_no}/{next_invoice_no}"
        factory.random.reseed_random(stream)
        self.built = built = LedgerBuilder(
            rng=random.Random(stream),
            as_of=self.as_of,
            codes=codes,
            next_invoice_no=next_invoice_no,
            tax_rate=TaxRate.objects.filter(code=STARTING_TAX_RATE, active=True).first(),
        )
        self.journal_entries = 0

        # Rows with keys above these are this run's: they get their creation records.
        tracked = (Invoice, Payment, WriteOff, DisputeHold)
        seeded_after = {m: m.objects.aggregate(m=Max("pk"))["m"] or 0 for m in tracked}

        busy_invoices = math.ceil(busy_writeoffs / BUSY_WRITEOFFS_PER_INVOICE)
        planned = n_accounts * per_account + busy_invoices
        bulk_load = planned >= Invoice.objects.count()
        with (
            journal_tallies.rebuilt_at_the_end(),
            journal_indexes_built_after(enabled=bulk_load, progress=self._progress),
        ):
            accounts_per_batch = max(1, BATCH_INVOICES // max(1, per_account))
            done = 0
            while done < n_accounts:
                size = min(accounts_per_batch, n_accounts - done)
                with transaction.atomic():
                    batch_from = {
                        writer.model: writer.next_id
                        for writer in (built.invoices, built.payments, built.writeoffs)
                    }
                    accounts = Account.objects.bulk_create(
                        [built.account(first_acct_no + done + i) for i in range(size)]
                    )
                    for account in accounts:
                        for _ in range(per_account):
                            built.invoice(account)
                    if done == 0 and busy_writeoffs:
                        for n in range(busy_invoices):
                            left = busy_writeoffs - n * BUSY_WRITEOFFS_PER_INVOICE
                            built.busy_invoice(accounts[0], min(left, BUSY_WRITEOFFS_PER_INVOICE))
                    built.flush()
                    self._post_journal_batch(batch_from)
                done += size
                self._progress(
                    f"  {done:,}/{n_accounts:,} accounts, {built.invoices.count:,}/{planned:,} "
                    f"invoices ({time.perf_counter() - self.started:.1f} s)"
                )
        # Primary keys were given explicitly: move PostgreSQL's sequences past them
        # (SQLite's AUTOINCREMENT follows explicit keys by itself). The journal's keys
        # came from the sequences (INSERT … SELECT).
        sequence_sql = connection.ops.sequence_reset_sql(
            no_style(), [Invoice, InvoiceLine, Payment, WriteOff, DisputeHold]
        )
        with connection.cursor() as cursor:
            for sql in sequence_sql:
                cursor.execute(sql)
        # Every open hold is worked as a case (verify_ledger checks it).
        cases = cases_for_lone_holds(label=SEED_LABEL)
        self._progress(f"  {cases:,} one-hold dispute cases for the open holds")
        with transaction.atomic():
            written = sum(
                record_creation_history(
                    model, after_pk=after, actor_label=SEED_LABEL, reason="Seeded"
                )
                for model, after in seeded_after.items()
            )
        self._progress(f"  {written:,} creation records in history")
        # The triggers left a row of deltas per key and statement: fold them.
        folded = tallies.compact_all()
        self._progress(
            f"  tallies compacted: {sum(before for before, _ in folded.values()):,} rows into "
            f"{sum(after for _, after in folded.values()):,}"
        )
        return n_accounts

    # --- the journal -------------------------------------------------------------

    def _post_journal_batch(self, batch_from: dict[type[models.Model], int]) -> None:
        """The journal of the batch just flushed (its rows have keys from ``batch_from``):
        each seeded event's entries and lines, from its rule, in SQL."""
        codes = control_codes()
        for event, model in SEEDED_EVENTS:
            self.journal_entries += post_rows(
                event,
                model._default_manager.filter(pk__gte=batch_from[model]),
                codes=codes,
                created_by_label=SEED_LABEL,
                posted_at=MomentOf,
            )
        # Taxed invoices and their write-offs split by their lines: one by one.
        self.journal_entries += post_taxed_rows(
            invoice_from=batch_from[Invoice], writeoff_from=batch_from[WriteOff]
        )
        issue_credit_notes(writeoff_from=batch_from[WriteOff])

    def _demo_users(self, options: dict) -> None:
        if options["demo_users"]:
            self.stdout.write(
                demo_users(
                    password=options["demo_password"],
                    reset_password=bool(options.get("reset_demo_password")),
                )
            )
