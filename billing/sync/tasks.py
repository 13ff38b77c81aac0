"""The import's background tasks (Django's tasks framework, ``manage.py db_worker``)
and the hand-off to them: checking an upload and importing it never run inside a
web request. This module is transport: it calls ``billing.sync.imports.runs``.
"""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.tasks import task

from billing.actors import Actor
from billing.models import ImportMapping, ImportRun
from billing.sync.imports.runs import (
    import_run_check,
    import_run_create,
    import_run_execute,
    import_run_remap,
    import_run_start,
)


@task()
def check_import_run(run_id: int) -> str:
    return import_run_check(run_id).status


@task()
def execute_import_run(run_id: int) -> str:
    return import_run_execute(run_id).status


def create_import_run(
    *, kind: str, upload: UploadedFile, mapping: ImportMapping | None, actor: Actor
) -> ImportRun:
    """Store the upload and enqueue its check, in one transaction (the database
    backend writes the task row in it): both or neither."""
    with transaction.atomic():
        run = import_run_create(kind=kind, upload=upload, mapping=mapping, actor=actor)
        check_import_run.enqueue(run.pk)
    return run


def remap_import_run(*, run_id: int, mapping: ImportMapping, actor: Actor) -> ImportRun:
    with transaction.atomic():
        run = import_run_remap(run_id=run_id, mapping=mapping, actor=actor)
        check_import_run.enqueue(run.pk)
    return run


def start_import_run(*, run_id: int, actor: Actor) -> ImportRun:
    """Queue the checked run and its task in one transaction: both or neither."""
    with transaction.atomic():
        run = import_run_start(run_id=run_id, actor=actor)
        execute_import_run.enqueue(run.pk)
    return run
