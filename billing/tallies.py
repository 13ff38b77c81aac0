"""Adding to, reading, compacting, checking and rebuilding tallies
(``billing.models.tallies.Tally``): the one implementation every tally uses.

- ``add`` writes rows of deltas (never an UPDATE: no shared row, no lock wait);
- ``add_select`` writes the rows of a grouped queryset of deltas, in one
  INSERT ... SELECT (a tally kept from other rows: the journal's lines);
- ``figures`` reads each key's sums in one grouped statement;
- ``compact`` folds each key's rows into one row, in one statement on PostgreSQL
  (``DELETE ... RETURNING`` feeding the ``INSERT``), so a delta committed meanwhile
  is neither lost nor counted twice, and two compactions at once cannot fold the
  same row twice; on SQLite the transaction holds the only write lock;
- ``drift`` compares a tally with its source recomputed from the rows;
- ``rebuild`` replaces a tally by its source, in one statement (one snapshot) on
  PostgreSQL, so it is safe while the app writes.

``compact`` and ``rebuild`` of one tally take the same transaction-level advisory
lock on PostgreSQL, so they never overlap: a rebuild's DELETE would not see the rows
a compaction in flight inserts, and would leave them beside its own. Writers never
take it.

Each tally registers its source (``register``), so that ``verify_ledger``,
``rebuild_aggregates`` and the daily compaction find every tally, billing's and
write-offs' alike, without billing importing write-offs.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.db import connections, router, transaction
from django.db.models import Field, QuerySet, Sum

from billing.models.tallies import Tally

Key = tuple[object, ...]
Sums = tuple[int, ...]
Source = Callable[[], QuerySet]

_SOURCES: dict[type[Tally], Source] = {}


def register(model: type[Tally], source: Source) -> None:
    """Name ``model``'s source: a function returning the grouped queryset of its
    figures recomputed from the rows (as ``drift`` and ``rebuild`` take it)."""
    _SOURCES[model] = source


def registered() -> list[tuple[type[Tally], Source]]:
    """Every registered tally and its source, by table name (a stable order)."""
    return sorted(_SOURCES.items(), key=lambda item: item[0]._meta.db_table)


def compact_all() -> dict[type[Tally], tuple[int, int]]:
    """``compact`` every registered tally: the daily run's step, and the end of a
    bulk load."""
    return {model: compact(model) for model, _source in registered()}


def rebuild_after_flush(*, plan: object = None, **kwargs: object) -> None:
    """A flush (``manage.py flush``, a transactional test's teardown) empties the
    tables one DELETE at a time on SQLite, where a source's DELETE trigger may write
    its deltas into a tally already emptied. Its ``post_migrate`` (sent without a
    plan, unlike a migration's) rebuilds every tally from its source, empty by then."""
    if plan is not None:
        return
    rebuild_all()


def rebuild_all() -> dict[type[Tally], int]:
    """``rebuild`` every registered tally from its source: the rows each wrote."""
    return {model: rebuild(model, source()) for model, source in registered()}


def _serialise(model: type[Tally], cursor) -> None:
    """On PostgreSQL, the tally's advisory lock until the transaction ends (see the
    module's docstring)."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(model._meta.db_table.encode())])


def add(model: type[Tally], deltas: Iterable[Mapping[str, object]]) -> int:
    """Write one row per delta whose sums are not all zero; returns how many."""
    rows = [model(**delta) for delta in deltas if any(delta.get(name, 0) for name in model.SUMS)]
    model._default_manager.bulk_create(rows, batch_size=1000)
    return len(rows)


def add_select(model: type[Tally], source: QuerySet) -> int:
    """Write ``source``'s rows as deltas, in one INSERT ... SELECT; ``source`` is a
    grouped queryset as for ``drift`` (the rows it adds up having just been written,
    in this transaction). Returns how many rows it wrote."""
    alias = router.db_for_write(model)
    connection = connections[alias]
    table = connection.ops.quote_name(model._meta.db_table)
    keys, sums, _summed = _columns(model)
    select, params = source.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({keys}, {sums}) {select}", params)
        return cursor.rowcount


def figures(model: type[Tally], **filters: object) -> dict[Key, Sums]:
    """Each key's sums (the rows of ``filters``), zero figures left out."""
    grouped = (
        model._default_manager.filter(**filters)
        .values_list(*model.KEYS)
        .annotate(**{f"total_{name}": Sum(name) for name in model.SUMS})
        .order_by()
    )
    width = len(model.KEYS)
    found = {tuple(row[:width]): tuple(row[width:]) for row in grouped}
    return {key: sums for key, sums in found.items() if any(sums)}


def _column(model: type[Tally], name: str) -> str:
    """The quoted column of field ``name`` (a foreign key's ``..._id``)."""
    field = model._meta.get_field(name)
    # KEYS and SUMS name concrete fields, which have a column.
    assert isinstance(field, Field) and field.column is not None
    return connections[router.db_for_write(model)].ops.quote_name(field.column)


def _columns(model: type[Tally]) -> tuple[str, str, str]:
    keys = ", ".join(_column(model, name) for name in model.KEYS)
    sums = [_column(model, name) for name in model.SUMS]
    return keys, ", ".join(sums), ", ".join(f"SUM({column})" for column in sums)


def compact(model: type[Tally]) -> tuple[int, int]:
    """Fold each key's rows into one (a key whose sums are all zero keeps none).
    Returns (rows before, rows written)."""
    alias = router.db_for_write(model)
    connection = connections[alias]
    table = connection.ops.quote_name(model._meta.db_table)
    keys, sums, summed = _columns(model)
    nonzero = " OR ".join(f"SUM({_column(model, name)}) <> 0" for name in model.SUMS)
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _serialise(model, cursor)
            cursor.execute(
                f"WITH gone AS (DELETE FROM {table} RETURNING {keys}, {sums}), "  # noqa: S608
                f"counted AS (SELECT COUNT(*) AS n FROM gone), "
                f"written AS (INSERT INTO {table} ({keys}, {sums}) "
                f"SELECT {keys}, {summed} FROM gone GROUP BY {keys} HAVING {nonzero} "
                f"RETURNING 1) "
                f"SELECT (SELECT n FROM counted), (SELECT COUNT(*) FROM written)"
            )
            before, written = cursor.fetchone()
            return before, written
        # SQLite: the atomic block began IMMEDIATE, so no other writer runs until
        # it commits; the rows up to ``last`` are the ones folded.
        cursor.execute(f"SELECT MAX(id), COUNT(*) FROM {table}")  # noqa: S608
        last, before = cursor.fetchone()
        if last is None:
            return 0, 0
        cursor.execute(
            f"INSERT INTO {table} ({keys}, {sums}) "  # noqa: S608
            f"SELECT {keys}, {summed} FROM {table} WHERE id <= %s "
            f"GROUP BY {keys} HAVING {nonzero}",
            [last],
        )
        written = cursor.rowcount
        cursor.execute(f"DELETE FROM {table} WHERE id <= %s", [last])  # noqa: S608
        return before, written


@dataclass(frozen=True)
class TallyDrift:
    key: Key
    stored: Sums
    recomputed: Sums


def drift(model: type[Tally], source: QuerySet, limit: int = 20) -> tuple[int, list[TallyDrift]]:
    """Compare the tally with ``source``, a grouped queryset of the same KEYS then
    SUMS (``values_list(*KEYS).annotate(...)``) recomputed from the rows: how many
    keys differ, and the first ``limit`` of them."""
    stored = figures(model)
    width = len(model.KEYS)
    recomputed = {}
    for row in source:
        sums = tuple(value or 0 for value in row[width:])
        if any(sums):
            recomputed[tuple(row[:width])] = sums
    zero = (0,) * len(model.SUMS)
    differing = sorted(
        (
            key
            for key in stored.keys() | recomputed.keys()
            if stored.get(key, zero) != recomputed.get(key, zero)
        ),
        key=repr,
    )
    listed = [
        TallyDrift(key, stored.get(key, zero), recomputed.get(key, zero))
        for key in differing[:limit]
    ]
    return len(differing), listed


def rebuild(model: type[Tally], source: QuerySet) -> int:
    """Replace the tally's rows by ``source`` (as for ``drift``), one row per key;
    returns the rows written. One statement on PostgreSQL, so a write committed
    while it runs is either in the source and its delta deleted, or in neither."""
    alias = router.db_for_write(model)
    connection = connections[alias]
    table = connection.ops.quote_name(model._meta.db_table)
    keys, sums, _summed = _columns(model)
    select, params = source.query.sql_with_params()
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _serialise(model, cursor)
            cursor.execute(
                f"WITH gone AS (DELETE FROM {table}) "  # noqa: S608
                f"INSERT INTO {table} ({keys}, {sums}) {select}",
                params,
            )
        else:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608
            cursor.execute(f"INSERT INTO {table} ({keys}, {sums}) {select}", params)
        return cursor.rowcount
