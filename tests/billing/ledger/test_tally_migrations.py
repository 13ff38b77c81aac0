"""Migrations billing 0018 and writeoffs 0022 on a database that had a journal before
the tallies existed: each tally is built from the lines, one INSERT ... SELECT each."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from billing import tallies
from billing.ledger import journal_tallies
from billing.models import MonthTally
from billing.rules import today
from tests.writeoffs.test_recovered_reports import recovered_invoice
from writeoffs.models import AnalysisMonthTally, AnalysisTally

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BEFORE = [("writeoffs", "0021_report_jobs"), ("billing", "0017_journal_aggregates")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def test_the_migrations_build_the_tallies_of_an_existing_journal(account, supervisor_actor):
    recovered_invoice(account, supervisor_actor, today() - datetime.timedelta(days=40))
    expected = {
        model: tallies.figures(model) for model in (MonthTally, AnalysisTally, AnalysisMonthTally)
    }
    assert all(expected.values())
    try:
        migrate(BEFORE)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    for model, figures in expected.items():
        assert tallies.figures(model) == figures
        assert model.objects.count() == len(figures)
    assert journal_tallies.verify(10).ok
