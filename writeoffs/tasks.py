"""Background tasks (Django's tasks framework), run by ``manage.py db_worker``.

The task is only the entry point: the run's state, per-invoice heartbeat and log
live in ``BulkRun`` and its items, so the backend may prune its results, and a
task whose worker died (left "running" in the backend for ever) is simply
enqueued again by ``bulk_run_resume``.
"""

from django.tasks import TaskContext, task

from writeoffs import bulk


@task(takes_context=True)
def execute_bulk_run(context: TaskContext, run_id: int) -> str:
    """Write a started bulk run's pending items; returns the run's status when it stops."""
    return bulk.bulk_run_execute(run_id, processed_by=str(context.task_result.id)).status
