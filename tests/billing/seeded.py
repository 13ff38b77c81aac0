"""One seeded ledger shared by a module's tests instead of one seed per test.

Seeding even a small ledger is one of the costliest steps in the quick loop, and many
tests only read what the seed made (or change it and look, inside their own test
transaction). ``seed_once`` seeds inside a transaction held open for the module: each
test's own transaction (pytest-django's ``django_db``) is a savepoint inside it, so
what one test changes is rolled back before the next, and the seed itself is rolled
back when the module ends. Every test of such a module must want the seeded ledger: a
module-scoped fixture stays in place for the module's later tests too.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management import call_command
from django.db import transaction
from django.test.utils import override_settings


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@contextmanager
def seed_once(django_db_blocker, *args: str) -> Iterator[str]:
    """``seed_billing *args`` once, as a developer runs it (DEBUG on); yields its output
    while the seeded rows stay, then rolls them back."""
    with django_db_blocker.unblock(), transaction.atomic():
        with override_settings(
            DEBUG=True, PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
        ):
            output = run("seed_billing", *args)
        try:
            yield output
        finally:
            transaction.set_rollback(True)
