"""Exactly once after a kill: a real ``db_worker`` process, SIGKILLed partway, then resumed.

The resumed run is finished by another worker whose "today" is a later date
(it runs in UTC+14 while the run was frozen in UTC-12), and every invoice ends
up written exactly once, with the frozen amount and write-off date.
"""

from __future__ import annotations

import datetime
import os
import signal
import time
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from billing.actors import Actor
from billing.factories import AccountFactory, UserFactory
from billing.roles import CLERK
from tests.ledger import assert_ledger_consistent
from tests.workers import start_worker
from tests.writeoffs.bulk_support import criteria, small_invoice
from writeoffs.bulk.runs import bulk_run_create
from writeoffs.bulk.tasks import resume_stalled_bulk_runs, start_bulk_run
from writeoffs.models import BulkRun, BulkRunItem, WriteOff

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

INVOICES = 60
# Slow the first worker down so that the kill lands partway through the run.
SLOW = {"BULK_RUN_PAUSE_SECONDS": "0.05", "TIME_ZONE": "Etc/GMT+12"}
# Etc/GMT-14 is UTC+14: always a later date than UTC-12 (26 hours apart).
LATER_DAY = {"TIME_ZONE": "Etc/GMT-14"}
# Keeps two workers busy long enough to overlap.
SLOW_PG = {"BULK_RUN_PAUSE_SECONDS": "0.02"}


def written_count(run_id: int) -> int:
    return BulkRunItem.objects.filter(run_id=run_id, state=BulkRunItem.State.WRITTEN).count()


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def finish(process, timeout: float = 120) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    return output


@pytest.fixture
def frozen_run(settings):
    # The run is frozen in the earliest time zone, so its date is "yesterday" for the resumer.
    settings.TIME_ZONE = "Etc/GMT+12"
    clerk = Actor.for_user(UserFactory(username="kill-clerk", groups=[CLERK]))
    account = AccountFactory(acct_no=9001)
    invoices = [small_invoice(account, 100 + i) for i in range(INVOICES)]
    run = bulk_run_create(actor=clerk, **criteria(older_than_days=30))
    run = start_bulk_run(run_id=run.pk, actor=clerk)
    assert run.items.count() == INVOICES
    return run, invoices


def kill_partway(run: BulkRun) -> int:
    worker = start_worker("killed-worker", extra_env=SLOW)
    try:
        wait_for(lambda: written_count(run.pk) >= 10, 60, "the first worker to write 10 invoices")
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    return written_count(run.pk)


def assert_each_invoice_written_exactly_once(run: BulkRun, invoices) -> None:
    run.refresh_from_db()
    assert run.status == BulkRun.Status.COMPLETED
    per_invoice = Counter(
        WriteOff.objects.filter(bulk_run=run).values_list("invoice_id", flat=True)
    )
    assert per_invoice == Counter({invoice.pk: 1 for invoice in invoices})
    assert WriteOff.objects.count() == INVOICES  # nothing written outside the run either
    for writeoff in WriteOff.objects.select_related("bulk_run_item"):
        assert writeoff.amount_minor == writeoff.bulk_run_item.amount_minor
        assert writeoff.writeoff_date == run.writeoff_date
        assert writeoff.bulk_run_item.state == BulkRunItem.State.WRITTEN
    for invoice in invoices:
        assert_ledger_consistent(invoice.pk)


def resume_stalled(run: BulkRun) -> None:
    later = timezone.now() + BulkRun.STALL_AFTER + datetime.timedelta(seconds=1)
    assert resume_stalled_bulk_runs(now=later) == [run.pk]


def test_a_run_killed_partway_and_resumed_by_another_worker_writes_each_invoice_once(frozen_run):
    run, invoices = frozen_run
    done_before_kill = kill_partway(run)
    assert 10 <= done_before_kill < INVOICES, "the kill must land partway through"
    run.refresh_from_db()
    assert run.status == BulkRun.Status.RUNNING  # the dead worker finished nothing
    assert resume_stalled_bulk_runs() == []  # not stalled yet: heartbeat is fresh

    resume_stalled(run)
    finish(start_worker("resuming-worker", batch=True, extra_env=LATER_DAY))

    # The resuming worker's today is a later date than the frozen write-off date.
    later_today = timezone.now().astimezone(datetime.timezone(datetime.timedelta(hours=14)))
    assert later_today.date() > run.writeoff_date
    assert_each_invoice_written_exactly_once(run, invoices)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="several workers need PostgreSQL")
def test_two_workers_share_a_resumed_run_on_postgresql_and_write_each_invoice_once(
    frozen_run, settings
):
    run, invoices = frozen_run
    kill_partway(run)
    settings.BULK_RUN_PARALLEL_TASKS = 2
    resume_stalled(run)
    workers = [
        start_worker(f"shared-worker-{n}", batch=True, extra_env={**LATER_DAY, **SLOW_PG})
        for n in (1, 2)
    ]
    for worker in workers:
        finish(worker)
    assert_each_invoice_written_exactly_once(run, invoices)
    claimed_by = set(BulkRunItem.objects.filter(run=run).values_list("heartbeat_at", flat=True))
    assert len(claimed_by) > 1
