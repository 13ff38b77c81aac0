"""The batch path (``issue_invoices``: bulk inserts and ``post_rows``) posts what the
one-invoice path (``send_locked``, as ``invoice_send``) posts, from the same rule."""

import datetime

import pytest

from billing.factories import AccountFactory, AccountingCodeFactory
from billing.models import Invoice, JournalEntry
from billing.sync.imports.service import import_record
from tests.billing.sync.imports.helpers import run_import

pytestmark = pytest.mark.django_db

BILL = (datetime.date.today() - datetime.timedelta(days=3)).isoformat()
DUE = (datetime.date.today() + datetime.timedelta(days=27)).isoformat()


def entry_of(external_id: str) -> tuple:
    invoice = Invoice.objects.get(external_id=external_id)
    entry = JournalEntry.objects.get(invoice=invoice)
    lines = sorted(
        (line.accounting_code_id, line.debit_minor, line.credit_minor, line.entry_date)
        for line in entry.lines.all()
    )
    memo = entry.memo.replace(str(invoice.invoice_no), "N")
    return (entry.event, entry.entry_date, entry.currency, entry.created_by_label, memo, lines,
            entry.created_by_id)  # fmt: skip


def test_a_batch_posts_each_invoice_as_invoice_send_would(clerk_actor, clerk):
    AccountingCodeFactory(code="4000", name="Subscription revenue")
    AccountFactory(external_id="cus_1")
    header = "external_id,account_external_id,bill_date,due_date,line_description,line_amount\n"
    result = run_import(
        "invoices",
        header + f"in_batch,cus_1,{BILL},{DUE},Subscription,120.00\n"
        f"in_batch,cus_1,{BILL},{DUE},Setup,30.00\n",
        clerk_actor,
    )
    assert result.created == 2
    rows = [
        {"account_external_id": "cus_1", "bill_date": BILL, "due_date": DUE,
         "line_description": "Subscription", "line_amount": "120.00"},
        {"account_external_id": "cus_1", "bill_date": BILL, "due_date": DUE,
         "line_description": "Setup", "line_amount": "30.00"},
    ]  # fmt: skip
    single = import_record(kind="invoices", external_id="in_one", rows=rows, actor=clerk_actor)
    assert single.outcome == "created"
    assert entry_of("in_batch") == entry_of("in_one")
    assert entry_of("in_batch")[-1] == clerk.pk
    batch = Invoice.objects.get(external_id="in_batch")
    assert batch.history.filter(history_type="+").count() == 1
