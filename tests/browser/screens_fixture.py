"""Demo-like data for walking every screen (tests/browser/test_screens.py).

The demo seed (``seed_billing``, a few accounts) plus what makes a screen wide or
long on a real working day: an account with a long name and amounts in the
billions, write-offs waiting for approval (with long comments), many open dispute
holds (the worklist) and a draft bulk run.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection

from billing.actors import Actor
from billing.factories import AccountFactory, InvoiceFactory
from billing.models import Account, ImportRun, Invoice, Payment
from billing.receivables.payments import payment_record
from billing.rules import today
from billing.sync.imports.runs import import_run_check
from writeoffs.bulk.runs import bulk_run_create
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.models import BulkRun, DisputeHold, ReportJob, WriteOff
from writeoffs.reports.jobs import report_job_request, report_job_run

LONG_NAME = "Consolidated International Widget Manufacturing & Professional Services Holdings GmbH"
LONG_COMMENT = (
    "Customer disputes the renewal price agreed with their account manager; "
    "credit approved by the regional sales director after a long review"
)


@dataclass
class Walk:
    account: Account
    invoice: Invoice
    run: BulkRun
    pending: WriteOff  # the clerk's, waiting for approval
    active: WriteOff  # the supervisor's, within their limit
    hold: DisputeHold
    payment: Payment
    import_run: ImportRun  # a checked accounts file with one refused row
    job: ReportJob  # the supervisor's finished aging job


def build_walk_ledger(clerk, supervisor) -> Walk:
    call_command(
        "seed_billing",
        "--accounts", "8",
        "--invoices-per-account", "15",
        "--allow-production-database", str(connection.settings_dict["NAME"]),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )  # fmt: skip
    clerk_actor, supervisor_actor = Actor.for_user(clerk), Actor.for_user(supervisor)
    big = AccountFactory(acct_no=999001, name=LONG_NAME, currency="EUR")
    t = today()
    invoices = [
        InvoiceFactory(
            account=big,
            invoice_no=990000 + n,
            bill_date=t - datetime.timedelta(days=30 * n + 5),
            due_date=t - datetime.timedelta(days=30 * n - 25),
            total_minor=98_765_432_109 + n,
        )
        for n in range(16)
    ]
    # Above the clerk's limit: each waits in the Approvals queue.
    pending = [
        writeoff_create(
            invoice_id=invoice.pk,
            amount="1234567.89",
            reason_code=0,
            comments=LONG_COMMENT,
            actor=clerk_actor,
        )
        for invoice in invoices[:6]
    ]
    # The disputes worklist: an open hold on each of the others.
    holds = [
        dispute_hold_create(
            invoice_id=invoice.pk,
            amount="7654321.98",
            comments=LONG_COMMENT,
            actor=clerk_actor,
        )
        for invoice in invoices[6:]
    ]
    payment = payment_record(
        invoice_id=invoices[1].pk, amount="123456.78", actor=clerk_actor, reference="WIRE-2026-0042"
    )
    active = writeoff_create(
        invoice_id=invoices[0].pk,
        amount="250.00",
        reason_code=0,
        comments=LONG_COMMENT,
        actor=supervisor_actor,
    )
    run = bulk_run_create(
        actor=clerk_actor,
        max_balance={"USD": "5.00", "EUR": "5.00"},
        older_than_days=30,
        reason_code=0,
        comments="Month-end small balances",
    )
    import_run = ImportRun.objects.create(
        kind="accounts",
        file=ContentFile(
            b"external_id,name,currency\nwalk-1,Walk Traders,USD\nwalk-2,Walk Two,dollars\n",
            name="walk.csv",
        ),
        original_name="walk.csv",
        created_by=clerk,
    )
    import_run_check(import_run.pk)
    job = report_job_request(kind="aging", as_of=t, actor=supervisor_actor)
    return Walk(
        import_run=import_run,
        job=report_job_run(job.pk),
        account=big,
        invoice=invoices[0],
        run=run,
        pending=pending[0],
        active=active,
        hold=holds[0],
        payment=payment,
    )
