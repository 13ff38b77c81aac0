import itertools
import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest
from django.core.cache import cache
from hypothesis import settings as hypothesis_settings

from billing.actors import Actor
from billing.factories import AccountFactory, AccountingCodeFactory, InvoiceFactory, UserFactory
from billing.models import AccountingCode
from billing.roles import CLERK, CONTROLLER, SUPERVISOR, VIEWER

# HYPOTHESIS_PROFILE=ci runs the property tests and the stateful ledger test long
# enough to matter (.ci/run, SQLite pass); "dev" keeps a local run quick. "parity" is
# .ci/run's PostgreSQL pass: the same tests and step counts with a tenth of the
# examples, because what that pass proves is that the database behaves the same, and
# the search itself does not depend on the database (the SQLite pass ran it in full).
hypothesis_settings.register_profile("dev", max_examples=50)
hypothesis_settings.register_profile(
    "ci", max_examples=500, deadline=None, stateful_step_count=30, database=None
)
hypothesis_settings.register_profile(
    "parity", max_examples=50, deadline=None, stateful_step_count=30, database=None
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Every user fixture hashes a password; PBKDF2 would add ~0.35 s to each test.
    Tests that check hashing itself can override PASSWORD_HASHERS again."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def _media_folders(tmp_path_factory) -> Iterator[Path]:
    """One numbered folder per test under a session folder; each is made only when
    a test stores a file (the storage creates it). ``tmp_path_factory.mktemp`` per
    test listed every earlier test's folder to pick a number, a cost that grew with
    every test a worker ran."""
    base = tmp_path_factory.mktemp("media")
    return (base / str(number) for number in itertools.count())


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, _media_folders):
    """Uploaded files (imports, case attachments) go to a folder of the test's own,
    never the repository's media/."""
    settings.MEDIA_ROOT = next(_media_folders)


@pytest.fixture(autouse=True)
def _empty_cache():
    """The cache holds the API's failed-authentication counts: each test starts at none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def viewer(db):
    return UserFactory(username="viewer", groups=[VIEWER])


@pytest.fixture
def clerk(db):
    return UserFactory(username="clerk", groups=[CLERK])


@pytest.fixture
def supervisor(db):
    return UserFactory(username="supervisor", groups=[SUPERVISOR])


@pytest.fixture
def controller(db):
    return UserFactory(username="controller", groups=[CONTROLLER])


@pytest.fixture
def controller_actor(controller):
    return Actor.for_user(controller)


@pytest.fixture
def clerk_actor(clerk):
    return Actor.for_user(clerk)


@pytest.fixture
def supervisor_actor(supervisor):
    return Actor.for_user(supervisor)


@pytest.fixture
def account(db):
    return AccountFactory(acct_no=5001, name="Acme Corp")


@pytest.fixture
def invoice(account):
    """A sent invoice of 120.00 with nothing paid, written off or held."""
    return InvoiceFactory(account=account, invoice_no=10023, total_minor=12000)


@pytest.fixture
def expense_code(db):
    return AccountingCodeFactory(
        code="6100", name="Bad debt expense", kind=AccountingCode.Kind.EXPENSE
    )


# Fuzzing modules that count their cases per endpoint, in a module-level ``CASES``.
FUZZ_MODULES = ("tests.test_form_fuzz", "tests.writeoffs.test_api_fuzz")


def pytest_terminal_summary(terminalreporter) -> None:
    """How many cases each fuzzed endpoint took in this run, whatever ran and in any order."""
    cases: Counter[str] = Counter()
    for name in FUZZ_MODULES:
        cases.update(getattr(sys.modules.get(name), "CASES", None) or {})
    if not cases:
        return
    terminalreporter.section("fuzz cases per endpoint")
    for endpoint, count in sorted(cases.items()):
        terminalreporter.write_line(f"{endpoint}: {count}")


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help=(
            "Leave out the tests that cannot reach a database: .ci/run's PostgreSQL pass, "
            "after the SQLite pass ran them (docs/development.md)."
        ),
    )


# Words that make --database-tests-only keep a whole module (see below).
KEEP_WHOLE_MODULE = ("subprocess", "Popen", "getfixturevalue", "django_db_blocker")


def pytest_collection_modifyitems(config, items) -> None:
    """With --database-tests-only, deselect what runs the same on any database.

    pytest-django refuses database access to a test that asks for none (no
    ``django_db`` mark, no ``db``/``transactional_db``/``live_server`` fixture,
    directly or through another fixture), so such a test cannot behave differently
    on PostgreSQL. A module that starts a process (``subprocess``) keeps all its
    tests: the process reads DATABASE_URL and the settings that follow from it. So
    does one that reaches the database in a way collection cannot see: a fixture
    asked for at run time (``request.getfixturevalue``) or ``django_db_blocker``."""
    if not config.getoption("--database-tests-only"):
        return
    from pytest_django.fixtures import _get_databases_for_test

    keep, drop = [], []
    keeps_all: dict[str, bool] = {}
    for item in items:
        path = str(item.path)
        if path not in keeps_all:
            source = item.path.read_text() if item.path.suffix == ".py" else ""
            keeps_all[path] = any(word in source for word in KEEP_WHOLE_MODULE)
        databases, _ = _get_databases_for_test(item)
        (keep if tuple(databases) or keeps_all[path] else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_use_migrations,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """pytest-django's own setup, except that an SQLite test database is a copy of
    one migrated database kept between runs (tests/migrated_template.py) instead of
    being migrated in every worker. PostgreSQL, --reuse-db and --nomigrations take
    pytest-django's path unchanged."""
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _disable_migrations, _get_databases_for_setup

    from tests.migrated_template import restored_sqlite_test_databases

    setup_args = {}
    if not django_db_use_migrations:
        _disable_migrations()
    if django_db_keepdb and not django_db_createdb:
        setup_args["keepdb"] = True
    aliases, serialized_aliases = _get_databases_for_setup(request.session.items)
    verbosity = request.config.option.verbose
    copy_template = restored_sqlite_test_databases() if django_db_use_migrations else nullcontext()
    with django_db_blocker.unblock(), copy_template:
        db_cfg = setup_databases(
            verbosity=verbosity,
            interactive=False,
            aliases=aliases,
            serialized_aliases=serialized_aliases,
            **setup_args,
        )
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            _end_stray_postgresql_sessions()
            teardown_databases(db_cfg, verbosity=verbosity)


def _end_stray_postgresql_sessions() -> None:
    """A connection a test's thread left open (a live server's or a race's thread
    that ended without closing it) makes PostgreSQL refuse to drop the test database
    ("is being accessed by other users"), an error at the last test's teardown that
    says nothing about that test: end such sessions first."""
    from django.db import connections

    for connection in connections.all():
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
