"""Start ``manage.py db_worker`` as a real process against the test database.

The test database is a file (SQLite) or a server database (PostgreSQL), so a
worker process sees what the test committed; tests that use it need
``transaction=True`` (or ``live_server``), since a worker cannot see a test's
open transaction.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def test_database_env() -> dict[str, str]:
    """Environment variables that point a new process at the current test database."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": str(db["NAME"]), "DATABASE_URL": ""}
    auth = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return {"DATABASE_URL": f"postgres://{auth}@{host}/{db['NAME']}"}


def start_worker(
    worker_id: str,
    *,
    batch: bool = False,
    extra_env: dict[str, str] | None = None,
    queues: str | None = None,
) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "billing.settings",
        **test_database_env(),
        **(extra_env or {}),
    }
    command = [
        sys.executable,
        "manage.py",
        "db_worker",
        "--no-reload",
        "--no-startup-delay",
        "--interval",
        "0.1",
        "--worker-id",
        worker_id,
    ]
    if batch:
        command.append("--batch")
    if queues:
        command += ["--queue-name", queues]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
