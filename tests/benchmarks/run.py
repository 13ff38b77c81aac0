#!/usr/bin/env python
"""Performance at a million invoices, measured side by side as ratios.

    python tests/benchmarks/run.py [--invoices N] [--database-url URL] [--no-http]
    python tests/benchmarks/run.py --scale 1000000,5000000 --database-url URL

Seeds a throwaway database with the project's own ``seed_billing`` (timed),
then measures, in one process through ``django.test.Client``:

A   the Write-offs tab's htmx partial vs a stock ModelAdmin changelist of
    WriteOff (same rows per page) and vs our own admin changelist;
B1  the SQL time of the partial's own queries vs a raw cursor SELECT of the rows;
B2  the whole partial vs a minimal view with a one-loop template;
C   the invoice-picker search (SQL and whole response) vs a bare indexed SELECT,
    with the database's query plan;
D   the deepest page of the busy account's write-offs vs page 1;
H_http  the real server (``http_load.py``): gunicorn from the production config with
    2 workers and keep-alive, on the benchmark's database, loaded by wrk (2 threads,
    8 connections, --http-seconds a run): requests/s of the Write-offs partial vs a
    bare view returning a fixed string behind the same middleware and session, runs
    alternating (--http-rounds each), and the partial's p99 / p50 latency. wrk's own
    summaries are printed; any response but a 200 makes the figures invalid. wrk is
    installed from Debian if missing; --no-http leaves this out;
E   writeoff_create (the whole service path, history and posting included) per second vs
    bare ORM inserts of the write-off, its journal entry and lines + the invoice update;
H   a bulk run of --bulk-run invoices: written per second by the worker's code vs
    writeoff_create in a plain loop, and the preview's aggregate query vs a bare
    indexed SELECT of the same figures, with the query plans;
F   seed_billing's rate vs a raw executemany insert of the same rows;
G   gzip bytes of the first page load and of one htmx swap;
J1  seed_billing with the journal vs the same seed with the journal left out;
J2  the trial balance over a year vs a bare GROUP BY of the same lines (raw cursor);
J3  the journal export of a month (whole streamed response) vs a raw cursor fetch of
    its rows;
H   the aging report as of today (every figure, the check included) vs bare SQL
    GROUP BYs of the same figures through the raw cursor, with their query plans;
I   the write-off analysis over twelve months vs a bare SQL GROUP BY, likewise;
K   import_billing of an invoices file of --import-rows rows (tests/benchmarks/imports.py):
    rows per second and peak memory, in a child process; the last step (it adds rows);
M   peak memory of a process streaming the whole journal export and the busy
    account's write-offs CSV through the test client (``measured.py``: resident
    memory, the driver's buffers included);
    plus our admin changelists (invoices, write-offs) vs stock;
EV  the events feed (``events.py``): --events events appended by bulk SQL, then
    ``GET /api/v1/events?limit=1000`` at a deep cursor (five pages before the end)
    and at the middle, vs a raw cursor SELECT of the same page, with its query
    plan; the goal is the whole response in 50 ms or less (SPEC: at 5M events on
    PostgreSQL). ``--only measure_events --invoices 1000`` measures it alone.
CS  the dispute case pages (``cases.py``): a busy case's page, its timeline, notes and
    attachments tabs, and the cases list, vs the bare page (``/bare/``);
PR  the allowance's provision run for last month's end (``provision.py``): the dry
    run's median and the posting run, each also per invoice;
CN  credit-note numbers under 20 concurrent writers (``credit_notes.py``, PostgreSQL):
    write-offs/s with their credit notes vs one writer, then every number of the year
    checked unique and consecutive.

--scale SMALL,LARGE measures S instead: cost against data size. It
seeds SMALL invoices (seed_billing in a child process, for its peak memory),
copies that database (CREATE DATABASE ... TEMPLATE on PostgreSQL, a file copy on
SQLite) and grows the copy to LARGE
with seed_billing's add-after-existing mode, closes both through last month (the
stored period balances), then times the partial, the picker search, page 2,000 of
the busy account, one writeoff_create, aging as of today, the trial balance over a
year and of the current year, the home page, the 12-month write-off analysis, the
disputes worklist, the approvals queue, the aging page and last month's journal
export (and its raw fetch) on both databases in one round-robin
(the default connection switched request by request), and reports LARGE / SMALL
for each, and each of today's figures at LARGE beside its floor (a bare page
behind the same middleware, or bare SQL of the same figures); then F over the
larger database (both seed runs against a raw insert of all their rows) and the
seed's peak memory. --skip measure_f leaves out the raw copy, the slow part.

--scale-reuse SMALL_DB,LARGE_DB (PostgreSQL) measures S on two databases seeded
before on the server of --database-url, never created or dropped here: migrated,
analysed, closed through last month (once), the benchmark users made or found in
each, then the same round-robin.

Absolute times on a shared machine are noise, so variants that are compared
run round-robin, request by request, and every figure is a median. The output
is a table, then one JSON line with every figure and ratio. --only and --skip
take step names (measure_http, measure_memory, measure_f, ...).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import math
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# Queries every view pays (session, user, permissions, lockout); B1 leaves them out.
AUTH_TABLES = ("django_session", "auth_", "django_content_type", "axes_")
# F: how many of the seeded rows the raw-insert floor copies (see measure_f).
F_SAMPLE_ROWS = 1_500_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument(
        "--accounts", type=int, help="default: one account per 50 invoices (20,000 at 1M)"
    )
    parser.add_argument(
        "--busy-account-writeoffs",
        type=int,
        help="write-offs on the busy account (default 50,000 at 1M, scaled down below that)",
    )
    parser.add_argument("--database-url", help="PostgreSQL server; a throwaway database is used")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per variant")
    parser.add_argument("--creates", type=int, default=200, help="E: creates per variant")
    parser.add_argument(
        "--import-rows", type=int, default=100_000, help="K: rows of the invoices file imported"
    )
    parser.add_argument(
        "--bulk-run",
        type=int,
        help="H: invoices in the bulk run (default 10,000 at 1M, scaled down below that)",
    )
    parser.add_argument(
        "--only", nargs="+", metavar="STEP", help="measure only these steps (e.g. measure_h)"
    )
    parser.add_argument(
        "--skip", nargs="+", default=[], metavar="STEP", help="leave these steps out"
    )
    parser.add_argument(
        "--scale",
        type=sizes,
        metavar="SMALL,LARGE",
        help="S: seed SMALL invoices, measure, grow the same database to LARGE, measure "
        "again and compare (SQLite, or PostgreSQL with --database-url), e.g. 1000000,5000000",
    )
    parser.add_argument(
        "--scale-reuse",
        type=database_names,
        metavar="SMALL_DB,LARGE_DB",
        help="S on two databases already seeded on the server of --database-url, instead "
        "of seeding: migrated, analysed, closed through last month and measured (never "
        "dropped), e.g. s_small,s_large",
    )
    parser.add_argument(
        "--no-http", action="store_true", help="leave out H (HTTP), gunicorn under wrk"
    )
    parser.add_argument(
        "--http-seconds", type=float, default=10, help="H (HTTP): seconds of each wrk run"
    )
    parser.add_argument(
        "--http-rounds", type=int, default=2, help="H (HTTP): wrk runs per variant, alternating"
    )
    parser.add_argument(
        "--http-worker-class",
        choices=["gthread", "sync"],
        default="gthread",
        help="H (HTTP): gunicorn's worker class (sync closes every connection; see http_load.py)",
    )
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="EV: events appended for the feed's page"
    )
    parser.add_argument(
        "--credit-note-writes",
        type=int,
        default=25,
        help="CN: write-offs per writer (20 writers, and one writer as many in all)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile",
        choices=[
            "partial",
            "deep",
            "picker",
            "page",
            "admin-invoices",
            "admin-writeoffs",
            "create",
            "bulk-step",
            "bulk-loop",
            "case",
            "import-preview",
            "approvals",
        ],
        help="profile that request with pyinstrument instead of measuring",
    )
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    args = parser.parse_args()
    if args.scale and args.scale_reuse:
        parser.error("--scale seeds its databases, --scale-reuse reuses seeded ones: one of them")
    if args.scale_reuse and not args.database_url:
        parser.error("--scale-reuse runs on PostgreSQL: give --database-url too")
    if args.scale:
        args.invoices = args.scale[0]
    if args.no_http:
        args.skip.append("measure_http")
    return args


def sizes(text: str) -> tuple[int, int]:
    try:
        small, large = (int(part.replace("_", "")) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("two sizes, e.g. 1000000,5000000") from None
    if not 0 < small < large:
        raise argparse.ArgumentTypeError("the second size must be above the first")
    return small, large


def database_names(text: str) -> tuple[str, str]:
    names = tuple(part.strip() for part in text.split(","))
    if len(names) != 2 or not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) for n in names):
        raise argparse.ArgumentTypeError("two database names, e.g. s_small,s_large")
    if names[0] == names[1]:
        raise argparse.ArgumentTypeError("two different databases")
    return names[0], names[1]


# --- The throwaway databases -------------------------------------------------


def prepare_databases(args: argparse.Namespace) -> Callable[[], None]:
    """Point the settings at fresh databases and return how to drop them."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.benchmarks.settings"
    os.environ["DEBUG"] = "0"
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    # Throwaway, and shared with the children (gunicorn, the seed, the exports): a
    # session made here is valid there.
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    tag = f"billing_bench_{os.getpid()}"
    if args.database_url:
        import psycopg

        parts = urlsplit(args.database_url)
        # S reusing seeded databases (--scale-reuse) measures them as they are: only
        # the copy F's floor fills is the benchmark's own, made and dropped here.
        names = [f"{tag}_copy"] if args.scale_reuse else [tag, f"{tag}_copy"]
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            for name in names:
                conn.execute(f'CREATE DATABASE "{name}"')
        default = args.scale_reuse[0] if args.scale_reuse else tag
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{default}"))
        os.environ["BENCHMARK_COPY_NAME"] = f"{tag}_copy"
        if args.scale_reuse:
            os.environ["BENCHMARK_LARGE_NAME"] = args.scale_reuse[1]
        elif args.scale:
            # S: made later, from the seeded database as its template (measure_scale).
            names.append(f"{tag}_large")
            os.environ["BENCHMARK_LARGE_NAME"] = names[2]

        def drop() -> None:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(args.database_url, autocommit=True) as conn:
                for name in names:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return drop

    os.environ.pop("DATABASE_URL", None)
    paths = [Path(f"/tmp/{tag}.sqlite3"), Path(f"/tmp/{tag}_copy.sqlite3")]
    os.environ["SQLITE_PATH"] = str(paths[0])
    os.environ["BENCHMARK_COPY_NAME"] = str(paths[1])
    if args.scale:
        # S: a file copy of the seeded database, made later (measure_scale).
        paths.append(Path(f"/tmp/{tag}_large.sqlite3"))
        os.environ["BENCHMARK_LARGE_NAME"] = str(paths[2])

    def remove() -> None:
        from django.db import connections

        connections.close_all()
        for path in paths:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    return remove


# --- Timing --------------------------------------------------------------------


class SqlRecorder:
    """An execute_wrapper that times every statement of the current request."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, float]] = []

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.calls.append((sql, params, time.perf_counter() - start))

    def own(self) -> list[tuple[str, object, float]]:
        return [call for call in self.calls if not is_auth_query(call[0])]


def is_auth_query(sql: str) -> bool:
    return any(f'"{table}' in sql or f" {table}" in sql for table in AUTH_TABLES)


@dataclass
class Timing:
    wall_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    own_sql_ms: list[float] = field(default_factory=list)
    queries: int = 0
    own_queries: list[tuple[str, object, float]] = field(default_factory=list)
    captured: list[str] = field(default_factory=list)
    status: int = 0
    body: bytes = b""

    @property
    def wall(self) -> float:
        return statistics.median(self.wall_ms)

    @property
    def sql(self) -> float:
        return statistics.median(self.sql_ms)

    @property
    def own_sql(self) -> float:
        return statistics.median(self.own_sql_ms)


def round_robin(
    variants: dict[str, Callable[[], object]],
    n: int,
    warmup: int = 3,
    databases: tuple[str, ...] = ("default",),
):
    """Time each variant ``n`` times, alternating, after ``warmup`` rounds.

    SQL time is the time spent in each statement's ``execute`` (an execute_wrapper),
    the same instrument for the pages and for the bare SELECTs they are compared with,
    on each of ``databases`` (S's variants run on two, see ``on_database``).
    """
    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext

    recorder = SqlRecorder()
    timings = {name: Timing() for name in variants}
    with ExitStack() as watching:
        for alias in databases:
            watching.enter_context(connections[alias].execute_wrapper(recorder))
        for round_no in range(warmup + n):
            for name, call in variants.items():
                recorder.calls.clear()
                start = time.perf_counter()
                response = call()
                elapsed = time.perf_counter() - start
                timing = timings[name]
                status = getattr(response, "status_code", 200)
                if status != 200:
                    raise SystemExit(f"{name}: HTTP {status}\n{response.content[:2000]!r}")
                if round_no < warmup:
                    continue
                timing.wall_ms.append(elapsed * 1000)
                timing.sql_ms.append(sum(c[2] for c in recorder.calls) * 1000)
                own = recorder.own()
                timing.own_sql_ms.append(sum(c[2] for c in own) * 1000)
                timing.queries = len(recorder.calls)
                timing.own_queries = own
                timing.status = status
                timing.body = getattr(response, "content", b"")
    # One more, untimed, request each with Django's own query capture: the count and
    # the SQL the table reports.
    for name, call in variants.items():
        with CaptureQueriesContext(connection) as captured:
            call()
        timings[name].captured = [query["sql"] for query in captured.captured_queries]
    return timings


@contextmanager
def on_database(alias: str) -> Iterator[None]:
    """Django's default connection is ``alias``'s inside the block. What S measures (the
    test client's pages, the services, the reports) all use the default connection, so
    this is how the two sizes take turns in one round-robin."""
    from django.db import connections

    default = connections["default"]
    connections["default"] = connections[alias]
    try:
        yield
    finally:
        connections["default"] = default


def on(alias: str, call: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        with on_database(alias):
            return call()

    return run


def cursor_select(sql: str, params: list) -> Callable[[], None]:
    """A raw cursor SELECT, executed and fetched (the floor for B1 and C)."""
    from django.db import connection

    def run() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    return run


def journal_export(client, start: datetime.date, end: datetime.date) -> Callable[[], object]:
    """The journal export's whole CSV for ``start`` through ``end`` (J3, and S's month),
    read to its last chunk."""
    from django.urls import reverse

    url = reverse("journal_export")
    params = {"start": start.isoformat(), "end": end.isoformat()}

    def export():
        response = client.get(url, params)
        response.content_length = sum(len(chunk) for chunk in response.streaming_content)
        return response

    return export


def query_plan(sql: str, params) -> list[str]:
    from django.db import connection

    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql, params)
        rows = cursor.fetchall()
    if connection.vendor == "sqlite":
        return [str(row[-1]) for row in rows]
    return [row[0] for row in rows]


def plan_uses_index(plan: list[str]) -> bool:
    text = "\n".join(plan)
    return "USING INDEX" in text or "USING COVERING INDEX" in text or "Index" in text


def seed_without_journal(*, accounts: int, per_account: int, busy: int, seed: int) -> float:
    """J1's baseline: the same seed with the journal's rows left out (each batch's
    journal is posted by one method, made a no-op here), timed, then deleted again
    with plain DELETEs (as ``seed_billing --reset`` does)."""
    from unittest import mock

    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection, transaction

    from billing.models import JournalEntry, JournalLine
    from writeoffs.management.commands import seed_billing

    def journal_rows() -> tuple[int, int]:
        return JournalEntry.objects.count(), JournalLine.objects.count()

    journal_before = journal_rows()
    with mock.patch.object(seed_billing.Command, "_post_journal_batch", lambda self, *a: None):
        start = time.perf_counter()
        call_command(
            "seed_billing",
            accounts=accounts,
            invoices_per_account=per_account,
            busy_account_writeoffs=busy,
            seed=seed,
            allow_production_database=str(connection.settings_dict["NAME"]),
            verbosity=0,
        )
        seconds = time.perf_counter() - start
    if journal_rows() != journal_before:
        raise RuntimeError("J1's baseline wrote journal rows: it must leave the journal out.")
    tables = [
        "writeoffs.WriteOff",
        "writeoffs.DisputeHold",
        "billing.Payment",
        "billing.InvoiceLine",
        "billing.Invoice",
        "billing.Account",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for label in tables:
            model = apps.get_model(label)
            # Its creation records too: the measured seed then starts from nothing.
            history = getattr(model, "history", None)
            for table_of in (model, history.model) if history else (model,):
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table_of._meta.db_table)}")
    return seconds


# --- The benchmark -------------------------------------------------------------


class Benchmark:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.figures: dict[str, object] = {}
        self.rows: list[tuple[str, str, str, str, str]] = []
        self.seed_runs: list[dict] = []

    # Helpers ------------------------------------------------------------------

    def record(self, key: str, label: str, ours: float, base: float, goal: str, unit: str = "ms"):
        ratio = ours / base if base else float("inf")
        self.figures[f"{key}_ours_{unit}"] = round(ours, 3)
        self.figures[f"{key}_base_{unit}"] = round(base, 3)
        self.figures[f"{key}_ratio"] = round(ratio, 3)
        met = goal_met(ratio, goal)
        self.rows.append(
            (key, label, f"{ours:.2f} / {base:.2f} {unit}", f"{ratio:.2f}x", f"{goal} {met}")
        )
        return ratio

    def note(self, text: str) -> None:
        print(text, flush=True)

    def measures(self, step: str) -> bool:
        """Whether this run measures ``step`` (``--only`` and ``--skip``)."""
        args = self.args
        return (not args.only or step in args.only) and step not in args.skip

    @property
    def heavy_rounds(self) -> int:
        """Rounds for the measures that scan a year of the journal (the trial balance,
        the export, the reports): seconds each at 1M, so a fifth of --requests."""
        return max(5, self.args.requests // 5)

    # Setup --------------------------------------------------------------------

    def setup(self) -> None:
        from django.core.management import call_command
        from django.db import connection

        args = self.args
        accounts = args.accounts or max(args.invoices // 50, 10)
        per_account = max(args.invoices // accounts, 1)
        busy = args.busy_account_writeoffs or max(round(50_000 * args.invoices / 1_000_000), 2_500)
        self.per_account = per_account
        self.figures["vendor"] = connection.vendor
        if not args.scale_reuse:  # a reused database's sizes are whatever it holds
            self.figures.update(
                invoices_requested=args.invoices,
                accounts=accounts,
                busy_account_writeoffs_requested=busy,
            )
        start = time.perf_counter()
        call_command("migrate", verbosity=0)
        # Each other database is migrated as the default one: a data migration that
        # does not name its database (0017's build of the aggregates does not) would
        # otherwise read and write the default database instead.
        others = ("copy", "large") if args.scale_reuse else ("copy",)
        for alias in others:
            # Reused, "large" takes new migrations (an aggregate's build) on its rows.
            with on_database(alias):
                call_command("migrate", verbosity=0)
        self.figures["migrate_s"] = round(time.perf_counter() - start, 1)

        if args.scale_reuse:
            self.figures["S_reused"] = list(args.scale_reuse)
            self.note(f"S: reusing the seeded databases {' and '.join(args.scale_reuse)}")
        elif args.scale:
            self.seed_child(accounts=accounts, per_account=per_account, busy=busy)
        else:
            if self.measures("measure_j") and not args.profile:
                self.note(
                    f"J1: seeding without the journal, {accounts} x {per_account} invoices..."
                )
                self.seed_without_journal_seconds = seed_without_journal(
                    accounts=accounts, per_account=per_account, busy=busy, seed=args.seed
                )
                self.figures["seed_without_journal_s"] = round(self.seed_without_journal_seconds, 1)
                # J1 times two seeds one after the other: the load beside each says
                # whether the machine was the same for both.
                load = self.figures["seed_without_journal_load"] = load_average()
                self.note(
                    f"seeded without the journal in {self.seed_without_journal_seconds:.1f} s "
                    f"(load average {load})"
                )
            self.note(
                f"seeding {accounts} accounts x {per_account} invoices on {connection.vendor}..."
            )
            start = time.perf_counter()
            call_command(
                "seed_billing",
                accounts=accounts,
                invoices_per_account=per_account,
                busy_account_writeoffs=busy,
                seed=args.seed,
                # DEBUG is off here; this throwaway database is the one to fill.
                allow_production_database=str(connection.settings_dict["NAME"]),
                verbosity=0,
            )
            self.seed_seconds = time.perf_counter() - start
            self.figures["seed_s"] = round(self.seed_seconds, 1)
            load = self.figures["seed_load"] = load_average()
            self.note(f"seeded in {self.seed_seconds:.1f} s (load average {load})")
        self.after_seed()
        self.users()

    def users(self) -> None:
        """The benchmark's superuser and clerk, made on the default database, or found
        there when a reused database has them from an earlier run."""
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        user_model = get_user_model()
        self.admin_user = user_model.objects.filter(username="bench-admin").first()
        if self.admin_user is None:
            self.admin_user = user_model.objects.create_superuser(
                "bench-admin", "a@example.com", None
            )
        # Staff too, so that the same clerk can open the stock changelist for A (staff
        # status opens admin; what it shows still follows the clerk's permissions).
        self.clerk, _ = user_model.objects.get_or_create(
            username="bench-clerk", defaults={"email": "c@example.com", "is_staff": True}
        )
        self.clerk.groups.add(Group.objects.get(name="Billing clerk"))

    def seed_child(
        self, *, accounts: int, per_account: int, busy: int, alias: str = "default"
    ) -> None:
        """seed_billing in a process of its own, for its peak memory; on a database
        that has rows already it adds more after them (S grows a copy so)."""
        from django.db import connections

        settings_dict = connections[alias].settings_dict
        self.note(f"seeding {accounts:,} accounts x {per_account} invoices in a child process...")
        env = {}
        if alias != "default" and connections[alias].vendor == "sqlite":
            env["SQLITE_PATH"] = str(settings_dict["NAME"])
        elif alias != "default":
            url = urlsplit(os.environ["DATABASE_URL"])
            env["DATABASE_URL"] = urlunsplit(url._replace(path=f"/{settings_dict['NAME']}"))
        figures = run_child(
            "seed_billing",
            f"--accounts={accounts}",
            f"--invoices-per-account={per_account}",
            f"--busy-account-writeoffs={busy}",
            f"--seed={self.args.seed}",
            f"--allow-production-database={settings_dict['NAME']}",
            "--verbosity=0",
            env=env,
        )
        self.seed_runs.append(figures)
        self.seed_seconds = sum(run["seconds"] for run in self.seed_runs)
        self.figures["seed_runs"] = self.seed_runs
        self.figures["seed_s"] = round(self.seed_seconds, 1)
        self.note(
            f"seeded in {figures['seconds']:.1f} s, peak memory "
            f"{figures['peak_rss_bytes'] / 2**20:.0f} MB"
        )

    def after_seed(self, alias: str = "default") -> None:
        """What a production database has after a bulk load: statistics (and on
        PostgreSQL the visibility map autovacuum would set, for index-only scans)."""
        from django.db import connections

        from billing.models import Invoice
        from writeoffs.models import DisputeHold, WriteOff

        connection = connections[alias]
        start = time.perf_counter()
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA analysis_limit=1000")
                cursor.execute("ANALYZE")
            else:
                cursor.execute("VACUUM ANALYZE")
        self.figures["analyze_s"] = round(time.perf_counter() - start, 1)
        self.counts = {
            "invoices": Invoice.objects.using(alias).count(),
            "writeoffs": WriteOff.objects.using(alias).count(),
            "dispute_holds": DisputeHold.objects.using(alias).count(),
        }
        self.figures.update(self.counts)

    def clients(self) -> None:
        from django.test import Client

        self.clerk_client = Client()
        self.clerk_client.force_login(self.clerk)
        self.admin_client = Client()
        self.admin_client.force_login(self.admin_user)

    def busy_account(self) -> None:
        from django.db.models import Count

        from billing.models import Account
        from writeoffs.models import WriteOff

        top = WriteOff.objects.values("account_id").annotate(n=Count("id")).order_by("-n").first()
        self.account = Account.objects.get(pk=top["account_id"])
        self.busy_writeoffs = top["n"]
        self.figures["busy_account_writeoffs"] = self.busy_writeoffs

    # Measurements -------------------------------------------------------------

    def measure_a_b(self) -> None:
        from django.contrib import admin

        from tests.benchmarks import pages
        from writeoffs.models import WriteOff

        if not admin.site.is_registered(WriteOff):
            raise pages.NotReady("WriteOff is not registered in the project's admin")
        n = self.args.requests
        variants = {
            "stock": lambda: self.clerk_client.get("/stock-admin/writeoffs/writeoff/"),
            "stock_as_admin": lambda: self.admin_client.get("/stock-admin/writeoffs/writeoff/"),
            "ours_admin": lambda: self.admin_client.get("/admin/writeoffs/writeoff/"),
            "stock_same_page": lambda: self.admin_client.get(
                "/stock-admin-same-page/writeoffs/writeoff/"
            ),
        }
        try:
            variants["partial"] = pages.writeoffs_partial(self.clerk_client, self.account)
        except pages.NotReady:
            t = round_robin(variants, n)
            self.record_admin_writeoffs(t)
            raise
        # The same signed-in user on both sides, for comparison: a superuser's permission
        # checks need no queries, a clerk's load the groups' permissions.
        variants["partial_as_admin"] = pages.writeoffs_partial(self.admin_client, self.account)
        variants["minimal"] = lambda: self.clerk_client.get(
            f"/minimal/{self.account.acct_no}/write-offs/"
        )
        variants["bare"] = cursor_select(*pages.writeoffs_bare_select(self.account))
        t = round_robin(variants, n)
        self.partial_timing = t["partial"]
        self.figures["partial_queries"] = t["partial"].queries
        self.figures["stock_writeoff_admin_queries"] = t["stock_as_admin"].queries
        # Both for a superuser: each page with all it shows (the table's Reverse buttons,
        # the changelist's action checkboxes, as Django's defaults give a superuser).
        self.record(
            "A",
            "partial / stock changelist, both for a superuser",
            t["partial_as_admin"].wall,
            t["stock_as_admin"].wall,
            "<=0.5",
        )
        # Both for a (staff) clerk: no Reverse buttons, and no actions in the changelist.
        self.record(
            "A_clerk",
            "partial / stock changelist, both for a clerk",
            t["partial"].wall,
            t["stock"].wall,
            "<=0.5",
        )
        self.record_admin_writeoffs(t)
        self.record(
            "B1",
            "partial's own SQL / bare SELECT",
            t["partial"].own_sql,
            t["bare"].sql,
            "<=1.5",
        )
        self.record(
            "B2", "partial / minimal one-loop view", t["partial"].wall, t["minimal"].wall, "<=2"
        )
        self.sql_listing("partial", t["partial"])
        bare_sql, bare_params = pages.writeoffs_bare_select(self.account)
        rows_sql = [c for c in t["partial"].own_queries if "writeoffs_writeoff" in c[0]]
        plans = {"bare": query_plan(bare_sql, bare_params)}
        if rows_sql:
            plans["partial_rows"] = query_plan(rows_sql[0][0], rows_sql[0][1])
        for name, plan in plans.items():
            self.note(f"query plan B1 ({name}):\n    " + "\n    ".join(plan))
        self.figures["B1_plans"] = plans

    def record_admin_writeoffs(self, t: dict[str, Timing]) -> None:
        per_page = self.our_list_per_page("writeoffs.WriteOff")
        self.record(
            "admin_writeoffs",
            f"our write-off admin / stock, both {per_page} rows",
            t["ours_admin"].wall,
            t["stock_same_page"].wall,
            "<=1.0",
        )
        self.figures["admin_writeoffs_queries"] = t["ours_admin"].queries
        self.figures["stock_same_page_writeoff_admin_queries"] = t["stock_same_page"].queries
        self.sql_listing("our write-off admin", t["ours_admin"])
        self.sql_listing("stock write-off admin", t["stock_same_page"])

    @staticmethod
    def our_list_per_page(label: str) -> int:
        from django.apps import apps
        from django.contrib import admin

        return admin.site._registry[apps.get_model(label)].list_per_page

    def measure_c(self) -> None:
        from tests.benchmarks import pages

        n = self.args.requests
        search, bare_sql, bare_params = pages.picker_search(self.clerk_client, self.account)
        t = round_robin({"picker": search, "bare": cursor_select(bare_sql, bare_params)}, n)
        picker = t["picker"]
        self.record(
            "C", "picker search SQL / bare indexed SELECT", picker.own_sql, t["bare"].sql, "<=2"
        )
        self.figures["C_picker_wall_ms"] = round(picker.wall, 3)
        self.figures["C_picker_queries"] = picker.queries
        self.sql_listing("picker search", picker)
        searches = [
            c for c in picker.own_queries if "billing_invoice" in c[0] and "invoice_no" in c[0]
        ]
        plans = {}
        for index, (sql, params, _) in enumerate(searches):
            plan = query_plan(sql, params)
            plans[f"picker_{index}"] = plan
        plans["bare"] = query_plan(bare_sql, bare_params)
        for name, plan in plans.items():
            self.note(f"query plan ({name}):\n    " + "\n    ".join(plan))
        uses = all(plan_uses_index(plan) for plan in plans.values())
        self.figures["C_index_used"] = uses
        self.figures["C_plans"] = plans
        self.rows.append(("C", "picker search whole response", f"{picker.wall:.2f} ms", "", ""))
        self.rows.append(("C", "index used by the search", str(uses), "", "yes"))

    def measure_d(self) -> None:
        from tests.benchmarks import pages

        n = self.args.requests
        depth = self.deep_page()
        deep = pages.writeoffs_deep_page(self.clerk_client, self.account, depth)
        first = pages.writeoffs_partial(self.clerk_client, self.account)
        t = round_robin({"deep": deep, "first": first}, n)
        self.figures["D_page"] = depth
        self.record("D", f"page {depth:,} / page 1", t["deep"].wall, t["first"].wall, "<=1.5")
        self.sql_listing(f"page {depth}", t["deep"])

    def measure_events(self) -> None:
        from django.test import Client

        from billing.api.keys import api_key_create
        from billing.models import Event
        from tests.benchmarks import events

        n = self.args.requests
        self.note(f"EV: appending {self.args.events:,} events by bulk SQL...")
        start = time.perf_counter()
        last = events.seed_events(self.args.events, self.note)
        self.figures["EV_events"] = last
        self.figures["EV_seed_s"] = round(time.perf_counter() - start, 1)
        key = api_key_create(f"bench-feed-{secrets.token_hex(4)}", "clerk")[1]
        client = Client()
        # The billing system polls near the end of the feed; the middle is as deep as
        # a catch-up from far behind gets.
        deep = max(last - 5 * events.PAGE, 0)
        middle = last // 2
        bare_sql, bare_params = events.feed_bare_select(deep)
        t = round_robin(
            {
                "deep": events.feed_page(client, key, deep),
                "middle": events.feed_page(client, key, middle),
                "bare": cursor_select(bare_sql, bare_params),
            },
            n,
        )
        page = json.loads(t["deep"].body)
        if len(page["events"]) != events.PAGE:
            raise SystemExit(f"EV: the page had {len(page['events'])} events, not {events.PAGE}")
        self.figures["EV_cursor"] = deep
        # The floor's wall time: its execute and its fetch (SQLite fetches after execute).
        self.record(
            "EV",
            f"events page of {events.PAGE:,} at cursor {deep:,} / bare SELECT",
            t["deep"].wall,
            t["bare"].wall,
            "report",
        )
        for name in ("deep", "middle"):
            wall = t[name].wall
            self.figures[f"EV_{name}_wall_ms"] = round(wall, 3)
            self.figures[f"EV_{name}_own_sql_ms"] = round(t[name].own_sql, 3)
            self.rows.append(
                (
                    "EV",
                    f"events page, whole response, {name} ({last:,} events)",
                    f"{wall:.2f} ms (SQL {t[name].own_sql:.2f})",
                    "",
                    f"<=50 ms {'met' if wall <= 50 else 'NOT met'}",
                )
            )
        self.sql_listing("events page", t["deep"])
        # The plan of the feed's own query, as the view builds it.
        plan = (
            Event.objects.filter(id__gt=deep)
            .order_by("id")
            .values_list("payload", flat=True)[: events.PAGE + 1]
            .explain()
            .splitlines()
        )
        self.note("query plan (events page):\n    " + "\n    ".join(plan))
        uses = plan_uses_index(plan)
        self.figures["EV_plan"] = plan
        self.figures["EV_index_used"] = uses
        self.rows.append(("EV", "index range used by the page", str(uses), "", "yes"))

    def measure_cases(self) -> None:
        """CS: a busy dispute case's page, its tabs and the cases list vs ``/bare/``."""
        from billing.actors import Actor
        from tests.benchmarks import cases

        with cases.media_directory() as media:
            case = cases.busy_case(Actor.for_user(self.clerk), media)
            t = round_robin(cases.variants(self.clerk_client, case), self.args.requests)
        self.figures["CS_case_number"] = case.number
        labels = {
            "case_page": f"case {case.number}'s page ({cases.NOTES} notes added)",
            **{f"case_{tab}": f"the case's {tab} tab, whole page" for tab in cases.TABS},
            "case_list": "the cases list",
        }
        for name, label in labels.items():
            self.record(
                f"CS_{name}", f"{label} / bare page", t[name].wall, t["bare"].wall, "report"
            )
            self.figures[f"CS_{name}_queries"] = t[name].queries
        self.sql_listing("case page", t["case_page"])
        self.sql_listing("cases list", t["case_list"])

    def measure_provision(self) -> None:
        """PR: the allowance's provision run for last month's end, timed and per invoice."""
        from tests.benchmarks import provision

        figures = provision.measure(self.admin_user, self.heavy_rounds)
        self.figures["PR_provision"] = figures
        invoices = self.counts["invoices"]
        for key, label in (
            ("dry_run_ms", "dry run (the plan), median"),
            ("run_ms", "run, posting"),
        ):
            ms = figures[key]
            per = ms * 1000 / invoices
            self.figures[f"PR_{key}_per_invoice_us"] = round(per, 3)
            self.rows.append(
                (
                    "PR",
                    f"provision {label}, {figures['month_end']}, {invoices:,} invoices",
                    f"{ms:.1f} ms ({per:.2f} us/invoice)",
                    "",
                    "(reported)",
                )
            )

    def measure_credit_notes(self) -> None:
        """CN: write-offs/s with credit notes, 20 writers at once / one; numbers checked."""
        from tests.benchmarks import credit_notes

        figures = credit_notes.measure(self, self.args.credit_note_writes)
        self.figures["CN_credit_notes"] = figures
        self.record(
            "CN",
            f"write-offs with credit notes/s, {figures['writers']} writers / one, "
            f"{figures['writeoffs']:,} each",
            figures["many_writers_per_s"],
            figures["one_writer_per_s"],
            "report",
            "per_s",
        )
        self.rows.append(
            (
                "CN",
                "credit-note numbers of the year unique and consecutive, counter at the last",
                f"{figures['notes']:,} notes, 1..{figures['last_sequence']:,}",
                "",
                "yes",
            )
        )

    def deep_page(self) -> int:
        """D's page: 2,000 (50,000 write-offs), or the last one of a smaller busy account."""
        return min(2000, max(self.busy_writeoffs // 25, 1))

    def measure_admin_invoices(self) -> None:
        from django.contrib import admin

        from billing.models import Invoice
        from tests.benchmarks import pages

        if not admin.site.is_registered(Invoice):
            raise pages.NotReady("Invoice is not registered in the project's admin")
        n = self.args.requests
        t = round_robin(
            {
                "ours": lambda: self.admin_client.get("/admin/billing/invoice/"),
                "stock": lambda: self.admin_client.get("/stock-admin-same-page/billing/invoice/"),
            },
            n,
        )
        per_page = self.our_list_per_page("billing.Invoice")
        self.record(
            "admin_invoices",
            f"our invoice admin / stock, both {per_page} rows",
            t["ours"].wall,
            t["stock"].wall,
            "<=0.5",
        )
        self.figures["admin_invoices_queries"] = t["ours"].queries
        self.sql_listing("our invoice admin", t["ours"])
        self.sql_listing("stock invoice admin", t["stock"])

    def measure_e(self) -> None:
        """Write-offs per second: the whole service path vs a bare ORM insert + update."""
        from django.db import transaction
        from django.db.models import F

        from billing.actors import Actor
        from billing.ledger.codes import control_codes
        from billing.models import Invoice, JournalEntry, JournalLine
        from tests.benchmarks import pages
        from writeoffs.models import WriteOff

        codes = control_codes()
        revenue_code_id = (
            Invoice.objects.filter(status=Invoice.Status.SENT)
            .values_list("revenue_code_id", flat=True)
            .first()
        )

        count = self.args.creates
        invoices = pages.invoices_with_room(self.account, count * 4)
        actor = Actor.for_user(self.clerk)
        today = datetime.date.today()

        def service(invoice_id: int, account_id: int) -> None:
            pages.goodwill_writeoff(invoice_id, actor)

        def orm(invoice_id: int, account_id: int, *, history: bool, journal: bool) -> None:
            with transaction.atomic():
                writeoff = WriteOff(
                    account_id=account_id,
                    invoice_id=invoice_id,
                    amount_minor=1,
                    reason_code=1,
                    comments="Benchmark goodwill credit",
                    writeoff_date=today,
                    created_by=self.clerk,
                    created_by_label=self.clerk.username,
                )
                if not history:
                    # simple_history skips a row whenever this attribute exists.
                    writeoff.skip_history_when_saving = True
                writeoff.save()
                if journal:
                    entry = JournalEntry.objects.create(
                        entry_date=today,
                        currency="USD",
                        event="writeoff",
                        invoice_id=invoice_id,
                        account_id=account_id,
                        source_type="writeoffs.writeoff",
                        source_id=writeoff.pk,
                        created_by=self.clerk,
                        created_by_label=self.clerk.username,
                    )
                    common = {
                        "entry": entry,
                        "entry_date": today,
                        "currency": "USD",
                        "invoice_id": invoice_id,
                    }
                    JournalLine.objects.bulk_create(
                        [
                            JournalLine(
                                **common, accounting_code_id=revenue_code_id, debit_minor=1
                            ),
                            JournalLine(
                                **common, accounting_code_id=codes.ar_control_id, credit_minor=1
                            ),
                        ]
                    )
                Invoice.objects.filter(pk=invoice_id).update(
                    written_off_minor=F("written_off_minor") + 1
                )

        variants = {
            "service": service,
            "bare": lambda i, a: orm(i, a, history=False, journal=True),
            "bare_without_journal": lambda i, a: orm(i, a, history=False, journal=False),
            "orm_with_history": lambda i, a: orm(i, a, history=True, journal=True),
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        rows = iter(invoices)
        for _ in range(min(count, len(invoices) // len(variants))):
            for name, create in variants.items():
                invoice_id, account_id = next(rows)
                start = time.perf_counter()
                create(invoice_id, account_id)
                times[name].append(time.perf_counter() - start)
        rate = {name: 1 / statistics.median(t) for name, t in times.items()}
        self.figures["E_creates_each"] = len(times["service"])
        self.record(
            "E",
            "service creates/s / bare ORM inserts (write-off, entry, lines) + update",
            rate["service"],
            rate["bare"],
            ">=0.33",
            "per_s",
        )
        self.record(
            "E_vs_orm_create",
            "service / ORM create() with its history row, entry, lines + update",
            rate["service"],
            rate["orm_with_history"],
            ">=0.33",
            "per_s",
        )
        self.record(
            "E_journal_cost",
            "bare inserts with entry and lines / without",
            rate["bare"],
            rate["bare_without_journal"],
            "report",
            "per_s",
        )

    def measure_j(self) -> None:
        """J1 seeding with vs without the journal; J2 trial balance over a year vs a bare
        GROUP BY; J3 a month's journal export vs a raw fetch of its rows."""
        from django.db import connection

        from billing.ledger.books import trial_balance
        from billing.models import JournalEntry, JournalLine
        from tests.benchmarks import reports as bare

        self.figures["journal_entries"] = JournalEntry.objects.count()
        self.figures["journal_lines"] = JournalLine.objects.count()
        self.record(
            "J1",
            "seed with the journal / without (s)",
            self.seed_seconds,
            self.seed_without_journal_seconds,
            "<=1.5",
            "s",
        )
        start, end = trial_balance_year()
        table = connection.ops.quote_name(JournalLine._meta.db_table)
        # The floor reads the lines the trial balance reads: every line through the end,
        # those before the start for the opening balances, the year's for its debits
        # and credits. The year's lines alone are printed beside it.
        same_lines = cursor_select(
            f"SELECT accounting_code_id, currency, "
            f"SUM(CASE WHEN entry_date >= %s THEN debit_minor ELSE 0 END), "
            f"SUM(CASE WHEN entry_date >= %s THEN credit_minor ELSE 0 END), "
            f"SUM(CASE WHEN entry_date < %s THEN debit_minor - credit_minor ELSE 0 END) "
            f"FROM {table} WHERE entry_date <= %s GROUP BY accounting_code_id, currency",
            [start, start, start, end],
        )
        year_only = cursor_select(
            f"SELECT accounting_code_id, currency, SUM(debit_minor), SUM(credit_minor) "
            f"FROM {table} WHERE entry_date BETWEEN %s AND %s "
            "GROUP BY accounting_code_id, currency",
            [start, end],
        )
        t = round_robin(
            {
                "ours": lambda: trial_balance(start=start, end=end),
                "bare": same_lines,
                "year_only": year_only,
            },
            self.heavy_rounds,
            warmup=1,
        )
        self.figures["J2_lines_in_year"] = JournalLine.objects.filter(
            entry_date__range=(start, end)
        ).count()
        self.record(
            "J2",
            "trial balance (a year, with opening balances) / bare GROUP BY of the same lines",
            t["ours"].wall,
            t["bare"].wall,
            "<=2",
        )
        self.record(
            "J2_year_only",
            "trial balance / bare GROUP BY of the year's lines only (no opening)",
            t["ours"].wall,
            t["year_only"].wall,
            "report",
        )

        month_start = end - datetime.timedelta(days=30)

        export = journal_export(self.admin_client, month_start, end)
        raw = bare.run_all(bare.journal_month_raw(month_start, end))
        t = round_robin({"export": export, "raw": raw}, self.heavy_rounds, warmup=1)
        self.figures["J3_lines_in_month"] = JournalLine.objects.filter(
            entry_date__range=(month_start, end)
        ).count()
        self.record(
            "J3",
            "journal export of a month (CSV) / raw fetch",
            t["export"].wall,
            t["raw"].wall,
            "report",
        )

    def measure_h(self) -> None:
        """Bulk runs: the worker's rate vs writeoff_create in a loop; the preview vs a floor.

        The run's invoices are made here (small balances aged far past anything the
        seed makes), twice over: one half is written by a plain writeoff_create loop,
        the other by a bulk run through the worker's own step (``write_next_item``, what
        ``bulk_run_execute`` repeats in ``db_worker``), one invoice per transaction,
        alternating invoice by invoice.
        """
        from django.db import connection

        from billing.actors import Actor
        from tests.benchmarks import bulk_runs
        from writeoffs.bulk import preview, runs

        bulk_runs.measure_h1(self)
        bulk_runs.measure_workers(self)
        actor = Actor.for_user(self.clerk)
        today = datetime.date.today()

        # The preview of a run over the seeded invoices: balances up to the clerk's
        # limit, so the index ranges hold a good share of the open invoices.
        preview_run = runs.bulk_run_prepare(
            actor=actor,
            max_balance={"USD": "500.00", "EUR": "500.00"},
            older_than_days=30,
            reason_code=0,
            comments="Benchmark preview",
        )
        cutoff = preview.aging_cutoff(preview_run, today)
        # The index's own expression (billing.models.AVAILABLE_MINOR, pending included):
        # with any other the planner can use only the index's first column.
        available = "(total_minor - paid_minor - written_off_minor - held_minor - pending_minor)"
        # The floor: the same figures straight from the index, one range per currency,
        # without the account-status join and the hold filter the criteria add.
        bare_sql = " UNION ALL ".join(
            f"SELECT currency, COUNT(*), SUM({available}) FROM billing_invoice "
            f"WHERE status = %s AND currency = %s AND {available} >= 1 "
            f"AND {available} <= %s AND aging_date <= %s GROUP BY currency"
            for _ in preview_run.max_balance_minor
        )
        bare_params = []
        for currency, largest in sorted(preview_run.max_balance_minor.items()):
            bare_params += ["sent", currency, largest, cutoff]
        t = round_robin(
            {
                "preview": lambda: preview.bulk_run_preview(preview_run),
                "bare": cursor_select(bare_sql, bare_params),
            },
            self.args.requests,
        )
        self.record(
            "H2", "bulk preview query / bare indexed SELECT", t["preview"].sql, t["bare"].sql, "<=2"
        )
        figures = preview.bulk_run_preview(preview_run)
        self.figures["H2_preview"] = {f.currency: [f.count, f.total_minor] for f in figures}
        [(preview_sql, preview_params, _)] = t["preview"].own_queries
        plans = {
            "preview": query_plan(preview_sql, preview_params),
            "bare": query_plan(bare_sql, bare_params),
        }
        for name, plan in plans.items():
            self.note(f"query plan ({name}):\n    " + "\n    ".join(plan))
        uses = all(plan_uses_index(plan) for plan in plans.values())
        self.figures["H2_plans"] = plans
        self.figures["H2_index_used"] = uses
        self.rows.append(("H2", "index used by the preview", str(uses), "", "yes"))
        self.note(
            f"{connection.vendor}: preview {t['preview'].sql:.2f} ms, bare {t['bare'].sql:.2f} ms"
        )

    def measure_f(self) -> None:
        """seed_billing's rows per second vs raw executemany of the same rows.

        At a million invoices the seed writes over ten million rows (the journal and
        the creation records included); copying all of them took longer than the rest
        of the benchmark. The floor copies an even sample instead, the first
        ``F_SAMPLE_ROWS`` of them spread over the tables in proportion to their sizes,
        with the copy's foreign keys unchecked (a sample of children can name parents
        outside it, and the unchecked copy is the lower floor)."""
        from django.apps import apps
        from django.db import connections, transaction

        # S copies the larger of its two databases, the one seeded twice.
        source = connections["large" if self.args.scale else "default"]
        target = connections["copy"]
        models = [
            apps.get_model(label)
            for label in (
                "auth.User",
                "billing.AccountingCode",
                "billing.Account",
                "billing.Invoice",
                "billing.InvoiceLine",
                "billing.Payment",
                "writeoffs.DisputeHold",
                "writeoffs.WriteOff",
            )
        ]
        models += [
            model
            for model in apps.get_models()
            if model._meta.app_label in ("billing", "writeoffs") and model not in models
        ]
        seeded = [model for model in models if model._meta.label != "auth.User"]
        with source.cursor() as cursor:
            sizes = {}
            for model in seeded:
                table = source.ops.quote_name(model._meta.db_table)
                cursor.execute(f"SELECT COUNT(*) FROM {table}")
                sizes[model] = cursor.fetchone()[0]
        total_rows = sum(sizes.values())
        share = min(1.0, F_SAMPLE_ROWS / max(total_rows, 1))
        copied_rows = 0
        insert_seconds = 0.0
        per_table = {}
        if target.vendor == "sqlite":
            with target.cursor() as cursor:
                cursor.execute("PRAGMA foreign_keys = OFF")
        with transaction.atomic(using="copy"):
            if target.vendor == "postgresql":
                with target.cursor() as cursor:
                    cursor.execute("SET LOCAL session_replication_role = replica")
            for model in models:
                table = model._meta.db_table
                columns = [f.column for f in model._meta.concrete_fields]
                quoted = ", ".join(source.ops.quote_name(c) for c in columns)
                limit = math.ceil(sizes[model] * share) if model in sizes else None
                # Table and column names come from the models, never from input.
                select = f"SELECT {quoted} FROM {source.ops.quote_name(table)} ORDER BY 1"
                if limit is not None:
                    select += f" LIMIT {limit:d}"
                insert = (
                    f"INSERT INTO {target.ops.quote_name(table)} ({quoted}) "
                    f"VALUES ({', '.join(['%s'] * len(columns))})"
                )
                rows_in_table = 0
                with source.cursor() as src, target.cursor() as dst:
                    if model._meta.label == "auth.User":
                        dst.execute(f"DELETE FROM {target.ops.quote_name(table)}")
                    src.execute(select)
                    while batch := src.fetchmany(20_000):
                        start = time.perf_counter()
                        dst.executemany(insert, batch)
                        insert_seconds += time.perf_counter() - start
                        rows_in_table += len(batch)
                if rows_in_table:
                    per_table[table] = rows_in_table
                if model in sizes:
                    copied_rows += rows_in_table
            commit_start = time.perf_counter()
        insert_seconds += time.perf_counter() - commit_start
        seed_rate = total_rows / self.seed_seconds
        raw_rate = copied_rows / insert_seconds
        self.figures["F_rows"] = total_rows
        self.figures["F_rows_copied"] = copied_rows
        self.figures["F_rows_per_table"] = per_table
        self.figures["F_raw_insert_s"] = round(insert_seconds, 1)
        if self.args.scale:
            # S: the seed and its growth together, the journal included.
            self.record(
                "S_seed",
                f"seed rows/s (its {len(self.seed_runs)} runs) / raw executemany rows/s",
                seed_rate,
                raw_rate,
                ">=0.4",
                "rows_per_s",
            )
            return
        self.record(
            "F", "seed rows/s / raw executemany rows/s", seed_rate, raw_rate, ">=0.25", "rows_per_s"
        )
        self.rows.append(("F", "seed wall time", f"{self.seed_seconds:.1f} s", "", "<=300 s at 1M"))

    def measure_g(self) -> None:
        from tests.benchmarks import pages

        page = pages.writeoffs_page(self.clerk_client, self.account)()
        html = page.content
        if page.get("Content-Encoding") == "gzip":
            html = gzip.decompress(html)
        html_gzip = gzipped_size(page)
        assets = {}
        for url in re.findall(rb'(?:href|src)="(/static/[^"]+\.(?:css|js))"', html):
            assets[url.decode()] = static_gzip_size(url.decode())
        swap = pages.writeoffs_partial(self.clerk_client, self.account)()
        swap_gzip = gzipped_size(swap)
        first_load = html_gzip + sum(assets.values())
        self.figures["G_html_gzip_bytes"] = html_gzip
        self.figures["G_static_gzip_bytes"] = assets
        self.figures["G_first_load_gzip_bytes"] = first_load
        self.figures["G_swap_gzip_bytes"] = swap_gzip
        self.rows.append(
            (
                "G",
                "first page load, gzip (HTML + CSS/JS)",
                f"{first_load / 1024:.1f} KB",
                "",
                "<=150 KB " + ("met" if first_load <= 150 * 1024 else "NOT met"),
            )
        )
        self.rows.append(
            (
                "G",
                "one htmx swap, gzip",
                f"{swap_gzip / 1024:.1f} KB",
                "",
                "<=10 KB " + ("met" if swap_gzip <= 10 * 1024 else "NOT met"),
            )
        )

    def measure_reports(self) -> None:
        """H and I: each report's selector (its SQL and the Python that pivots the
        grouped rows) against the bare GROUP BYs of the same figures, alternating."""
        from billing.rules import today
        from tests.benchmarks import reports as bare
        from writeoffs import reports

        n = self.heavy_rounds
        as_of = today()
        start = (as_of.replace(day=1) - datetime.timedelta(days=335)).replace(day=1)
        aging_sql = bare.aging_bare(as_of)
        analysis_sql = bare.analysis_bare(start, as_of)
        t = round_robin(
            {
                "aging": lambda: reports.aging_report(as_of),
                "aging_bare": bare.run_all(aging_sql),
                "aging_page": lambda: self.clerk_client.get("/reports/aging/"),
                "analysis": lambda: reports.writeoff_analysis(start, as_of),
                "analysis_bare": bare.run_all(analysis_sql),
                "analysis_page": lambda: self.clerk_client.get("/reports/write-offs/"),
            },
            n,
            warmup=1,
        )
        self.record(
            "H", "aging report / bare GROUP BYs", t["aging"].wall, t["aging_bare"].wall, "<=2"
        )
        self.record(
            "I",
            "write-off analysis / bare GROUP BY",
            t["analysis"].wall,
            t["analysis_bare"].wall,
            "<=2",
        )
        for key, row_key in (("aging", "H"), ("analysis", "I")):
            self.figures[f"{key}_queries"] = t[key].queries
            self.figures[f"{key}_page_ms"] = round(t[f"{key}_page"].wall, 1)
            self.rows.append(
                (row_key, f"{key} whole page", f"{t[f'{key}_page'].wall:.1f} ms", "", "")
            )
            self.sql_listing(key, t[key])
        plans = {}
        for key, statements in (("aging", aging_sql), ("analysis", analysis_sql)):
            for index, (sql, _params, _s) in enumerate(t[key].own_queries):
                plans[f"{key}_{index}"] = query_plan(sql, _params)
            for index, (sql, params) in enumerate(statements):
                plans[f"{key}_bare_{index}"] = query_plan(sql, params)
        for name, plan in plans.items():
            self.note(f"query plan ({name}):\n    " + "\n    ".join(plan))
        self.figures["HI_plans"] = plans

    def measure_http(self) -> None:
        """H (HTTP): requests per second through gunicorn, the Write-offs partial vs a
        bare view behind the same middleware and session, wrk runs alternating."""
        from django.conf import settings
        from django.test import Client
        from django.urls import reverse

        from tests.benchmarks import http_load, pages

        try:
            wrk = http_load.ensure_wrk()
        except http_load.LoadToolMissing as missing:
            raise pages.NotReady(str(missing)) from missing
        # A session of the clerk's own, in the database the server reads; a GET needs no
        # CSRF cookie.
        client = Client()
        client.force_login(self.clerk)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}", **pages.PARTIAL_HEADERS}
        paths = {
            "partial": pages.writeoffs_partial_url(self.account),
            "bare": reverse("bench_bare"),
        }
        seconds = self.args.http_seconds
        server = http_load.Server(worker_class=self.args.http_worker_class)
        runs: list[http_load.WrkRun] = []
        try:
            server.start()
            self.note(
                f"gunicorn on 127.0.0.1:{server.port}, 2 {self.args.http_worker_class} workers; "
                f"wrk 2 threads, 8 connections, {seconds:.0f} s a run"
            )
            for path in paths.values():
                http_load.check_response(server, path, headers)
            for name, path in paths.items():  # warm-up: each worker's first requests
                http_load.run_wrk(wrk, name, server.url(path), headers, seconds=2)
            for _ in range(self.args.http_rounds):
                for name, path in paths.items():
                    booted = server.booted()
                    run = http_load.run_wrk(wrk, name, server.url(path), headers, seconds=seconds)
                    run.workers_booted = server.booted() - booted
                    runs.append(run)
                    self.note(f"wrk, {name} ({path}):\n{run.summary}")
                    self.note(
                        f"  statuses {run.statuses}, socket errors {run.socket_errors}, "
                        f"{run.workers_booted} workers recycled (max_requests)"
                    )
        finally:
            server.stop()
            if any(run.not_ok for run in runs):
                self.note(f"gunicorn's log:\n{server.tail()}")
            server.remove_log()
        self.figures["H_http_runs"] = [
            {
                "variant": run.name,
                "requests": run.requests,
                "seconds": round(run.seconds, 2),
                "per_s": round(run.rate, 1),
                "p50_ms": run.p50_ms,
                "p99_ms": run.p99_ms,
                "mean_bytes": round(run.bytes / max(run.requests, 1)),
                "statuses": run.statuses,
                "socket_errors": run.socket_errors,
                "workers_recycled": run.workers_booted,
            }
            for run in runs
        ]
        failed = {run.name: run.not_ok for run in runs if run.not_ok}
        if failed:
            # A run answered with the sign-in redirect (or errors) measured something else.
            self.figures["H_http_not_200"] = failed
            self.rows.append(
                ("H_http", "requests/s through gunicorn", "", "", f"INVALID: not 200 {failed}")
            )
            return
        of = {name: [run for run in runs if run.name == name] for name in paths}
        rate = {
            name: sum(r.requests for r in group) / sum(r.seconds for r in group)
            for name, group in of.items()
        }
        self.record(
            "H_http",
            "requests/s through gunicorn: partial / bare view (2 workers, 8 connections)",
            rate["partial"],
            rate["bare"],
            ">=0.5",
            "per_s",
        )
        self.record(
            "H_http_latency",
            "partial's latency through gunicorn: p99 / p50 (median of the runs)",
            statistics.median(r.p99_ms for r in of["partial"]),
            statistics.median(r.p50_ms for r in of["partial"]),
            "<=2",
        )

    def measure_memory(self) -> None:
        """Peak memory of a process streaming each export over all its rows: the whole
        journal, and the busy account's write-offs (the largest write-off CSV)."""
        from django.urls import reverse

        exports = {
            "journal_export": reverse("journal_export") + "?first_entry=1",
            "writeoffs_csv": reverse("writeoff_csv", args=[self.account.acct_no]),
        }
        for name, url in exports.items():
            figures = run_child("stream", url, self.admin_user.username)
            peak = figures["peak_rss_bytes"] / 2**20
            before = figures["rss_before_bytes"] / 2**20
            self.figures[f"M_{name}"] = figures
            self.note(
                f"{name}: {figures['rows']:,} rows, {figures['bytes'] / 2**20:.1f} MB in "
                f"{figures['seconds']:.1f} s; peak memory {peak:.0f} MB ({before:.0f} MB before)"
            )
            self.rows.append(
                (
                    "M",
                    f"{name}, all {figures['rows']:,} rows streamed: peak memory "
                    f"({before:.0f} MB resident before the request)",
                    f"{peak:.0f} MB",
                    "",
                    "<=150 MB " + ("met" if peak <= 150 else "NOT met"),
                )
            )

    # K: the import of an invoices file ------------------------------------------

    def measure_import(self) -> None:
        """K: ``import_billing`` of an invoices file (two lines per invoice) on the
        seeded database, in a child process: rows per second and peak memory. Last
        of the steps: it adds invoices."""
        from billing.models import Account
        from tests.benchmarks import imports

        accounts = list(Account.objects.order_by("pk")[:100])
        for account in accounts:
            if not account.external_id:
                account.external_id = f"bench-{account.acct_no}"
                account.save(update_fields=["external_id"])
        path = Path(f"/tmp/billing_bench_import_{os.getpid()}.csv")
        try:
            imports.write_invoices_file(
                path,
                rows=self.args.import_rows,
                lines_per_invoice=2,
                account_ids=[a.external_id for a in accounts if a.external_id],
                tag=f"bench{os.getpid()}",
            )
            figures = imports.run_import_child(path)
        finally:
            path.unlink(missing_ok=True)
        rate = figures["rows"] / figures["seconds"]
        peak = figures["peak_rss_bytes"] / 2**20
        self.figures["K_import"] = {**figures, "rows_per_second": rate}
        rate_goal = ">=2000 " + ("met" if rate >= 2000 else "NOT met")
        peak_goal = "<200 MB " + ("met" if peak < 200 else "NOT met")
        rows = figures["rows"]
        self.rows.append(
            ("K", f"import_billing, {rows:,} invoice rows: rows/s", f"{rate:,.0f}", "", rate_goal)
        )
        self.rows.append(("K", "import_billing: peak memory", f"{peak:.0f} MB", "", peak_goal))

    # S: the same measures at two sizes ------------------------------------------

    def measure_scale(self) -> None:
        """S: the measures that must stay flat in data size, on the seeded database and
        on a copy of it that seed_billing grew to the larger size, in one round-robin."""
        small_counts = self.counts
        if self.args.scale_reuse:
            self.after_seed("large")
        else:
            self.grow_copy()
        large_counts = self.counts
        # Close the books through last month on both (after the growth: seed_billing
        # refuses a database with a lock date), so the trial balance reads stored
        # months. The months are written as lock_date_move writes them; the move's
        # close snapshot (a full verify_ledger) is left out of the benchmark's setup.
        for alias in ("default", "large"):
            with on_database(alias):
                self.figures[f"S_close_months_{alias}_s"] = close_last_month()
        self.figures["S_counts"] = {"small": small_counts, "large": large_counts}
        grown = "seeded before" if self.args.scale_reuse else "its copy, grown"
        self.note(
            f"S: {small_counts['invoices']:,} invoices (the seeded database) and "
            f"{large_counts['invoices']:,} ({grown}), measured alternately"
        )

        n = self.args.requests
        variants: dict[str, Callable[[], object]] = {}
        reports_variants: dict[str, Callable[[], object]] = {}
        for alias in ("default", "large"):
            with on_database(alias):
                # Each database's own users, sessions and busy account: reused
                # databases were seeded apart, so their ids need not agree.
                self.users()
                self.clients()
                self.busy_account()
                pages_of, reports_of = self.scale_variants()
            variants.update({f"{name}@{alias}": on(alias, c) for name, c in pages_of.items()})
            reports_variants.update(
                {f"{name}@{alias}": on(alias, c) for name, c in reports_of.items()}
            )
        both = ("default", "large")
        t = round_robin(variants, n, databases=both)
        # The reports read every row: fewer repetitions (each is seconds at millions).
        t.update(round_robin(reports_variants, max(3, n // 6), warmup=1, databases=both))
        labels = {
            "partial": ("the Write-offs partial", "<=1.3"),
            "picker": ("the picker search (whole response)", "<=1.3"),
            "deep": (f"page {self.deep_page():,} of the busy account", "<=1.3"),
            "create": ("one writeoff_create (median)", "<=1.3"),
            "aging": ("aging as of today (from the aggregates)", "<=1.3"),
            "aging_page": ("the aging page as of today (its first page of accounts)", "<=1.3"),
            "trial_balance": ("the trial balance over a year", "<=6"),
            "home": ("the home page", "<=1.3"),
            "tb_current_year": ("the trial balance of the current year", "<=1.3"),
            "analysis_12": ("the write-off analysis of 12 months", "<=1.3"),
            "worklist": ("the disputes worklist", "<=1.3"),
            "approvals": ("the approvals queue", "<=1.3"),
            "export_month": ("a month's journal export (CSV)", "<=1.3"),
        }
        # Absolute times at the larger size, against SPEC Part 3's goals, and each
        # one's floor (a bare page, or the bare SQL of the same figures).
        floors = {
            "home": ("bare_page", 150),
            "aging": ("aging_today_bare", 200),
            "aging_page": ("bare_page", 200),
            "tb_current_year": ("tb_current_year_bare", 200),
            "analysis_12": ("analysis_12_bare", 200),
            "worklist": ("bare_page", None),
            "approvals": ("bare_page", None),
            "export_month": ("export_month_raw", None),
        }
        for name, (floor, goal_ms) in floors.items():
            for alias in ("default", "large"):
                self.figures[f"S_{name}_{alias}_ms"] = round(t[f"{name}@{alias}"].wall, 1)
                self.figures[f"S_{name}_{alias}_floor_ms"] = round(t[f"{floor}@{alias}"].wall, 1)
            ours, base = t[f"{name}@large"].wall, t[f"{floor}@large"].wall
            goal = (
                ""
                if goal_ms is None
                else (f"<={goal_ms} ms " + ("met" if ours <= goal_ms else "NOT met"))
            )
            self.rows.append(
                (
                    f"S_{name}_abs",
                    f"{name} at {large_counts['invoices']:,} / its floor",
                    f"{ours:.1f} / {base:.1f} ms",
                    "",
                    goal,
                )
            )
        # J3 at the larger size: the export against its raw fetch (goal <= 1.5x).
        self.record(
            "S_export_month_raw",
            f"a month's journal export / its raw fetch, at {large_counts['invoices']:,}",
            t["export_month@large"].wall,
            t["export_month_raw@large"].wall,
            "<=1.5",
        )
        counted = f"{large_counts['invoices']:,} / {small_counts['invoices']:,} invoices"
        for name, (label, goal) in labels.items():
            ours, base = t[f"{name}@large"], t[f"{name}@default"]
            self.record(f"S_{name}", f"{label}, {counted}", ours.wall, base.wall, goal)
            self.figures[f"S_{name}_sql_ms"] = {
                "small": round(base.sql, 3),
                "large": round(ours.sql, 3),
            }
        if not self.seed_runs:
            return  # reused databases: no seed ran here
        peak = max(run["peak_rss_bytes"] for run in self.seed_runs) / 2**20
        self.figures["S_seed_peak_memory_mb"] = round(peak)
        self.rows.append(
            (
                "S_seed",
                "seed_billing's peak memory (the larger of its two runs)",
                f"{peak:.0f} MB",
                "",
                "<=1024 MB " + ("met" if peak <= 1024 else "NOT met"),
            )
        )

    def grow_copy(self) -> None:
        """S's larger database: a copy of the seeded one, grown by seed_billing."""
        from django.db import connections

        large = self.args.scale[1]
        # A file copy of the seeded database, statistics, users and sessions included;
        # PostgreSQL copies only a database nobody is connected to, and SQLite's file
        # holds everything once the write-ahead log is checkpointed into it.
        small_name = connections["default"].settings_dict["NAME"]
        large_name = connections["large"].settings_dict["NAME"]
        vendor = connections["default"].vendor
        if vendor == "sqlite":
            with connections["default"].cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connections.close_all()
        start = time.perf_counter()
        if vendor == "sqlite":
            shutil.copyfile(small_name, large_name)
        else:
            import psycopg

            with psycopg.connect(self.args.database_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{large_name}" TEMPLATE "{small_name}"')
        self.figures["S_template_copy_s"] = round(time.perf_counter() - start, 1)
        self.seed_child(
            accounts=max((large - self.counts["invoices"]) // self.per_account, 1),
            per_account=self.per_account,
            busy=0,
            alias="large",
        )
        self.after_seed("large")

    def scale_variants(self) -> tuple[dict, dict]:
        """S's calls on the current default database: the same as A's partial, C, D, E's
        service create, the aging report (H) and J2's trial balance."""
        from billing.ledger.books import trial_balance
        from billing.rules import today
        from tests.benchmarks import pages
        from tests.benchmarks import reports as bare
        from writeoffs import reports

        start, end = trial_balance_year()
        as_of = today()
        year_start = as_of.replace(month=1, day=1)
        twelve = (as_of.replace(day=1) - datetime.timedelta(days=335)).replace(day=1)
        month_end = as_of.replace(day=1) - datetime.timedelta(days=1)
        last_month = (month_end.replace(day=1), month_end)
        clerk, admin = self.clerk_client, self.admin_client
        return (
            {
                "partial": pages.writeoffs_partial(self.clerk_client, self.account),
                "picker": pages.picker_search(self.clerk_client, self.account)[0],
                "deep": pages.writeoffs_deep_page(
                    self.clerk_client, self.account, self.deep_page()
                ),
                "create": pages.service_create(self, count=self.args.requests + 10),
                # Today's figures, from the aggregates (issue 27), each beside its floor.
                "home": lambda: clerk.get("/"),
                "aging_page": lambda: clerk.get("/reports/aging/"),
                "worklist": lambda: clerk.get("/worklists/disputes/"),
                "approvals": lambda: admin.get("/approvals/"),
                "bare_page": lambda: clerk.get("/bare/"),
            },
            {
                "aging": lambda: reports.aging_report(as_of),
                "trial_balance": lambda: trial_balance(start=start, end=end),
                "tb_current_year": lambda: trial_balance(start=year_start, end=as_of),
                "tb_current_year_bare": bare.run_all(bare.trial_balance_bare(year_start, as_of)),
                "aging_today_bare": bare.run_all(bare.aging_today_bare(as_of)),
                "analysis_12": lambda: reports.writeoff_analysis(twelve, as_of),
                "analysis_12_bare": bare.run_all(bare.analysis_bare(twelve, as_of)),
                # J3 at both sizes: last month's export (the same dates on both) beside
                # its raw fetch (goal: <= 1.5x the fetch).
                "export_month": journal_export(self.admin_client, *last_month),
                "export_month_raw": bare.run_all(bare.journal_month_raw(*last_month)),
            },
        )

    def sql_listing(self, name: str, timing: Timing) -> None:
        self.note(f"{name}: {len(timing.captured)} queries captured, own SQL:")
        for sql, _params, seconds in timing.own_queries:
            self.note(f"    {seconds * 1000:7.3f} ms  {sql[:220]}")

    # Output -------------------------------------------------------------------

    def print_table(self) -> None:
        widths = [max(len(str(row[i])) for row in self.rows) for i in range(5)]
        header = ("", "measure", "ours / baseline", "ratio", "goal")
        widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
        line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
        print(line)
        print("-" * len(line))
        for row in self.rows:
            print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def load_average() -> str:
    """The machine's load over the last 1, 5 and 15 minutes (two cores here)."""
    return " / ".join(f"{load:.1f}" for load in os.getloadavg())


def close_last_month() -> float:
    """Set the lock date to last month's end with its stored months (as lock_date_move
    does, without its close snapshot); the seconds it took."""
    from django.db import transaction

    from billing.ledger.aggregates import write_closed_months
    from billing.models import AccountingPeriodLock
    from billing.rules import today

    started = time.perf_counter()
    month_end = today().replace(day=1) - datetime.timedelta(days=1)
    with transaction.atomic():
        previous = AccountingPeriodLock.objects.order_by("-id").first()
        if previous is not None and previous.locked_through >= month_end:
            return 0.0  # a reused database an earlier run closed (--scale-reuse)
        AccountingPeriodLock.objects.create(
            locked_through=month_end,
            reason="Benchmark: the months before this one closed",
            balances_before=write_closed_months(
                previous.balances_before if previous else None, month_end
            ),
        )
    return round(time.perf_counter() - started, 1)


def trial_balance_year() -> tuple[datetime.date, datetime.date]:
    """J2's and S's trial balance: the year to today."""
    end = datetime.date.today()
    return end - datetime.timedelta(days=364), end


def run_child(*arguments: str, env: dict[str, str] | None = None) -> dict:
    """``measured.py`` in a child process on this benchmark's database: its figures."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("measured.py")), *arguments],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(arguments)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def goal_met(ratio: float, goal: str) -> str:
    if goal == "report":
        return "(no goal)"
    bound = float(goal.lstrip("<>="))
    ok = ratio <= bound if goal.startswith("<") else ratio >= bound
    return "met" if ok else "NOT met"


def gzipped_size(response) -> int:
    """Bytes on the wire: the gzip middleware's output, or gzip of the body if it skipped it."""
    if response.get("Content-Encoding") == "gzip":
        return len(response.content)
    return len(gzip.compress(response.content, compresslevel=6))


def static_gzip_size(url: str) -> int:
    """The size whitenoise serves for a static file: its pre-compressed .gz (level 9)."""
    from django.conf import settings
    from django.contrib.staticfiles import finders

    relative = url.removeprefix("/" + settings.STATIC_URL.lstrip("/"))
    path = finders.find(relative)
    if path is None:
        raise SystemExit(f"the page references {url}, which no static finder has")
    return len(gzip.compress(Path(path).read_bytes(), compresslevel=9))


def main() -> None:
    args = parse_args()
    # whitenoise looks for collectstatic's output; the benchmark measures static files itself.
    warnings.filterwarnings("ignore", message="No directory at")
    cleanup = prepare_databases(args)
    wall_start = time.perf_counter()
    try:
        import django

        django.setup()
        bench = Benchmark(args)
        bench.setup()
        bench.clients()
        bench.busy_account()
        from tests.benchmarks import bulk_runs, pages

        if args.profile in bulk_runs.PROFILES:
            bulk_runs.profile(bench, args.profile, args.requests)
            return
        if args.profile:
            pages.profile(bench, args.profile, args.requests)
            return
        if args.scale_reuse:
            # No seed ran, so F (the seed's rate) has nothing to measure.
            steps: tuple[Callable[[], None], ...] = (bench.measure_scale,)
        elif args.scale:
            steps = (bench.measure_scale, bench.measure_f)
        else:
            steps = (
                bench.measure_a_b,
                bench.measure_c,
                bench.measure_d,
                bench.measure_admin_invoices,
                bench.measure_g,
                bench.measure_http,
                bench.measure_f,
                bench.measure_e,
                bench.measure_j,
                bench.measure_h,
                bench.measure_reports,
                bench.measure_memory,
                bench.measure_events,
                bench.measure_cases,
                bench.measure_provision,
                bench.measure_credit_notes,
                bench.measure_import,
            )
        for step in steps:
            if not bench.measures(step.__name__):
                continue
            bench.note(f"--- {step.__name__}")
            first_row = len(bench.rows)
            step_start = time.perf_counter()
            try:
                step()
            except pages.NotReady as missing:
                bench.note(f"not measured: {missing}")
                bench.rows.append((step.__name__, f"not measured: {missing}", "", "", ""))
            # Each step's rows as soon as it ends: a run stopped later keeps them.
            for row in bench.rows[first_row:]:
                bench.note("    " + "  ".join(str(cell) for cell in row if cell))
            bench.note(f"    ({step.__name__}: {time.perf_counter() - step_start:.0f} s)")
        bench.figures["wall_s"] = round(time.perf_counter() - wall_start, 1)
        bench.figures["machine"] = (
            f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"
        )
        bench.figures["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        print()
        print(
            f"{bench.figures['vendor']}: {bench.counts['invoices']:,} invoices, "
            f"{bench.counts['writeoffs']:,} write-offs, "
            f"{bench.counts['dispute_holds']:,} dispute holds; "
            f"busy account {bench.busy_writeoffs:,} write-offs; {bench.figures['machine']}; "
            f"{bench.figures['date']}; benchmark wall time {bench.figures['wall_s']} s"
        )
        bench.print_table()
        print(json.dumps(bench.figures, sort_keys=True, default=str))
    finally:
        if not args.keep:
            cleanup()


if __name__ == "__main__":
    main()
