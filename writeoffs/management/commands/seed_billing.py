"""Deterministic demo data for the billing ledger, written with bulk inserts.

Every row starts from the factory-boy factories the tests use. Accounts are
built one by one by ``AccountFactory``. Invoices, lines, payments, write-offs
and dispute holds are far too many for that: building one row through
factory-boy costs 60-110 µs (measured), minutes on its own for a million
invoices. So each of those factories builds one prototype row, which gives every
column its default, and each seeded row is that prototype's values with the
varying columns (amounts, dates, statuses, keys) set from a seeded
``random.Random``. The rows are inserted with ``executemany``, a few thousand
invoices per transaction, with primary keys assigned here so that children can
point at parents without reading anything back.

Every invoice's running totals are computed from the very rows inserted with
it, so ``verify_ledger`` agrees with the result; the database CHECK constraints
still guard every row.

Every seeded money event gets its journal entry, the same lines the services
post (``billing.journal``): an invoice sent on its bill date, each payment on its
paid-on date, each write-off on its write-off date, and a void or reversal on the
day it happened. The journal is not built in Python: right after a batch's rows
are inserted, in its transaction, one INSERT … SELECT per kind of event writes the
entries of the batch's new rows, and two more write their debit and credit lines
(``Command._post_journal_batch``).

A seed that at least doubles the invoices drops the journal's indexes (all but the
primary keys and the unique constraint, which keeps guarding every entry) before
its first batch and builds them again once the rows are in
(``journal_indexes_built_after``): building an index over sorted rows costs far
less than growing it row by row at random dates. A run that was killed before the
end leaves them missing, and the next seed builds them again.

Bulk inserts bypass django-simple-history's signals, so each seeded invoice,
payment, write-off and hold gets its creation record at the end, in one
INSERT … SELECT per table (``record_creation_history``), by "seed_billing":
the first change made through the app, the API or admin then shows what it changed.
"""

from __future__ import annotations

import datetime
import itertools
import math
import random
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import factory.random
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import (
    DateTimeField,
    F,
    Func,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.factories import (
    AccountFactory,
    AccountingCodeFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    PaymentFactory,
)
from billing.history import record_creation_history
from billing.ledger.codes import control_codes
from billing.ledger.periods import lock_date
from billing.models import (
    Account,
    AccountingCode,
    ApiIdempotencyRecord,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalEvent,
    JournalLine,
    Payment,
)
from billing.roles import CLERK, SUPERVISOR, VIEWER
from writeoffs.factories import DisputeHoldFactory, WriteOffFactory
from writeoffs.models import WRITEOFF_REASON_CODES, DisputeHold, Source, WriteOff

# Seeded numbers start above what the test factories hand out, and a re-run
# without --reset continues after the highest number already in the database.
ACCOUNT_NO_START = 300000
INVOICE_NO_START = 500000
# Invoices inserted per transaction, and rows per executemany call.
BATCH_INVOICES = 5000
INSERT_CHUNK = 5000
# Write-offs per invoice of the busy account (--busy-account-writeoffs).
BUSY_WRITEOFFS_PER_INVOICE = 100
# Chances that an invoice with something left to collect gets a write-off, then a hold.
WRITEOFF_SHARE = 0.26
HOLD_SHARE = 0.11
SEED_LABEL = "seed_billing"
# A journal column's value in INSERT … SELECT: a field of the source rows, or an expression.
type Column = str | Combinable

ACCOUNTING_CODES = [
    ("4000", "Subscription revenue", AccountingCode.Kind.REVENUE),
    ("4100", "Professional services revenue", AccountingCode.Kind.REVENUE),
    ("6100", "Bad debt expense", AccountingCode.Kind.EXPENSE),
    ("6200", "Customer goodwill expense", AccountingCode.Kind.EXPENSE),
]
LINE_DESCRIPTIONS = [
    "Subscription",
    "Additional seats",
    "Usage overage",
    "Premium support",
    "Onboarding services",
    "Data storage",
]
WRITEOFF_COMMENTS = [
    "Customer bankrupt; balance uncollectible.",
    "Goodwill credit agreed with the customer.",
    "Billing error on the original invoice.",
    "Returned goods.",
    "Promotional discount applied after billing.",
    "Small balance written off.",
]
DISPUTE_COMMENTS = [
    "Customer disputes the usage charge.",
    "Customer says the service was not delivered.",
    "Duplicate charge reported by the customer.",
]
PAYMENT_METHODS = list(Payment.Method.values)
DEMO_USERS = [("clerk", CLERK, False), ("supervisor", SUPERVISOR, True), ("viewer", VIEWER, False)]


def _between(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    if end <= start:
        return start
    return start + datetime.timedelta(days=rng.randint(0, (end - start).days))


def _moment(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(15, 0), tzinfo=datetime.UTC)


def _split(rng: random.Random, amount: int, parts: int) -> list[int]:
    """``amount`` split into ``parts`` positive integers (fewer if it is too small)."""
    parts = max(1, min(parts, amount))
    cuts = sorted(rng.sample(range(1, amount), parts - 1)) if parts > 1 else []
    edges = [0, *cuts, amount]
    return [b - a for a, b in itertools.pairwise(edges)]


def _remembered(adapt: Callable[[Any], object]) -> Callable[[object], object]:
    seen: dict[object, object] = {}

    def convert(value: object) -> object:
        try:
            return seen[value]
        except KeyError:
            seen[value] = adapted = adapt(value)
            return adapted

    return convert


class MomentOf(Func):
    """``_moment`` in SQL: 15:00 UTC on a date, in each backend's own date arithmetic.
    Django's portable date + duration calls a Python function per row on SQLite,
    which cost about as much as inserting the row (measured)."""

    output_field = DateTimeField()
    template = "((%(expressions)s + TIME '15:00') AT TIME ZONE 'UTC')"

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite's format for Django's datetimes: UTC, "YYYY-MM-DD HH:MM:SS".
        return self.as_sql(
            compiler, connection, template="datetime(%(expressions)s, '+15 hours')", **extra_context
        )


def _insert_select(model: type[models.Model], rows: QuerySet, columns: dict[str, Column]) -> int:
    """One row of ``model`` per row of ``rows``, in their order, in one INSERT … SELECT:
    each column (by attname) set to a field of ``rows`` (by name) or an expression
    over them. Returns how many rows it wrote."""
    expressions = [F(c) if isinstance(c, str) else c for c in columns.values()]
    select, params = rows.values_list(*expressions).query.sql_with_params()
    quote = connection.ops.quote_name
    column = {f.attname: cast(str, f.column) for f in model._meta.concrete_fields}
    names = ", ".join(quote(column[name]) for name in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({names}) {select}", params)
        return cursor.rowcount


@dataclass(frozen=True)
class Posting:
    """One kind of money event, as ``billing.journal`` posts it, over its source rows:
    the entry date, the codes debited and credited and the amount, each a field of
    the rows or an expression over them."""

    event: JournalEvent
    rows: QuerySet
    day: Column
    debit: Column
    credit: Column
    amount: Column = "amount_minor"


class RowWriter:
    """Rows of one model, starting from a factory-built prototype, inserted with
    ``executemany``. Primary keys are handed out here, from after the table's
    current maximum."""

    def __init__(self, model: type[models.Model], prototype: models.Model) -> None:
        fields = model._meta.concrete_fields
        self.model = model
        self.attnames = [f.attname for f in fields]
        self._defaults = {
            f.attname: f.get_db_prep_save(
                f.pre_save(prototype, add=True)
                if getattr(f, "auto_now_add", False)
                else getattr(prototype, f.attname),
                connection,
            )
            for f in fields
        }
        # Only dates and times need the backend's conversion; ints, strings and
        # booleans go to the driver as they are. They go straight to the backend's
        # adapter (where get_db_prep_save ends up), remembered per value: a million
        # invoices share a few hundred dates, and the field's whole conversion chain
        # was a third of the seed's time in its profile.
        adapters = {
            "DateField": connection.ops.adapt_datefield_value,
            "DateTimeField": connection.ops.adapt_datetimefield_value,
        }
        self._convert = {
            f.attname: _remembered(adapters[f.get_internal_type()])
            for f in fields
            if f.get_internal_type() in adapters
        }
        quote = connection.ops.quote_name
        self.sql = (
            f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
            f"({', '.join(quote(cast(str, f.column)) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        self.next_id = (model._default_manager.aggregate(m=Max("pk"))["m"] or 0) + 1
        self.rows: list[tuple] = []
        self.count = 0

    def reserve(self) -> int:
        """A primary key for a row that will be added later (an invoice whose
        totals are known only once its children are built)."""
        pk = self.next_id
        self.next_id += 1
        return pk

    def add(self, pk: int | None = None, **values: object) -> int:
        if pk is None:
            pk = self.reserve()
        row = self._defaults.copy()
        row["id"] = pk
        convert = self._convert
        for name, value in values.items():
            row[name] = convert[name](value) if name in convert else value
        self.rows.append(tuple(row[name] for name in self.attnames))
        return pk

    def flush(self) -> None:
        with connection.cursor() as cursor:
            for start in range(0, len(self.rows), INSERT_CHUNK):
                cursor.executemany(self.sql, self.rows[start : start + INSERT_CHUNK])
        self.count += len(self.rows)
        self.rows.clear()


@dataclass
class InvoiceDraft:
    """An invoice being built, with its running totals."""

    id: int
    invoice_no: int
    account: Account
    status: str
    bill_date: datetime.date
    revenue_code_id: int
    total: int = 0
    paid: int = 0
    written_off: int = 0
    held: int = 0

    @property
    def available(self) -> int:
        return self.total - self.paid - self.written_off - self.held


@dataclass
class Tally:
    invoices_by_status: dict[str, int] = field(default_factory=dict)
    expired_open_holds: int = 0


# The tables a bulk load builds the indexes of afterwards.
BULK_INDEXED = (JournalEntry, JournalLine)


def missing_journal_indexes() -> list[str]:
    """The journal's indexes (its models' ``Meta.indexes``) the database lacks."""
    with connection.cursor() as cursor:
        present = {
            name
            for model in BULK_INDEXED
            for name in connection.introspection.get_constraints(cursor, model._meta.db_table)
        }
    return [
        index.name
        for model in BULK_INDEXED
        for index in model._meta.indexes
        if index.name not in present
    ]


def _check_pending_foreign_keys() -> None:
    """PostgreSQL changes no index of a table whose deferred foreign-key checks are
    still pending in the transaction. A seed commits each batch, so that happens only
    inside a caller's transaction (a test's): run those checks now instead of at its
    commit."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        connection.check_constraints()


@contextmanager
def journal_indexes_built_after(
    *, enabled: bool, progress: Callable[[str], None] = lambda message: None
) -> Iterator[None]:
    """Drop the journal's ``Meta.indexes`` for the block and build them at its end.

    Only indexes: the primary keys and the unique (event, source) constraint stay,
    so the database still refuses a second entry for an event. The definitions are
    the models' own (``Index.create_sql``, as a migration writes them), so an index
    a killed run left missing is built again by the next run, enabled or not. The
    DDL runs as plain statements (the schema editor is not entered: on SQLite that
    refuses inside a transaction), which both databases take inside one.
    """
    editor = connection.schema_editor()
    _check_pending_foreign_keys()
    indexes = [(model, index) for model in BULK_INDEXED for index in model._meta.indexes]
    to_build = set(missing_journal_indexes())
    if enabled:
        for _model, index in indexes:
            if index.name not in to_build:
                editor.execute(f"DROP INDEX {editor.quote_name(index.name)}")
                to_build.add(index.name)
    try:
        yield
    finally:
        started = time.perf_counter()
        _check_pending_foreign_keys()
        for model, index in indexes:
            if index.name in to_build:
                editor.execute(index.create_sql(model, editor))
        if to_build:
            progress(
                f"  built {len(to_build)} journal indexes in {time.perf_counter() - started:.1f} s"
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
            help="Also create the demo users clerk, supervisor and viewer (only with DEBUG on).",
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
        statuses = ", ".join(
            f"{n:,} {status}" for status, n in sorted(self.tally.invoices_by_status.items())
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {accounts:,} accounts, {self.invoices.count:,} invoices "
                f"({statuses or 'none'}), {self.lines.count:,} invoice lines, "
                f"{self.payments.count:,} payments, {self.writeoffs.count:,} write-offs, "
                f"{self.holds.count:,} dispute holds ({self.tally.expired_open_holds:,} open "
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
        tables = [
            JournalLine,
            JournalEntry,
            ApiIdempotencyRecord,
            WriteOff.history.model,
            DisputeHold.history.model,
            Payment.history.model,
            Invoice.history.model,
            WriteOff,
            DisputeHold,
            Payment,
            InvoiceLine,
            Invoice,
            Account,
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
        self.revenue_code_ids = [c.pk for c in codes.values() if c.kind == "revenue"]
        self.expense_code_ids = [c.pk for c in codes.values() if c.kind == "expense"]

        first_acct_no = 1 + max(
            Account.objects.aggregate(m=Max("acct_no"))["m"] or 0, ACCOUNT_NO_START
        )
        self.next_invoice_no = 1 + max(
            Invoice.objects.aggregate(m=Max("invoice_no"))["m"] or 0, INVOICE_NO_START
        )
        # The same seed on the same starting numbers gives the same data; a re-run that
        # adds to existing data starts elsewhere, so it draws other values.
        stream = f"{seed}/{first_acct_no}/{self.next_invoice_no}"
        rng = random.Random(stream)
        factory.random.reseed_random(stream)

        prototype_account = AccountFactory.build(name="", email="")
        prototype_invoice = InvoiceFactory.build(
            account=prototype_account, revenue_code=codes["4000"], total_minor=0
        )
        self.invoices = RowWriter(Invoice, prototype_invoice)
        self.lines = RowWriter(InvoiceLine, InvoiceLineFactory.build(invoice=prototype_invoice))
        self.payments = RowWriter(Payment, PaymentFactory.build(invoice=prototype_invoice))
        self.writeoffs = RowWriter(WriteOff, WriteOffFactory.build(invoice=prototype_invoice))
        # Every seeded row names one actor, SEED_LABEL (the factories' own is "seed").
        self.holds = RowWriter(
            DisputeHold,
            DisputeHoldFactory.build(invoice=prototype_invoice, created_by_label=SEED_LABEL),
        )
        self.codes = control_codes()
        self.journal_entries = 0
        self.tally = Tally()

        # Rows with keys above these are this run's: they get their creation records.
        tracked = (Invoice, Payment, WriteOff, DisputeHold)
        seeded_after = {m: m.objects.aggregate(m=Max("pk"))["m"] or 0 for m in tracked}

        busy_invoices = math.ceil(busy_writeoffs / BUSY_WRITEOFFS_PER_INVOICE)
        planned = n_accounts * per_account + busy_invoices
        bulk_load = planned >= Invoice.objects.count()
        with journal_indexes_built_after(enabled=bulk_load, progress=self._progress):
            accounts_per_batch = max(1, BATCH_INVOICES // max(1, per_account))
            done = 0
            while done < n_accounts:
                size = min(accounts_per_batch, n_accounts - done)
                with transaction.atomic():
                    batch_from = {
                        w.model: w.next_id for w in (self.invoices, self.payments, self.writeoffs)
                    }
                    accounts = Account.objects.bulk_create(
                        [self._build_account(rng, first_acct_no + done + i) for i in range(size)]
                    )
                    for account in accounts:
                        for _ in range(per_account):
                            self._build_invoice(rng, account)
                    if done == 0 and busy_writeoffs:
                        for n in range(busy_invoices):
                            left = busy_writeoffs - n * BUSY_WRITEOFFS_PER_INVOICE
                            self._build_busy_invoice(
                                rng, accounts[0], min(left, BUSY_WRITEOFFS_PER_INVOICE)
                            )
                    # Parents first, although the foreign keys are only checked at commit.
                    for writer in (self.invoices, self.lines, self.payments, self.holds):
                        writer.flush()
                    self.writeoffs.flush()
                    self._post_journal_batch(batch_from)
                done += size
                self._progress(
                    f"  {done:,}/{n_accounts:,} accounts, {self.invoices.count:,}/{planned:,} "
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
        with transaction.atomic():
            written = sum(
                record_creation_history(
                    model, after_pk=after, actor_label=SEED_LABEL, reason="Seeded"
                )
                for model, after in seeded_after.items()
            )
        self._progress(f"  {written:,} creation records in history")
        return n_accounts

    # --- the journal -------------------------------------------------------------

    def _post_journal_batch(self, batch_from: dict[type[models.Model], int]) -> None:
        """The journal of the batch just flushed (its rows have keys from ``batch_from``):
        per kind of event, one INSERT … SELECT of its entries from the source rows,
        then one of their debit lines and one of their credit lines, each line finding
        its entry by source and event (the entries' unique index)."""
        for posting in self._postings(batch_from):
            # In date order: the journal's date indexes then grow a page at a time
            # instead of at random places (a batch's dates span two years).
            rows = posting.rows.order_by(posting.day, "pk")
            # Entries copy the invoice's currency and account, as post_entry does.
            invoice = "" if rows.model is Invoice else "invoice__"
            source_type = rows.model._meta.label_lower
            shared: dict[str, Column] = {
                "entry_date": posting.day,
                "currency": f"{invoice}currency",
                "invoice_id": f"{invoice}id",
            }
            self.journal_entries += _insert_select(
                JournalEntry,
                rows,
                {
                    **shared,
                    "event": Value(posting.event.value),
                    "account_id": f"{invoice}account_id",
                    "source_type": Value(source_type),
                    "source_id": "pk",
                    "sequence": Value(0),
                    "memo": Value(""),
                    "created_by_label": Value(SEED_LABEL),
                    "approved_by_label": Value(""),
                    "posted_at": MomentOf(posting.day),
                },
            )
            entry = JournalEntry.objects.filter(
                source_type=source_type, source_id=OuterRef("pk"), event=posting.event.value
            )
            line = {**shared, "entry_id": Subquery(entry.order_by().values("pk"))}
            zero = Value(0)
            for code, debit_minor, credit_minor in (
                (posting.debit, posting.amount, zero),
                (posting.credit, zero, posting.amount),
            ):
                _insert_select(
                    JournalLine,
                    rows,
                    {
                        **line,
                        "accounting_code_id": code,
                        "debit_minor": debit_minor,
                        "credit_minor": credit_minor,
                    },
                )

    def _postings(self, batch_from: dict[type[models.Model], int]) -> list[Posting]:
        """The SPEC's postings of the seeded events (``billing.journal``): a void or a
        reversal is the reverse of the entry it undoes; a reversal is dated the day of
        its ``reversed_at`` (15:00 UTC on the day it happened)."""
        ar, cash = Value(self.codes.ar_control_id), Value(self.codes.cash_id)
        invoices = Invoice.objects.filter(pk__gte=batch_from[Invoice])
        payments = Payment.objects.filter(pk__gte=batch_from[Payment])
        writeoffs = WriteOff.objects.filter(pk__gte=batch_from[WriteOff])
        reversed_on = TruncDate("reversed_at", tzinfo=datetime.UTC)
        code = "accounting_code_id"
        return [
            Posting(
                JournalEvent.INVOICE_SENT,
                invoices.filter(status=Invoice.Status.SENT),
                "bill_date",
                debit=ar,
                credit="revenue_code_id",
                amount="total_minor",
            ),
            Posting(JournalEvent.PAYMENT, payments, "paid_on", debit=cash, credit=ar),
            Posting(
                JournalEvent.PAYMENT_VOID,
                payments.filter(status=Payment.Status.REMOVED),
                "paid_on",
                debit=ar,
                credit=cash,
            ),
            Posting(
                JournalEvent.WRITEOFF,
                writeoffs.filter(origin_dispute__isnull=True),
                "writeoff_date",
                debit=code,
                credit=ar,
            ),
            Posting(
                JournalEvent.DISPUTE_CONVERSION,
                writeoffs.filter(origin_dispute__isnull=False),
                "writeoff_date",
                debit=code,
                credit=ar,
            ),
            Posting(
                JournalEvent.WRITEOFF_REVERSAL,
                writeoffs.filter(status=WriteOff.Status.REVERSED),
                reversed_on,
                debit=ar,
                credit=code,
            ),
        ]

    # --- builders ----------------------------------------------------------------

    def _build_account(self, rng: random.Random, acct_no: int) -> Account:
        return AccountFactory.build(
            acct_no=acct_no,
            client_acct_id=f"CL-{acct_no}",
            userid=f"u{acct_no}",
            currency="EUR" if rng.random() < 0.1 else "USD",
        )

    def _new_invoice(
        self, rng: random.Random, account: Account, status: str, bill_date: datetime.date
    ) -> InvoiceDraft:
        draft = InvoiceDraft(
            id=self.invoices.reserve(),
            invoice_no=self.next_invoice_no,
            account=account,
            status=status,
            bill_date=bill_date,
            revenue_code_id=rng.choice(self.revenue_code_ids),
        )
        self.next_invoice_no += 1
        return draft

    def _add_line(self, draft: InvoiceDraft, description: str, amount: int) -> None:
        self.lines.add(
            invoice_id=draft.id,
            description=description,
            service_start=draft.bill_date,
            service_end=draft.bill_date + datetime.timedelta(days=30),
            amount_minor=amount,
        )
        draft.total += amount

    def _write_invoice(self, draft: InvoiceDraft) -> None:
        due_date = draft.bill_date + datetime.timedelta(days=30)
        self.invoices.add(
            pk=draft.id,
            invoice_no=draft.invoice_no,
            account_id=draft.account.pk,
            currency=draft.account.currency,
            bill_date=draft.bill_date,
            due_date=due_date,
            aging_date=due_date,
            status=draft.status,
            revenue_code_id=draft.revenue_code_id,
            total_minor=draft.total,
            paid_minor=draft.paid,
            written_off_minor=draft.written_off,
            held_minor=draft.held,
        )
        by_status = self.tally.invoices_by_status
        by_status[draft.status] = by_status.get(draft.status, 0) + 1

    def _build_invoice(self, rng: random.Random, account: Account) -> None:
        roll = rng.random()
        if roll < 0.08:
            status, age = Invoice.Status.DRAFT.value, rng.randint(0, 15)
        elif roll < 0.13:
            status, age = Invoice.Status.VOID.value, rng.randint(0, 720)
        else:
            status, age = Invoice.Status.SENT.value, rng.randint(0, 720)
        draft = self._new_invoice(rng, account, status, self.as_of - datetime.timedelta(days=age))
        for description in rng.sample(LINE_DESCRIPTIONS, rng.choice((1, 1, 2, 2, 3))):
            cents = rng.randint(20, 2500) * 100 + rng.choice((0, 0, 50, 99))
            self._add_line(draft, description, cents)
        if status == Invoice.Status.SENT:
            self._build_ledger(rng, draft)
        self._write_invoice(draft)

    def _build_ledger(self, rng: random.Random, draft: InvoiceDraft) -> None:
        """Payments, write-offs and holds for a sent invoice, kept within its balance."""
        # About 40% paid in full, 25% in part.
        roll = rng.random()
        if roll < 0.65:
            target = draft.available if roll < 0.4 else draft.available * rng.randint(20, 80) // 100
            for amount in _split(rng, target, rng.randint(1, 2)) if target else []:
                self._payment(rng, draft, amount)
            if rng.random() < 0.03:
                # A payment recorded by mistake and removed: it does not count.
                self._payment(rng, draft, rng.randint(100, 5000), removed=True)

        # A write-off of part or all of what is left; some were later reversed. With
        # the holds converted below, about one invoice in five has a write-off (the
        # benchmark's 1M invoices carry about 200,000 write-offs and 50,000 holds).
        if draft.available > 0 and rng.random() < WRITEOFF_SHARE:
            amount = draft.available if rng.random() < 0.5 else max(1, draft.available // 2)
            self._writeoff(rng, draft, amount, reversed_=rng.random() < 0.15)

        # Dispute holds: open (some already past expiry), released, or converted.
        if draft.available > 0 and rng.random() < HOLD_SHARE:
            amount = draft.available if rng.random() < 0.4 else max(1, draft.available // 3)
            # Fresh demo data: most holds expire in the future, some this week, a few
            # have expired (issue 15). Dated back from the expiry, never before the bill.
            days = rng.choice((14, 30, 30, 60, 90))
            freshness = rng.random()
            if freshness < 0.1:
                expires_on = self.as_of - datetime.timedelta(days=rng.randint(1, 10))
            elif freshness < 0.25:
                expires_on = self.as_of + datetime.timedelta(days=rng.randint(0, 6))
            else:
                expires_on = self.as_of + datetime.timedelta(days=rng.randint(7, days))
            created = min(
                max(expires_on - datetime.timedelta(days=days), draft.bill_date), self.as_of
            )
            expires_on = created + datetime.timedelta(days=days)
            # Column values, as RowWriter.add takes them.
            hold: dict[str, Any] = {
                "invoice_id": draft.id,
                "account_id": draft.account.pk,
                "amount_minor": amount,
                "comments": rng.choice(DISPUTE_COMMENTS),
                "created_at": _moment(created),
                "expire_hold_days": days,
                "expires_on": expires_on,
            }
            settle = rng.random()
            if settle < 0.7:
                draft.held += amount
                if expires_on < self.as_of:
                    self.tally.expired_open_holds += 1
                self.holds.add(**hold)
                return
            settled_on = _between(rng, created, self.as_of)
            hold.update(
                settled_by_label=SEED_LABEL, settled_at=_moment(settled_on), settled_on=settled_on
            )
            if settle < 0.85:
                self.holds.add(
                    **hold,
                    status=DisputeHold.Status.RELEASED.value,
                    settlement_comments="Customer accepted the charge.",
                )
            else:
                hold_id = self.holds.add(
                    **hold,
                    status=DisputeHold.Status.WRITTEN_OFF.value,
                    settlement_comments="Dispute upheld.",
                )
                self._writeoff(rng, draft, amount, origin_id=hold_id, on=settled_on)

    def _build_busy_invoice(self, rng: random.Random, account: Account, writeoffs: int) -> None:
        bill_date = self.as_of - datetime.timedelta(days=rng.randint(60, 720))
        draft = self._new_invoice(rng, account, Invoice.Status.SENT.value, bill_date)
        self._add_line(draft, "Usage charges", BUSY_WRITEOFFS_PER_INVOICE * 1000)
        for _ in range(writeoffs):
            self._writeoff(rng, draft, rng.randint(100, 900), reversed_=rng.random() < 0.05)
        self._write_invoice(draft)

    def _payment(
        self, rng: random.Random, draft: InvoiceDraft, amount: int, removed: bool = False
    ) -> None:
        paid_on = _between(rng, draft.bill_date, self.as_of)
        values: dict[str, Any] = {
            "invoice_id": draft.id,
            "account_id": draft.account.pk,
            "amount_minor": amount,
            "paid_on": paid_on,
            "method": rng.choice(PAYMENT_METHODS),
            "reference": f"REF-{draft.invoice_no}-{rng.randint(1000, 9999)}",
            "recorded_by_label": SEED_LABEL,
            "created_at": _moment(paid_on),
        }
        if removed:
            values.update(
                status=Payment.Status.REMOVED.value,
                removed_by_label=SEED_LABEL,
                removed_at=_moment(paid_on),
                removal_reason="Recorded against the wrong invoice.",
            )
        else:
            draft.paid += amount
        self.payments.add(**values)

    def _writeoff(
        self,
        rng: random.Random,
        draft: InvoiceDraft,
        amount: int,
        *,
        reversed_: bool = False,
        origin_id: int | None = None,
        on: datetime.date | None = None,
    ) -> None:
        revenue_impacting = origin_id is not None or rng.random() < 0.7
        writeoff_date = on or _between(rng, draft.bill_date, self.as_of)
        values: dict[str, Any] = {
            "invoice_id": draft.id,
            "account_id": draft.account.pk,
            "amount_minor": amount,
            "comments": (
                "Converted from a dispute hold." if origin_id else rng.choice(WRITEOFF_COMMENTS)
            ),
            "created_by_label": SEED_LABEL,
            "requested_by_label": SEED_LABEL,
            "created_at": _moment(writeoff_date),
            "source": Source.UI.value,
            "reason_code": rng.choice(WRITEOFF_REASON_CODES),
            "writeoff_date": writeoff_date,
            "revenue_impacting": revenue_impacting,
            "accounting_code_id": (
                draft.revenue_code_id if revenue_impacting else rng.choice(self.expense_code_ids)
            ),
            "origin_dispute_id": origin_id,
        }
        reversed_on = _between(rng, writeoff_date, self.as_of) if reversed_ else None
        if reversed_on is not None:
            values.update(
                status=WriteOff.Status.REVERSED.value,
                reversed_by_label=SEED_LABEL,
                reversed_at=_moment(reversed_on),
                reversal_reason="Written off in error.",
            )
        else:
            draft.written_off += amount
        self.writeoffs.add(**values)

    # --- demo users ----------------------------------------------------------

    def _demo_users(self, options: dict) -> None:
        if not options["demo_users"]:
            return
        # The password is kept between runs (a person signed in yesterday signs in today),
        # unless one is given or a reset is asked for. Only a hash is stored, so a kept
        # password cannot be printed again.
        password = options["demo_password"]
        user_model = get_user_model()
        existing = user_model.objects.filter(username__in=[n for n, _, _ in DEMO_USERS])
        keep = (
            password is None
            and not options.get("reset_demo_password")
            and existing.count() == len(DEMO_USERS)
            and all(user.has_usable_password() for user in existing)
        )
        password = password or secrets.token_urlsafe(12)
        for username, group_name, is_staff in DEMO_USERS:
            user, _ = user_model.objects.get_or_create(username=username)
            user.is_staff = is_staff
            if not keep:
                user.set_password(password)
            user.save()
            user.groups.set([Group.objects.get(name=group_name)])
        names = ", ".join(name for name, _, _ in DEMO_USERS)
        if keep:
            self.stdout.write(
                f"Demo sign-in (local demo data only): users {names}; password unchanged "
                "(the one printed when they were created; --reset-demo-password prints a new one)."
            )
            return
        self.stdout.write(
            f"Demo sign-in (local demo data only): users {names}; password: {password}"
        )
