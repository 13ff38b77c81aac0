"""The import: one service for the command, the screen's task and (a row at a time)
the API. Two passes over the streamed file:

1. the check: every row read and judged (create, update, unchanged, refused) before
   anything is written;
2. the import: the rows the check did not refuse, written in batches, each batch one
   transaction and each row (an invoice's rows) its own savepoint, through the
   services, so that a row a service refuses at the last moment is refused alone.

A rerun of the same file finds every row unchanged and writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO, cast

from django.conf import settings
from django.db import IntegrityError, transaction

from billing import tallies
from billing.actors import Actor
from billing.errors import BODY_TOO_LARGE, BillingError
from billing.ledger.periods import lock_date_read_once
from billing.models import ImportKind
from billing.rules import require_perm
from billing.sync.imports.batch import issue_invoices
from billing.sync.imports.checks import PaymentChecker, check_accounts, check_invoices
from billing.sync.imports.fields import RowProblem
from billing.sync.imports.reading import ColumnMapping, FileRefused, SourceRow, read_rows
from billing.sync.imports.verdicts import InvoicePlan, Outcome, Verdict
from billing.sync.imports.writes import write

IMPORT_PERMISSION = "billing.import_billing"
# Rows judged (and written) together: one query per chunk for what they refer to, and
# one transaction. Larger batches went faster (500 to 2,000 rows: about 1,900 to 2,400
# rows/s on the loaded benchmark machine) but hold SQLite's write lock longer: 1,000
# keeps each batch's lock around half a second.
CHUNK_ROWS = 1000
# Problems kept in a result (the counts are always exact).
PROBLEMS_KEPT = 10_000

WRITES = (Outcome.CREATE, Outcome.UPDATE)
# A write that a unique constraint refused: another row of the file, or another
# request, took the number or id first.
CLASH = "Another row or record already has one of this row's numbers or ids."

type Opener = Callable[[], AbstractContextManager[IO[bytes]]]
type Progress = Callable[[int, int], None]


@dataclass
class ImportResult:
    kind: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    file_error: str = ""

    @property
    def succeeded(self) -> bool:
        """Every row imported or unchanged: a command's exit status 0."""
        return not self.file_error and self.refused == 0

    def count(self, verdict: Verdict) -> None:
        rows = len(verdict.rows)
        self.rows += rows
        setattr(self, verdict.outcome.value, getattr(self, verdict.outcome.value) + rows)
        room = PROBLEMS_KEPT - len(self.problems)
        if room > 0:
            self.problems.extend(verdict.problems[:room])

    def summary(self) -> str:
        if self.file_error:
            return f"Nothing imported: {self.file_error}"
        would = "would be " if self.dry_run else ""
        return (
            f"{self.rows} rows: {self.created} {would}created, {self.updated} {would}updated, "
            f"{self.unchanged} unchanged, {self.refused} refused."
        )


def check_size(size: int) -> None:
    """A file over ``IMPORT_MAX_BYTES`` is refused before a byte of it is read (413)."""
    limit = settings.IMPORT_MAX_BYTES
    if size > limit:
        raise BillingError(
            BODY_TOO_LARGE,
            f"The file is {size:,} bytes; an import file is at most {limit:,} bytes. "
            "Split it into smaller files.",
        )


def import_billing(
    *,
    kind: str,
    open_file: Opener,
    size: int,
    actor: Actor,
    dry_run: bool = False,
    mapping: ColumnMapping | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a file of ``kind`` (accounts, invoices, payments). ``open_file`` opens it
    for reading in binary, once per pass. With ``dry_run`` only the check runs: the
    counts say what the import would do. ``progress(done, total)`` hears of each
    batch written. Raises ``BillingError`` for an actor without the permission and
    a file over the limit; a file that cannot be read is the result's ``file_error``."""
    require_perm(actor, IMPORT_PERMISSION)
    if kind not in ImportKind.values:
        raise ValueError(f"unknown import kind {kind!r}")
    check_size(size)
    checked = ImportResult(kind=kind, dry_run=dry_run)
    refused_rows: set[int] = set()
    try:
        with open_file() as binary:
            for verdict in _verdicts(kind, binary, mapping, actor):
                checked.count(verdict)
                if verdict.outcome is Outcome.REFUSE:
                    refused_rows.update(verdict.rows)
    except FileRefused as refusal:
        return ImportResult(kind=kind, dry_run=dry_run, file_error=refusal.message)
    if dry_run or checked.created + checked.updated == 0:
        return checked
    return _apply(kind, open_file, mapping, actor, checked, refused_rows, progress)


def _apply(
    kind: str,
    open_file: Opener,
    mapping: ColumnMapping | None,
    actor: Actor,
    checked: ImportResult,
    refused_rows: set[int],
    progress: Progress | None,
) -> ImportResult:
    result = ImportResult(kind=kind, dry_run=False)
    # The rows the check refused keep the check's problems.
    kept: dict[int, list[RowProblem]] = {}
    for problem in checked.problems:
        kept.setdefault(problem.row, []).append(problem)
    with open_file() as binary:
        for chunk in _chunks(kind, binary, mapping):
            wanted = [g for g in chunk if g[0].number not in refused_rows]
            # One transaction per batch; the lock date is read once in it.
            with transaction.atomic(), lock_date_read_once():
                judged = {v.rows[0]: v for v in _judge(kind, wanted, actor)} if wanted else {}
                issued = _issue_batch(kind, list(judged.values()), actor)
                for group in chunk:
                    verdict = judged.get(group[0].number)
                    if verdict is None:
                        verdict = _checked_refusal(group, kept)
                    elif (
                        verdict.outcome in (Outcome.CREATE, Outcome.UPDATE)
                        and verdict.rows[0] not in issued
                    ):
                        verdict = _write(verdict, actor)
                    result.count(verdict)
            if progress is not None:
                progress(result.rows, checked.rows)
    if kind != ImportKind.ACCOUNTS:
        # Each batch's invoices and payments left rows of deltas in the tallies
        # (billing.tallies); fold them now rather than at the next daily run.
        tallies.compact_all()
    return result


def _issue_batch(kind: str, verdicts: list[Verdict], actor: Actor) -> set[int]:
    """The batch's new invoices, written together (``issue_invoices``); the first row
    numbers of those it wrote. A batch it cannot take is left, whole, to ``_write``."""
    if kind != ImportKind.INVOICES:
        return set()
    creates = [v for v in verdicts if v.outcome is Outcome.CREATE]
    if not creates:
        return set()
    try:
        with transaction.atomic():
            issue_invoices([cast(InvoicePlan, v.plan) for v in creates], actor)
    except (BillingError, IntegrityError):
        return set()
    return {v.rows[0] for v in creates}


def _checked_refusal(group: list[SourceRow], kept: dict[int, list[RowProblem]]) -> Verdict:
    rows = [row.number for row in group]
    return Verdict.refused(rows, [p for row in rows for p in kept.get(row, [])])


def _write(verdict: Verdict, actor: Actor) -> Verdict:
    assert verdict.plan is not None
    try:
        with transaction.atomic():
            write(verdict.plan, actor)
    except BillingError as error:
        problem = RowProblem(verdict.rows[0], error.field or "(row)", error.message, error.code)
        return Verdict.refused(verdict.rows, [problem])
    except IntegrityError:
        problem = RowProblem(verdict.rows[0], "(row)", CLASH)
        return Verdict.refused(verdict.rows, [problem])
    return verdict


def _verdicts(
    kind: str, binary: IO[bytes], mapping: ColumnMapping | None, actor: Actor
) -> Iterator[Verdict]:
    payments = PaymentChecker(actor) if kind == ImportKind.PAYMENTS else None
    for chunk in _chunks(kind, binary, mapping):
        yield from _check_chunk(kind, chunk, actor, payments)


def _check_chunk(
    kind: str, chunk: list[list[SourceRow]], actor: Actor, payments: PaymentChecker | None
) -> list[Verdict]:
    """The check of one chunk, reading in one transaction: the lock date once."""
    verdicts: list[Verdict] = []
    with transaction.atomic(), lock_date_read_once():
        fresh: list[list[SourceRow]] = []
        for group in chunk:
            repeat = group[0].values.get("__repeat__")
            if repeat:
                column = group[0].column("external_id")
                verdicts.append(
                    Verdict.refused(
                        [row.number for row in group],
                        [RowProblem(row.number, column, repeat) for row in group],
                    )
                )
            else:
                fresh.append(group)
        if fresh:
            verdicts.extend(_judge(kind, fresh, actor, payments))
    return sorted(verdicts, key=lambda v: v.rows[0])


def _judge(
    kind: str,
    groups: list[list[SourceRow]],
    actor: Actor,
    payments: PaymentChecker | None = None,
) -> list[Verdict]:
    if kind == ImportKind.INVOICES:
        return check_invoices(groups)
    rows = [group[0] for group in groups]
    if kind == ImportKind.ACCOUNTS:
        return check_accounts(rows)
    return (payments or PaymentChecker(actor)).check(rows)


def _chunks(
    kind: str, binary: IO[bytes], mapping: ColumnMapping | None
) -> Iterator[list[list[SourceRow]]]:
    """The file's rows in chunks of about ``CHUNK_ROWS``, grouped: an invoice's rows
    (consecutive rows with one external id) together, every other row alone. A group
    whose external id appeared earlier in the file is marked ``__repeat__``."""
    seen: set[bytes] = set()
    chunk: list[list[SourceRow]] = []
    size = 0
    group: list[SourceRow] = []

    def close(group: list[SourceRow]) -> None:
        nonlocal size
        external_id = group[0].values.get("external_id", "")
        # A digest, not the id: a million ids in a set of short digests stays small.
        digest = hashlib.blake2b(external_id.encode(), digest_size=8).digest()
        if external_id and digest in seen:
            again = "again after other invoices' rows" if kind == ImportKind.INVOICES else "again"
            group[0].values["__repeat__"] = (
                f"The external id {external_id!r} appears {again} in this file: "
                "this row is not imported."
            )
        seen.add(digest)
        chunk.append(group)
        size += len(group)

    for row in read_rows(binary, kind, mapping):
        if kind == ImportKind.INVOICES and group and _same_invoice(group[0], row):
            group.append(row)
            continue
        if group:
            close(group)
        group = [row]
        if size >= CHUNK_ROWS:
            yield chunk
            chunk, size = [], 0
    if group:
        close(group)
    if chunk:
        yield chunk


def _same_invoice(first: SourceRow, row: SourceRow) -> bool:
    return first.values.get("external_id") == row.values.get("external_id")


@dataclass(frozen=True)
class RecordResult:
    """One record sent through the API: what happened to it, and its problems."""

    outcome: Outcome
    problems: list[RowProblem]


def import_record(
    *, kind: str, external_id: str, rows: list[dict[str, str]], actor: Actor
) -> RecordResult:
    """One account, invoice (``rows``: one per line) or payment, with the same rules
    as a file's rows: the API's PUT calls. Row numbers in the problems count the
    ``rows`` from 1."""
    require_perm(actor, IMPORT_PERMISSION)
    if not rows:
        rows = [{}]
    source = [
        SourceRow(
            number=number,
            values={**values, "external_id": external_id},
            columns={},
        )
        for number, values in enumerate(rows, start=1)
    ]
    groups = [source] if kind == ImportKind.INVOICES else [[row] for row in source]
    # Judged again once when a concurrent request created the same record between the
    # judgement and the write (PostgreSQL): the retry then finds it, and answers as a
    # repeated PUT does.
    for _attempt in range(2):
        with transaction.atomic():
            [verdict] = _judge(kind, groups, actor)
            if verdict.outcome in WRITES:
                verdict = _write(verdict, actor)
        if not (verdict.outcome is Outcome.REFUSE and verdict.problems[0].message == CLASH):
            break
    return RecordResult(outcome=verdict.outcome, problems=verdict.problems)
