"""Import runs: the screen's uploads, checked and then imported on the task worker.

An upload is stored through Django's storage API and checked (the import's dry
run) on the worker; the preview shows the check's counts and refused rows. Import
queues the run; the worker writes it, reporting its progress on the row, and the
result keeps the counts and the problems for the refused rows' CSV.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from billing.actors import Actor
from billing.errors import INVALID_STATE, BillingError
from billing.models import ImportMapping, ImportRun
from billing.rules import require_perm
from billing.sync.imports.mappings import column_mapping
from billing.sync.imports.reading import LAYOUTS, FileRefused, read_rows
from billing.sync.imports.service import IMPORT_PERMISSION, ImportResult, check_size, import_billing

Status = ImportRun.Status


def import_run_create(
    *, kind: str, upload: UploadedFile, mapping: ImportMapping | None, actor: Actor
) -> ImportRun:
    """Store the upload as a new run, to be checked (``import_run_check``)."""
    require_perm(actor, IMPORT_PERMISSION)
    check_size(upload.size or 0)
    if actor.user is None:
        raise ValueError("an import run is a person's")
    run = ImportRun(
        kind=kind,
        original_name=(upload.name or "import.csv")[:255],
        mapping=mapping,
        created_by=actor.user,
        status=Status.CHECKING,
    )
    run.file.save(f"{kind}.csv", upload, save=False)
    run.save()
    return run


def import_run_remap(*, run_id: int, mapping: ImportMapping, actor: Actor) -> ImportRun:
    """Check a run's file again through ``mapping``."""
    require_perm(actor, IMPORT_PERMISSION)
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run_id)
        if run.status != Status.CHECKED:
            raise BillingError(
                INVALID_STATE, "Only a checked file that was not imported is mapped."
            )
        run.mapping = mapping
        run.status = Status.CHECKING
        run.save(update_fields=["mapping", "status"])
    return run


def import_run_check(run_id: int) -> ImportRun:
    """The worker's check: the import as a dry run, its counts kept for the preview."""
    run = ImportRun.objects.select_related("mapping", "created_by").get(pk=run_id)
    result = _import(run, dry_run=True)
    _store(run, result, status=Status.CHECKED)
    return run


def import_run_start(*, run_id: int, actor: Actor) -> ImportRun:
    """Queue a checked run for the worker (the caller enqueues it in this transaction)."""
    require_perm(actor, IMPORT_PERMISSION)
    run = ImportRun.objects.select_for_update().get(pk=run_id)
    if run.status != Status.CHECKED:
        raise BillingError(INVALID_STATE, "This file has already been imported, or is importing.")
    if run.file_error or run.created + run.updated == 0:
        raise BillingError(INVALID_STATE, "Nothing in this file would be imported.")
    run.status = Status.QUEUED
    run.done_rows = 0
    run.save(update_fields=["status", "done_rows"])
    return run


def import_run_execute(run_id: int) -> ImportRun:
    """The worker's import of a queued run, its progress written as it goes."""
    run = ImportRun.objects.select_related("mapping", "created_by").get(pk=run_id)
    if run.status != Status.QUEUED:
        return run
    ImportRun.objects.filter(pk=run.pk).update(status=Status.RUNNING)

    def progress(done: int, total: int) -> None:
        ImportRun.objects.filter(pk=run.pk).update(done_rows=min(done, run.rows))

    try:
        result = _import(run, dry_run=False, progress=progress)
    except BillingError as error:
        ImportRun.objects.filter(pk=run.pk).update(
            status=Status.FAILED, file_error=error.message, finished_at=timezone.now()
        )
        run.refresh_from_db()
        return run
    _store(run, result, status=Status.DONE)
    return run


def _import(run: ImportRun, *, dry_run: bool, progress=None) -> ImportResult:
    return import_billing(
        kind=run.kind,
        open_file=lambda: run.file.open("rb"),
        size=run.file.size,
        actor=Actor.for_user(run.created_by),
        dry_run=dry_run,
        mapping=column_mapping(run.mapping) if run.mapping else None,
        progress=progress,
    )


def _store(run: ImportRun, result: ImportResult, *, status: str) -> None:
    run.status = status
    run.file_error = result.file_error
    run.rows = result.rows
    run.done_rows = result.rows if status == Status.DONE else 0
    run.created, run.updated = result.created, result.updated
    run.unchanged, run.refused = result.unchanged, result.refused
    run.problems = [[p.row, p.column, p.message] for p in result.problems]
    run.finished_at = timezone.now() if status == Status.DONE else None
    run.save()


def refused_rows(run: ImportRun) -> Iterator[list[object]]:
    """Each kept problem with the refused row's own values: the result's CSV."""
    by_row: dict[int, list[tuple[str, str]]] = {}
    for row, column, message in run.problems:
        by_row.setdefault(row, []).append((column, message))
    mapping = column_mapping(run.mapping) if run.mapping else None
    fields = LAYOUTS[run.kind].fields
    try:
        with run.file.open("rb") as binary:
            for source in read_rows(binary, run.kind, mapping):
                for column, message in by_row.pop(source.number, []):
                    values = [source.values.get(name, "") for name in fields]
                    yield [source.number, column, message, *values]
                if not by_row:
                    return
    except FileRefused:
        return


def refused_header(run: ImportRun) -> list[str]:
    return ["row", "column", "problem", *LAYOUTS[run.kind].fields]
