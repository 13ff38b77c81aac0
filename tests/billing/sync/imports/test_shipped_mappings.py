"""The Stripe and Chargebee mappings the data migration ships, on files made in
those exports' layouts (their own extra columns included, which the mapping ignores)."""

import datetime

import pytest

from billing.factories import AccountFactory, AccountingCodeFactory
from billing.models import Account, ImportMapping, Invoice
from billing.sync.imports.mappings import saved_mapping
from tests.billing.sync.imports.helpers import run_import

pytestmark = pytest.mark.django_db

BILL = datetime.date.today() - datetime.timedelta(days=10)
DUE = datetime.date.today() + datetime.timedelta(days=20)


@pytest.fixture(autouse=True)
def _revenue(db):
    AccountingCodeFactory(code="4000", name="Subscription revenue")


def test_the_four_mappings_ship_and_cannot_be_overwritten():
    shipped = set(ImportMapping.objects.filter(builtin=True).values_list("name", "kind"))
    assert shipped == {
        ("Stripe customers", "accounts"),
        ("Stripe invoices", "invoices"),
        ("Chargebee customers", "accounts"),
        ("Chargebee invoices", "invoices"),
    }


def test_a_stripe_customer_export_imports_its_accounts(clerk_actor):
    content = (
        "id,Description,Email,Name,Created (UTC),Currency,Delinquent,Balance\n"
        "cus_Pq1,Key account,ap@acme.example,Acme Corp,2026-01-05 10:00,usd,false,0\n"
        "cus_Pq2,,billing@beta.example,Beta GmbH,2026-02-01 09:30,eur,false,0\n"
    )
    result = run_import(
        "accounts", content, clerk_actor, mapping=saved_mapping("Stripe customers", "accounts")
    )
    assert (result.created, result.refused) == (2, 0), result.problems
    acme = Account.objects.get(external_id="cus_Pq1")
    assert (acme.name, acme.email, acme.currency) == ("Acme Corp", "ap@acme.example", "USD")


def test_a_stripe_invoice_export_imports_sent_invoices(clerk_actor):
    AccountFactory(external_id="cus_Pq1", currency="USD")
    content = (
        "id,Number,Customer,Customer Name,Date (UTC),Due Date (UTC),Currency,Subtotal,Total,"
        "Amount Due,Amount Paid,Status\n"
        f"in_1Ab,ACME-0001,cus_Pq1,Acme Corp,{BILL} 14:03,{DUE} 14:03,usd,99.00,99.00,"
        "99.00,0.00,open\n"
    )
    result = run_import(
        "invoices", content, clerk_actor, mapping=saved_mapping("Stripe invoices", "invoices")
    )
    assert (result.created, result.refused) == (1, 0), result.problems
    invoice = Invoice.objects.get(external_id="in_1Ab")
    assert (invoice.status, invoice.total_minor, invoice.bill_date) == ("sent", 9900, BILL)
    assert invoice.lines.get().description == "ACME-0001"


def test_a_chargebee_customer_export_imports_its_accounts(clerk_actor):
    content = (
        "Customer Id,First Name,Last Name,Email,Company,Phone,Preferred Currency Code,"
        "Auto Collection\n"
        "16BjsK,Ada,Lovelace,ada@acme.example,Acme Corp,,USD,on\n"
    )
    result = run_import(
        "accounts",
        content,
        clerk_actor,
        mapping=saved_mapping("Chargebee customers", "accounts"),
    )
    assert (result.created, result.refused) == (1, 0), result.problems
    assert Account.objects.get(external_id="16BjsK").name == "Acme Corp"


def test_a_chargebee_invoice_export_imports_sent_invoices(clerk_actor):
    AccountFactory(external_id="16BjsK", currency="USD")
    content = (
        "Invoice Number,Invoice Date,Customer Id,Customer Email,Subscription Id,Amount,"
        "Amount Paid,Amount Due,Status,Due Date,Currency\n"
        f"1042,{BILL},16BjsK,ada@acme.example,sub_1,250.00,0.00,250.00,Posted,{DUE},USD\n"
    )
    result = run_import(
        "invoices",
        content,
        clerk_actor,
        mapping=saved_mapping("Chargebee invoices", "invoices"),
    )
    assert (result.created, result.refused) == (1, 0), result.problems
    assert Invoice.objects.get(external_id="1042").total_minor == 25000


def test_a_timestamp_is_read_as_its_date_only_through_a_mapping_that_asks(clerk_actor):
    AccountFactory(external_id="cus_1")
    content = (
        "external_id,account_external_id,bill_date,due_date,line_description,line_amount\n"
        f"in_1,cus_1,{BILL} 14:03,{DUE},Subscription,10.00\n"
    )
    result = run_import("invoices", content, clerk_actor)
    assert [(p.row, p.column) for p in result.problems] == [(2, "bill_date")]
