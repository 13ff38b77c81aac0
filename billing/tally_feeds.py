"""Database triggers that feed a tally (``billing.models.tallies.Tally``) from the
table it sums: the SQL of each vendor, generated from one small description.

Why triggers rather than a call in each service: every path that changes a source
row (the services, the seed's bulk ``UPDATE ... FROM`` of AR balances, the imports'
batch path, admin, a hand-written repair) moves the tally in the same transaction,
with nothing to remember. The trigger only inserts rows of deltas, so writers share
no tally row and queue on nothing.

- **PostgreSQL:** statement-level triggers with transition tables: one grouped
  ``INSERT ... SELECT`` per statement, so a bulk load of a million rows writes one
  delta per key and batch, not a million. An UPDATE subtracts the old rows' figures
  and adds the new ones', per key; a key whose delta nets to zero (a change of a
  column the tally does not read) writes nothing.
- **SQLite:** row-level triggers; the UPDATE one fires only when a watched column
  changed (``WHEN``), and writes one row of differences when the keys stayed, two
  (the old figures out, the new in) when they moved.

The migrations that create a tally install its feed (``install_sql``) and build the
tally from the existing rows (``build_sql``) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feed:
    """``source`` table's rows summed into ``tally`` table: ``keys`` are (tally column,
    source column); ``sums`` (tally column, SQL expression over one source row, whose
    columns are written ``{row}.name``). ``watched`` lists every source column the
    keys and sums read."""

    name: str
    source: str
    tally: str
    keys: tuple[tuple[str, str], ...]
    sums: tuple[tuple[str, str], ...]
    watched: tuple[str, ...]

    def _columns(self) -> str:
        return ", ".join([column for column, _ in self.keys] + [column for column, _ in self.sums])

    def _keys(self, row: str) -> list[str]:
        return [f"{row}.{column}" for _, column in self.keys]

    def _sums(self, row: str) -> list[str]:
        return [f"({expression.format(row=row)})" for _, expression in self.sums]


def _nonzero(values: list[str]) -> str:
    return " OR ".join(f"{value} <> 0" for value in values)


def _grouped_insert(feed: Feed, parts: list[tuple[str, str]]) -> str:
    """INSERT of the per-key sums of ``parts``: (transition table, sign) pairs."""
    key_names = [f"k{n}" for n in range(len(feed.keys))]
    sum_names = [f"s{n}" for n in range(len(feed.sums))]
    selects = [
        "SELECT "  # noqa: S608 (names from a migration, no input)
        + ", ".join(
            [f"{key} AS {name}" for key, name in zip(feed._keys("r"), key_names, strict=True)]
            + [f"{sign}{s} AS {name}" for s, name in zip(feed._sums("r"), sum_names, strict=True)]
        )
        + f" FROM {table} AS r"
        for table, sign in parts
    ]
    summed = [f"SUM({name})" for name in sum_names]
    return (
        f"INSERT INTO {feed.tally} ({feed._columns()}) "  # noqa: S608 (names from a migration, no input)
        f"SELECT {', '.join(key_names + summed)} FROM ({' UNION ALL '.join(selects)}) AS d "
        f"GROUP BY {', '.join(key_names)} HAVING {_nonzero(summed)};"
    )


def _postgresql(feed: Feed) -> list[str]:
    function = f"{feed.name}_feed"
    body = (
        f"BEGIN IF TG_OP = 'INSERT' THEN {_grouped_insert(feed, [('new_rows', '')])} "
        f"ELSIF TG_OP = 'DELETE' THEN {_grouped_insert(feed, [('old_rows', '-')])} "
        f"ELSE {_grouped_insert(feed, [('new_rows', ''), ('old_rows', '-')])} "
        "END IF; RETURN NULL; END;"
    )
    statements = [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql "
        f"AS $feed$ {body} $feed$"
    ]
    for event, tables in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        trigger = f"{feed.name}_{event.lower()}"
        statements += [
            f"DROP TRIGGER IF EXISTS {trigger} ON {feed.source}",
            f"CREATE TRIGGER {trigger} AFTER {event} ON {feed.source} REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    return statements


def _row_insert(feed: Feed, row: str, sign: str, condition: str = "") -> str:
    sums = [f"{sign}{s}" for s in feed._sums(row)]
    where = _nonzero(feed._sums(row))
    if condition:
        where = f"({condition}) AND ({where})"
    return (
        f"INSERT INTO {feed.tally} ({feed._columns()}) "
        f"SELECT {', '.join(feed._keys(row) + sums)} WHERE {where};"
    )


def _sqlite(feed: Feed) -> list[str]:
    same_keys = " AND ".join(f"NEW.{c} IS OLD.{c}" for _, c in feed.keys)
    differences = [
        f"{new} - {old}" for new, old in zip(feed._sums("NEW"), feed._sums("OLD"), strict=True)
    ]
    changed = " OR ".join(f"NEW.{column} IS NOT OLD.{column}" for column in feed.watched)
    update = (
        f"INSERT INTO {feed.tally} ({feed._columns()}) "
        f"SELECT {', '.join(feed._keys('NEW') + differences)} "
        f"WHERE ({same_keys}) AND ({_nonzero(differences)}); "
        + _row_insert(feed, "OLD", "-", f"NOT ({same_keys})")
        + " "
        + _row_insert(feed, "NEW", "", f"NOT ({same_keys})")
    )
    return [
        f"DROP TRIGGER IF EXISTS {feed.name}_insert",
        f"CREATE TRIGGER {feed.name}_insert AFTER INSERT ON {feed.source} FOR EACH ROW "
        f"BEGIN {_row_insert(feed, 'NEW', '')} END",
        f"DROP TRIGGER IF EXISTS {feed.name}_delete",
        f"CREATE TRIGGER {feed.name}_delete AFTER DELETE ON {feed.source} FOR EACH ROW "
        f"BEGIN {_row_insert(feed, 'OLD', '-')} END",
        f"DROP TRIGGER IF EXISTS {feed.name}_update",
        f"CREATE TRIGGER {feed.name}_update AFTER UPDATE OF {', '.join(feed.watched)} "
        f"ON {feed.source} FOR EACH ROW WHEN {changed} BEGIN {update} END",
    ]


def install_sql(feed: Feed, vendor: str) -> list[str]:
    """The statements that (re)create ``feed``'s triggers on ``vendor``."""
    if vendor == "postgresql":
        return _postgresql(feed)
    if vendor == "sqlite":
        return _sqlite(feed)
    raise NotImplementedError(f"tally feeds are written for PostgreSQL and SQLite, not {vendor}")


def uninstall_sql(feed: Feed, vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {feed.name}_{event} ON {feed.source}"
            for event in ("insert", "update", "delete")
        ] + [f"DROP FUNCTION IF EXISTS {feed.name}_feed()"]
    return [
        f"DROP TRIGGER IF EXISTS {feed.name}_{event}" for event in ("insert", "update", "delete")
    ]


def build_sql(feed: Feed) -> str:
    """One INSERT ... SELECT ... GROUP BY of the source's figures per key (both
    vendors): the tally of the rows there are, for a migration or a rebuild."""
    return _grouped_insert(feed, [(feed.source, "")]).rstrip(";")


def install(feed: Feed, schema_editor) -> None:
    """For a migration's ``RunPython``: the feed's triggers, then its tally built from
    the rows there are (the triggers, created first, lock the source table on
    PostgreSQL until the migration commits, so no write falls between the two)."""
    for statement in install_sql(feed, schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)
    schema_editor.execute(f"DELETE FROM {feed.tally}", params=None)  # noqa: S608 (names from a migration, no input)
    schema_editor.execute(build_sql(feed), params=None)


def uninstall(feed: Feed, schema_editor) -> None:
    for statement in uninstall_sql(feed, schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)
