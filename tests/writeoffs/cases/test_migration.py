"""Migration 0017 on a database that had dispute holds before cases existed: every
open hold becomes a one-hold case in category "other"; settled holds stay without."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# Billing is held at the migration before tax (0016) as well: tax and the journal's
# aggregates add NOT NULL columns to invoices that the historical Invoice of 0016 does
# not know.
BILLING_BEFORE_TAX = ("billing", "0015_shipped_import_mappings")
BEFORE = [("writeoffs", "0016_dispute_cases"), BILLING_BEFORE_TAX]
AFTER = [("writeoffs", "0017_case_lists_and_existing_holds"), BILLING_BEFORE_TAX]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_open_holds_get_one_hold_cases_and_settled_holds_none():
    apps = migrate(BEFORE)
    try:
        Account = apps.get_model("billing", "Account")
        Invoice = apps.get_model("billing", "Invoice")
        DisputeHold = apps.get_model("writeoffs", "DisputeHold")
        account = Account.objects.create(acct_no=9001, name="Old Co", currency="USD")
        today = timezone.localdate()
        invoice = Invoice.objects.create(
            account=account,
            invoice_no=90001,
            currency="USD",
            bill_date=today,
            due_date=today,
            aging_date=today,
            total_minor=10000,
            held_minor=3000,
            status="sent",
        )
        common = {
            "account": account,
            "invoice": invoice,
            "comments": "Old dispute",
            "reason_code": 9001,
            "expire_hold_days": 30,
            "expires_on": today + datetime.timedelta(days=30),
        }
        open_holds = [
            DisputeHold.objects.create(amount_minor=amount, **common) for amount in (1000, 2000)
        ]
        settled = DisputeHold.objects.create(
            amount_minor=500,
            status="released",
            settled_at=timezone.now(),
            settled_on=today,
            **common,
        )

        apps = migrate(AFTER)

        DisputeHold = apps.get_model("writeoffs", "DisputeHold")
        Case = apps.get_model("writeoffs", "Case")
        cases = {hold.pk: hold.case for hold in DisputeHold.objects.select_related("case")}
        assert cases[settled.pk] is None
        made = [cases[hold.pk] for hold in open_holds]
        assert [case.number for case in made] == [1, 2]
        assert {(case.status, case.category.code, case.account_id) for case in made} == {
            ("open", "other", account.pk)
        }
        assert all(case.due_date == today + datetime.timedelta(days=30) for case in made)
        assert Case.objects.count() == 2
        assert apps.get_model("writeoffs", "CaseNumber").objects.get().last_number == 2
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
