"""Background tasks (Django's tasks framework), run by ``manage.py db_worker``.

The task is only the entry point: the run's state, per-invoice heartbeat and log
live in ``BulkRun`` and its items, so the backend may prune its results, and a
task whose worker died (left "running" in the backend for ever) is simply
enqueued again by ``bulk_run_resume``.
"""

from django.conf import settings
from django.tasks import TaskContext, task

from writeoffs.bulk.execute import bulk_run_execute
from writeoffs.models import BulkRun


@task(takes_context=True)
def execute_bulk_run(context: TaskContext, run_id: int) -> str:
    """Write a started bulk run's pending items; returns the run's status when it stops."""
    return bulk_run_execute(run_id, processed_by=str(context.task_result.id)).status


def enqueue_bulk_run(run: BulkRun) -> None:
    """One task per worker that should share the run (``BULK_RUN_PARALLEL_TASKS``)."""
    for _ in range(settings.BULK_RUN_PARALLEL_TASKS):
        execute_bulk_run.enqueue(run.pk)
