"""Rows written in bulk: each model's rows start from a factory-built prototype and go
to the database with ``executemany``, primary keys handed out here so that children
can point at parents without reading anything back."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, cast

from django.db import connection, models
from django.db.models import DateTimeField, Func, Max

# Rows per executemany call.
INSERT_CHUNK = 5000


def moment(day: datetime.date) -> datetime.datetime:
    """When a seeded event happened on ``day``: 15:00 UTC (``MomentOf`` in SQL)."""
    return datetime.datetime.combine(day, datetime.time(15, 0), tzinfo=datetime.UTC)


def _remembered(adapt: Callable[[Any], object]) -> Callable[[object], object]:
    seen: dict[object, object] = {}

    def convert(value: object) -> object:
        try:
            return seen[value]
        except KeyError:
            seen[value] = adapted = adapt(value)
            return adapted

    return convert


class MomentOf(Func):
    """``moment`` in SQL: 15:00 UTC on a date, in each backend's own date arithmetic.
    Django's portable date + duration calls a Python function per row on SQLite,
    which cost about as much as inserting the row (measured)."""

    output_field = DateTimeField()
    template = "((%(expressions)s + TIME '15:00') AT TIME ZONE 'UTC')"

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite's format for Django's datetimes: UTC, "YYYY-MM-DD HH:MM:SS".
        return self.as_sql(
            compiler, connection, template="datetime(%(expressions)s, '+15 hours')", **extra_context
        )


class RowWriter:
    """Rows of one model, starting from a factory-built prototype, inserted with
    ``executemany``. Primary keys are handed out here, from after the table's
    current maximum."""

    def __init__(self, model: type[models.Model], prototype: models.Model) -> None:
        fields = model._meta.concrete_fields
        self.model = model
        self.attnames = [f.attname for f in fields]
        self._defaults = {
            f.attname: f.get_db_prep_save(
                f.pre_save(prototype, add=True)
                if getattr(f, "auto_now_add", False)
                else getattr(prototype, f.attname),
                connection,
            )
            for f in fields
        }
        # Only dates and times need the backend's conversion; ints, strings and
        # booleans go to the driver as they are. They go straight to the backend's
        # adapter (where get_db_prep_save ends up), remembered per value: a million
        # invoices share a few hundred dates, and the field's whole conversion chain
        # was a third of the seed's time in its profile.
        adapters = {
            "DateField": connection.ops.adapt_datefield_value,
            "DateTimeField": connection.ops.adapt_datetimefield_value,
        }
        self._convert = {
            f.attname: _remembered(adapters[f.get_internal_type()])
            for f in fields
            if f.get_internal_type() in adapters
        }
        quote = connection.ops.quote_name
        self.sql = (
            f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
            f"({', '.join(quote(cast(str, f.column)) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        self.next_id = (model._default_manager.aggregate(m=Max("pk"))["m"] or 0) + 1
        self.rows: list[tuple] = []
        self.count = 0

    def reserve(self) -> int:
        """A primary key for a row that will be added later (an invoice whose
        totals are known only once its children are built)."""
        pk = self.next_id
        self.next_id += 1
        return pk

    def add(self, pk: int | None = None, **values: object) -> int:
        if pk is None:
            pk = self.reserve()
        row = self._defaults.copy()
        row["id"] = pk
        convert = self._convert
        for name, value in values.items():
            row[name] = convert[name](value) if name in convert else value
        self.rows.append(tuple(row[name] for name in self.attnames))
        return pk

    def flush(self) -> None:
        with connection.cursor() as cursor:
            for start in range(0, len(self.rows), INSERT_CHUNK):
                cursor.executemany(self.sql, self.rows[start : start + INSERT_CHUNK])
        self.count += len(self.rows)
        self.rows.clear()
