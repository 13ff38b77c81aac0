"""The task worker's entry point for report jobs (``manage.py db_worker``), and the
hand-off to it. Transport, like ``writeoffs.bulk.tasks``: the job's state lives on
``ReportJob``, so the backend may prune its own results."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.tasks import task

from billing.actors import Actor
from writeoffs.models import ReportJob
from writeoffs.reports.jobs import report_job_request, report_job_run


@task()
def run_report_job(job_id: int) -> str:
    """Compute a report job; returns its status when it stops."""
    return report_job_run(job_id).status


def start_report_job(
    *,
    kind: str,
    as_of: datetime.date,
    actor: Actor,
    start: datetime.date | None = None,
    currency: str = "",
) -> ReportJob:
    """Record the job and enqueue it in one transaction (the database backend writes
    its task row in it): both commit, or neither."""
    with transaction.atomic():
        job = report_job_request(
            kind=kind, as_of=as_of, actor=actor, start=start, currency=currency
        )
        run_report_job.enqueue(job.pk)
    return job
