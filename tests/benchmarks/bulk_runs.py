"""Step H's bulk runs: the worker's rate, its statements, its profile, two workers.

H1  a run of --bulk-run invoices through the worker's own step
    (``writeoffs.bulk.execute.write_next_item``, what ``bulk_run_execute`` repeats in
    ``db_worker``) vs ``writeoff_create`` in a plain loop over as many other
    invoices, alternating invoice by invoice; then each side's statements for one
    invoice (django's ``CaptureQueriesContext``), listed.
H3  on PostgreSQL, a run of as many invoices written by two real ``db_worker``
    processes vs one worker on a run of the same size, each checked for every
    invoice written exactly once.

``--profile bulk-step`` / ``--profile bulk-loop`` profile either side with
pyinstrument instead of measuring.

The invoices are made here: small balances aged before 2001, so far past anything
the seed makes that a run's criteria select only them. Each run writes its
invoices off, so the next run selects only the invoices made for it.
"""

from __future__ import annotations

import datetime
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from django.db import connection
from django.db.models import Max, Min
from django.test.utils import CaptureQueriesContext

from billing.actors import Actor
from billing.models import Account, Invoice, InvoiceLine
from writeoffs.bulk.execute import bulk_run_execute, bulk_run_progress, write_next_item
from writeoffs.bulk.runs import CREATE_PERM, bulk_run_create, bulk_run_start
from writeoffs.bulk.tasks import execute_bulk_run
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.models import ApprovalLimit, BulkRun, BulkRunItem, WriteOff

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ("bulk-step", "bulk-loop")
# A run's invoices are aged before its cutoff, the loop's after it.
RUN_CUTOFF = datetime.date(2001, 1, 1)
RUN_AGED = datetime.date(2000, 6, 1)
LOOP_AGED = datetime.date(2001, 6, 1)
WORKER_TIMEOUT_S = 600


def run_size(bench) -> int:
    return bench.args.bulk_run or max(min(10_000, bench.args.invoices // 100), 100)


def small_balances(bench, count: int, *, aged: datetime.date) -> list[int]:
    """``count`` sent invoices of 1.00 to 4.99 USD, aged ``aged``, in the benchmark's
    own account; their ids, in order."""
    account = getattr(bench, "bulk_account", None)
    if account is None:
        last_acct = Account.objects.aggregate(n=Max("acct_no"))["n"] or 0
        account = Account.objects.create(
            acct_no=last_acct + 1, name="Bulk benchmark", currency="USD"
        )
        bench.bulk_account = account
    start_no = (Invoice.objects.aggregate(n=Max("invoice_no"))["n"] or 0) + 1
    revenue_code_id = (
        Invoice.objects.filter(revenue_code__isnull=False)
        .values_list("revenue_code", flat=True)
        .first()
    )
    made = Invoice.objects.bulk_create(
        (
            Invoice(
                invoice_no=start_no + n,
                account=account,
                currency="USD",
                bill_date=aged - datetime.timedelta(days=30),
                due_date=aged,
                aging_date=aged,
                status=Invoice.Status.SENT,
                revenue_code_id=revenue_code_id,
                total_minor=100 + n % 400,
            )
            for n in range(count)
        ),
        batch_size=2000,
    )
    ids = list(
        Invoice.objects.filter(invoice_no__gte=start_no)
        .order_by("id")
        .values_list("id", "total_minor")
    )
    if len(ids) != len(made):
        raise SystemExit(f"H: made {len(made)} invoices, found {len(ids)}")
    InvoiceLine.objects.bulk_create(
        (InvoiceLine(invoice_id=i, description="Bench", amount_minor=m) for i, m in ids),
        batch_size=2000,
    )
    return [i for i, _ in ids]


def started_run(bench, count: int) -> BulkRun:
    """A run of ``count`` new small balances, started (frozen and approved), not enqueued."""
    from django.contrib.auth.models import Group

    invoice_ids = small_balances(bench, count, aged=RUN_AGED)
    clerk = Actor.for_user(bench.clerk)
    run = bulk_run_create(
        actor=clerk,
        max_balance={"USD": "5.00"},
        older_than_days=(datetime.date.today() - RUN_CUTOFF).days,
        reason_code=0,
        comments="Benchmark run",
    )
    approver = getattr(bench, "bulk_approver", None)
    if approver is None:
        # A supervisor approves the total, as it is above the clerk's limit.
        approver = bench.admin_user.__class__.objects.create_user("bench-supervisor")
        approver.groups.add(Group.objects.get(name="Billing supervisor"))
        ApprovalLimit.objects.filter(role="supervisor", currency="USD").update(limit_minor=None)
        bench.bulk_approver = approver
    run = bulk_run_start(run_id=run.pk, actor=Actor.for_user(approver))
    frozen = sorted(run.items.values_list("invoice_id", flat=True))
    if frozen != invoice_ids:
        raise SystemExit(f"H: the run froze {len(frozen)} invoices, not the {count} made for it")
    return BulkRun.objects.select_related("created_by").get(pk=run.pk)


class Sides:
    """One invoice at a time through either side: the worker's step on a started run,
    or ``writeoff_create`` on the next loop invoice."""

    def __init__(self, bench, count: int) -> None:
        self.run = started_run(bench, count)
        self.creator = Actor.for_user(self.run.created_by)
        self.loop_ids = iter(small_balances(bench, count, aged=LOOP_AGED))
        self.actor = Actor.for_user(bench.clerk)
        self.today = datetime.date.today()
        # A worker's actor is warm after its first item.
        self.creator.has_perm(CREATE_PERM)
        self.actor.has_perm(CREATE_PERM)

    def step(self) -> None:
        item = write_next_item(self.run, self.creator, "benchmark")
        if item is None or item.state != BulkRunItem.State.WRITTEN:
            raise SystemExit(f"H: the run's step wrote nothing ({item and item.state})")

    def loop(self) -> None:
        invoice_id = next(self.loop_ids)
        writeoff_create(
            invoice_id=invoice_id,
            amount=None,
            reason_code=0,
            comments="Benchmark loop",
            actor=self.actor,
            writeoff_date=self.today,
            idempotency_key=f"bench-loop-{invoice_id}",
        )


def measure_h1(bench) -> None:
    size = run_size(bench)
    bench.figures["H_run_invoices"] = size
    # Two more each for the statement count below (one to warm up, one counted).
    sides = Sides(bench, size + 2)
    times: dict[str, list[float]] = {"run": [], "loop": []}
    # Round-robin, invoice by invoice, so that machine load hits both alike.
    for _ in range(size):
        for name, call in (("run", sides.step), ("loop", sides.loop)):
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    run_rate = 1 / statistics.median(times["run"])
    loop_rate = 1 / statistics.median(times["loop"])
    bench.figures["H1_run_total_s"] = round(sum(times["run"]), 2)
    bench.figures["H1_loop_total_s"] = round(sum(times["loop"]), 2)
    bench.record(
        "H1",
        "bulk run invoices/s (one worker) / writeoff_create loop",
        run_rate,
        loop_rate,
        ">=0.8",
        "per_s",
    )
    for name, call in (("run", sides.step), ("loop", sides.loop)):
        call()
        with CaptureQueriesContext(connection) as queries:
            call()
        statements = [q["sql"] for q in queries.captured_queries]
        bench.figures[f"H1_{name}_statements"] = len(statements)
        bench.note(f"H1 {name}: {len(statements)} statements for one invoice")
        for sql in statements:
            bench.note(f"    {sql[:110]}")
    run = bulk_run_execute(sides.run.pk)  # finds nothing pending and completes the run
    if run.status != BulkRun.Status.COMPLETED or bulk_run_progress(run).written != size + 2:
        raise SystemExit("H: the run did not complete with every invoice written")
    bench.note(f"{connection.vendor}: bulk run {run_rate:.0f}/s, loop {loop_rate:.0f}/s")


def profile(bench, name: str, requests: int) -> None:
    """Either side, ``requests`` invoices under pyinstrument (after 3 to warm up)."""
    from tests.benchmarks.pages import profile_calls

    sides = Sides(bench, requests + 3)
    call: Callable[[], None] = sides.step if name == "bulk-step" else sides.loop
    profile_calls(name, call, requests)


# --- H3: real workers ----------------------------------------------------------------


def measure_workers(bench) -> None:
    """One ``db_worker`` process on a run, then two on another run of the same size."""
    if connection.vendor != "postgresql":
        bench.note("H3: not measured: several workers share a run on PostgreSQL only")
        return
    size = run_size(bench)
    rates = {}
    for workers in (1, 2):
        run = started_run(bench, size)
        seconds, span = run_in_workers(run, workers)
        check = exactly_once(run, size)
        bench.note(f"H3: {workers} worker(s), {size} invoices: {check}")
        rates[workers] = (size - 1) / span
        bench.figures[f"H3_workers_{workers}_wall_s"] = round(seconds, 2)
        bench.figures[f"H3_workers_{workers}_per_s"] = round(rates[workers], 1)
        bench.note(
            f"H3: {workers} worker(s): {rates[workers]:.0f} invoices/s between the first and "
            f"the last invoice's claim; {seconds:.1f} s from enqueue to completed"
        )
    bench.record(
        "H3",
        "bulk run invoices/s, two workers / one (PostgreSQL)",
        rates[2],
        rates[1],
        "report",
        "per_s",
    )


def run_in_workers(run: BulkRun, workers: int) -> tuple[float, float]:
    """Start ``workers`` db_worker processes, enqueue the run once per worker and wait
    until it completes. Returns the seconds from enqueue to completed, and from the
    first item's claim to the last's (the workers' own rate, without start-up)."""
    processes = [start_worker(f"bench-worker-{run.pk}-{n}") for n in range(workers)]
    try:
        for process in processes:
            wait_until_started(process)
        start = time.perf_counter()
        for _ in range(workers):
            execute_bulk_run.enqueue(run.pk)
        deadline = time.monotonic() + WORKER_TIMEOUT_S
        while BulkRun.objects.get(pk=run.pk).status == BulkRun.Status.RUNNING:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise SystemExit(f"H3: the run did not complete in {workers} worker(s)")
            time.sleep(0.05)
        seconds = time.perf_counter() - start
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    claims = run.items.aggregate(first=Min("heartbeat_at"), last=Max("heartbeat_at"))
    return seconds, (claims["last"] - claims["first"]).total_seconds()


def start_worker(worker_id: str) -> subprocess.Popen:
    """``manage.py db_worker`` on the benchmark's database and settings, as deployed
    (``--no-reload``), polling every 0.1 s."""
    command = [
        sys.executable,
        "manage.py",
        "db_worker",
        "--no-reload",
        "--no-startup-delay",
        "--interval",
        "0.1",
        "--worker-id",
        worker_id,
    ]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until_started(process: subprocess.Popen) -> None:
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("Starting worker"):
            return
    raise SystemExit("H3: a worker stopped before it started:\n" + "".join(seen[-20:]))


def exactly_once(run: BulkRun, size: int) -> str:
    """Every invoice of the run written once, by its item, with the frozen amount."""
    items = dict(run.items.values_list("invoice_id", "amount_minor"))
    states = Counter(run.items.values_list("state", flat=True))
    per_invoice = Counter(
        WriteOff.objects.filter(invoice_id__in=items).values_list("invoice_id", flat=True)
    )
    amounts = dict(WriteOff.objects.filter(bulk_run=run).values_list("invoice_id", "amount_minor"))
    problems = []
    if len(items) != size or states != {BulkRunItem.State.WRITTEN: size}:
        problems.append(f"items {dict(states)} of {size}")
    if per_invoice != Counter(dict.fromkeys(items, 1)):
        twice = sum(1 for n in per_invoice.values() if n > 1)
        problems.append(f"{len(per_invoice)} invoices written, {twice} more than once")
    if amounts != items:
        problems.append("write-off amounts differ from the frozen amounts")
    if problems:
        raise SystemExit(f"H3: not exactly once: {'; '.join(problems)}")
    return f"each of the {size} invoices written exactly once, with its frozen amount"
