"""Running the import on a file given as text, as the command and the screen do."""

from __future__ import annotations

import io
from contextlib import contextmanager

from billing.sync.imports.reading import ColumnMapping
from billing.sync.imports.service import ImportResult, import_billing


def run_import(
    kind: str,
    content: str | bytes,
    actor,
    *,
    dry_run: bool = False,
    mapping: ColumnMapping | None = None,
) -> ImportResult:
    data = content.encode() if isinstance(content, str) else content

    @contextmanager
    def open_file():
        yield io.BytesIO(data)

    return import_billing(
        kind=kind,
        open_file=open_file,
        size=len(data),
        actor=actor,
        dry_run=dry_run,
        mapping=mapping,
    )


def problems_of(result: ImportResult) -> list[tuple[int, str]]:
    return [(p.row, p.column) for p in result.problems]
