"""One migrated SQLite database per set of migrations, copied into each test database.

Migrating a test database costs about ten seconds, and every pytest-xdist worker
(and every run) paid it again. On SQLite the first worker to arrive migrates as
usual and keeps a copy of the result under the temporary directory, named by a
hash of the migrations; every later worker and run copies that file into its own
test database with SQLite's backup API and runs the post_migrate handlers on it
instead of migrating. A file lock keeps two workers from building it at once.

The copy is the migrated database itself, so ``django_migrations`` and the rows
the data migrations and post_migrate write are all there: tests that inspect
migration state see exactly what ``migrate`` left. PostgreSQL, ``--reuse-db`` and
``--nomigrations`` keep pytest-django's path.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import django
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections

CACHE_DIR = Path(tempfile.gettempdir()) / "ar-writeoffs-migrated"


def _schema_key() -> str:
    """A hash of what decides the migrated schema and its seeded rows: every installed
    app's migrations (the project's are self-contained: they import no app code) and
    Django's and Python's versions. What post_migrate seeds from the code (groups,
    permissions, control codes) is put right after each copy (``_seed``)."""
    digest = hashlib.sha256(f"{django.__version__} {sys.version}".encode())
    for app in sorted(apps.get_app_configs(), key=lambda app: app.label):
        migrations = Path(app.path) / "migrations"
        for path in sorted(migrations.glob("*.py")) if migrations.is_dir() else ():
            digest.update(f"{app.label}/{path.name}".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _seed(alias: str) -> None:
    """Run the post_migrate handlers on a copy, as ``migrate`` would have: they are
    idempotent (a test database flush runs them too), so a copy made before a role's
    permissions or a setting's control code changed is brought up to date."""
    emit_post_migrate_signal(verbosity=0, interactive=False, db=alias)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _copy(source: str, target: str) -> None:
    """Copy one SQLite database file into another, page by page, consistently."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@contextmanager
def restored_sqlite_test_databases() -> Iterator[None]:
    """While active, creating an SQLite test database copies the cached migrated
    one (building it first if no run has yet) instead of running migrate."""
    patched: list[tuple[object, Callable[..., str]]] = []
    for alias in connections:
        connection = connections[alias]
        if connection.vendor != "sqlite" or connection.is_in_memory_db():
            continue
        creation = connection.creation
        original = creation.create_test_db

        def create_test_db(
            verbosity: int = 1,
            autoclobber: bool = False,
            serialize: bool | None = None,
            keepdb: bool = False,
            *,
            connection=connection,
            original=original,
        ) -> str:
            creation = connection.creation
            name = creation._get_test_db_name()
            if keepdb or creation.is_in_memory_db(name):
                return original(verbosity, autoclobber, serialize, keepdb)
            template = CACHE_DIR / f"{connection.alias}-{_schema_key()}.sqlite3"
            with _locked(template.with_suffix(".lock")):
                copied = template.exists()
                if copied:
                    connection.close()
                    for leftover in (name, f"{name}-wal", f"{name}-shm"):
                        if os.path.exists(leftover):
                            os.remove(leftover)
                    _copy(str(template), name)
                else:
                    original(verbosity, autoclobber, keepdb=False)
                    connection.close()
                    partial = template.with_suffix(".partial")
                    _copy(name, str(partial))
                    partial.replace(template)
            settings.DATABASES[connection.alias]["NAME"] = name
            connection.settings_dict["NAME"] = name
            if copied:
                _seed(connection.alias)
            call_command("createcachetable", database=connection.alias)
            # Django's setup_databases serializes the databases a test asks to roll back
            # to (serialized_rollback) itself, after creating them all; serializing here
            # too, for every worker, only cost time. An explicit serialize=True (the
            # deprecated argument) is still honoured.
            if serialize:
                connection._test_serialized_contents = creation.serialize_db_to_string()
            connection.ensure_connection()
            return name

        creation.create_test_db = create_test_db  # type: ignore[method-assign]
        patched.append((creation, original))
    try:
        yield
    finally:
        for creation, original in patched:
            creation.create_test_db = original  # type: ignore[attr-defined]
