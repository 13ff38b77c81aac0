"""The tallies' migrations (billing 0018 and 0020, writeoffs 0022 and 0023) on a
database that had invoices, write-offs and a journal before the tallies existed: each
tally is built from its rows, one INSERT ... SELECT each."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from billing import tallies
from billing.ledger.aggregates import verify_aggregates
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
    expected = {model: tallies.figures(model) for model, _source in tallies.registered()}
    assert all(expected[model] for model in (MonthTally, AnalysisTally, AnalysisMonthTally))
    try:
        migrate(BEFORE)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    for model, figures in expected.items():
        assert tallies.figures(model) == figures
        assert model.objects.count() == len(figures)
    assert verify_aggregates(10).ok
