"""Background tasks (Django's tasks framework), run by ``manage.py db_worker``, and the
hand-off to them.

The task is only the entry point: the run's state, per-invoice heartbeat and log
live in ``BulkRun`` and its items, so the backend may prune its results, and a
task whose worker died (left "running" in the backend for ever) is simply
enqueued again by ``resume_bulk_run``.

This module is transport (writeoffs' layers contract): it calls the run services,
which never import it. Starting or resuming a run for the worker goes through
``start_bulk_run`` / ``resume_bulk_run`` here, so every such run is enqueued, in
the transaction that started or resumed it.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.tasks import TaskContext, task
from django.utils import timezone

from billing.actors import Actor
from billing.errors import BULK_RUN_INVALID_STATE, BillingError
from writeoffs.bulk.execute import bulk_run_execute
from writeoffs.bulk.runs import bulk_run_resume, bulk_run_start, stalled_bulk_run_ids
from writeoffs.models import BulkRun


@task(takes_context=True)
def execute_bulk_run(context: TaskContext, run_id: int) -> str:
    """Write a started bulk run's pending items; returns the run's status when it stops."""
    return bulk_run_execute(run_id, processed_by=str(context.task_result.id)).status


def enqueue_bulk_run(run: BulkRun) -> None:
    """One task per worker that should share the run (``BULK_RUN_PARALLEL_TASKS``)."""
    for _ in range(settings.BULK_RUN_PARALLEL_TASKS):
        execute_bulk_run.enqueue(run.pk)


def start_bulk_run(*, run_id: int, actor: Actor, now: datetime.datetime | None = None) -> BulkRun:
    """Start the draft (``bulk_run_start``: freeze and approve) and enqueue it.

    The database backend writes the task rows in this transaction: the run and its
    tasks commit together, or neither does (a refused start enqueues nothing).
    """
    with transaction.atomic():
        run = bulk_run_start(run_id=run_id, actor=actor, now=now)
        enqueue_bulk_run(run)
    return run


def resume_bulk_run(*, run_id: int, actor: Actor, now: datetime.datetime | None = None) -> BulkRun:
    """Resume a stalled run (``bulk_run_resume``) and enqueue it again, in one transaction."""
    with transaction.atomic():
        run = bulk_run_resume(run_id=run_id, actor=actor, now=now)
        enqueue_bulk_run(run)
    return run


def resume_stalled_bulk_runs(*, now: datetime.datetime | None = None) -> list[int]:
    """The daily run's step: enqueue every stalled run again. Idempotent within 5 minutes."""
    now = now or timezone.now()
    resumed = []
    for run_id in stalled_bulk_run_ids(now):
        try:
            resume_bulk_run(run_id=run_id, actor=Actor.for_system(), now=now)
        except BillingError as error:
            if error.code != BULK_RUN_INVALID_STATE:  # finished or resumed meanwhile
                raise
            continue
        resumed.append(run_id)
    return resumed
