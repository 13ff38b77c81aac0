"""The test database each worker gets (a copy of one migrated database on SQLite,
tests/migrated_template.py) is what ``migrate`` leaves: every migration applied,
and the rows post_migrate seeds in place."""

from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from billing.ledger.codes import control_codes
from billing.roles import ROLES


def test_every_migration_is_applied(db):
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


def test_the_groups_and_control_codes_are_seeded(db):
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    assert all(Group.objects.get(name=name).permissions.exists() for name in ROLES)
    assert control_codes()
