"""The journal's indexes around a bulk load: dropped before its first batch, built
again once the rows are in (building an index over sorted rows costs far less than
growing it row by row at random dates)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection

from billing.models import JournalEntry, JournalLine

# The tables a bulk load builds the indexes of afterwards.
BULK_INDEXED = (JournalEntry, JournalLine)
# Kept through a bulk load: the seed still posts its taxed rows one entry at a time,
# and each reads what its source posted so far (``net_by_code``) through the lines'
# entry. Without it every such posting scanned the whole journal, so a growing seed
# slowed with every batch (200 invoices/s at 500,000 on PostgreSQL).
KEPT_DURING_BULK_LOAD = frozenset({"journal_line_entry_idx"})


def missing_journal_indexes() -> list[str]:
    """The journal's indexes (its models' ``Meta.indexes``) the database lacks."""
    with connection.cursor() as cursor:
        present = {
            name
            for model in BULK_INDEXED
            for name in connection.introspection.get_constraints(cursor, model._meta.db_table)
        }
    return [
        index.name
        for model in BULK_INDEXED
        for index in model._meta.indexes
        if index.name not in present
    ]


def _check_pending_foreign_keys() -> None:
    """PostgreSQL changes no index of a table whose deferred foreign-key checks are
    still pending in the transaction. A seed commits each batch, so that happens only
    inside a caller's transaction (a test's): run those checks now instead of at its
    commit."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        connection.check_constraints()


@contextmanager
def journal_indexes_built_after(
    *, enabled: bool, progress: Callable[[str], None] = lambda message: None
) -> Iterator[None]:
    """Drop the journal's ``Meta.indexes`` for the block and build them at its end.

    Only indexes: the primary keys and the unique (event, source) constraint stay,
    so the database still refuses a second entry for an event. The definitions are
    the models' own (``Index.create_sql``, as a migration writes them), so an index
    a killed run left missing is built again by the next run, enabled or not. The
    DDL runs as plain statements (the schema editor is not entered: on SQLite that
    refuses inside a transaction), which both databases take inside one.
    """
    editor = connection.schema_editor()
    _check_pending_foreign_keys()
    indexes = [(model, index) for model in BULK_INDEXED for index in model._meta.indexes]
    to_build = set(missing_journal_indexes())
    if enabled:
        for _model, index in indexes:
            if index.name not in to_build and index.name not in KEPT_DURING_BULK_LOAD:
                editor.execute(f"DROP INDEX {editor.quote_name(index.name)}")
                to_build.add(index.name)
    try:
        yield
    finally:
        started = time.perf_counter()
        _check_pending_foreign_keys()
        for model, index in indexes:
            if index.name in to_build:
                editor.execute(index.create_sql(model, editor))
        if to_build:
            progress(
                f"  built {len(to_build)} journal indexes in {time.perf_counter() - started:.1f} s"
            )
