"""Taxed invoice lines in the import: the one rule of a line's tax (``line_tax``, which
``invoice_line_add`` applies too) read from ``tax_code`` and ``line_tax_amount``,
written by the batch path and by the one-invoice path, posted by the one rule."""

import datetime

import pytest

from billing.errors import (
    INVALID_AMOUNT,
    INVALID_INPUT,
    MALFORMED_AMOUNT,
    MISSING_INPUT,
    BillingError,
)
from billing.factories import AccountFactory, AccountingCodeFactory
from billing.models import Invoice, JournalEntry, TaxRate
from billing.receivables.invoices import line_tax
from billing.sync.imports.batch import HISTORY_REASON
from billing.sync.imports.service import import_record
from billing.verification import verify_ledger
from tests.billing.sync.imports.helpers import problems_of, run_import

pytestmark = pytest.mark.django_db

BILL = (datetime.date.today() - datetime.timedelta(days=5)).isoformat()
DUE = (datetime.date.today() + datetime.timedelta(days=25)).isoformat()
HEADER = (
    "external_id,account_external_id,bill_date,due_date,line_description,line_amount,"
    "tax_code,line_tax_amount\n"
)


@pytest.fixture
def customer(db):
    AccountingCodeFactory(code="4000", name="Subscription revenue")
    return AccountFactory(external_id="cus_1", currency="USD")


def taxed_csv(*lines: str) -> str:
    """Rows of ``description,amount,tax_code,tax_amount`` after the invoice's columns."""
    return HEADER + "".join(line + "\n" for line in lines)


def row(external_id: str, rest: str) -> str:
    return f"{external_id},cus_1,{BILL},{DUE},{rest}"


def entry_lines(external_id: str) -> list[tuple[str, int, int]]:
    invoice = Invoice.objects.get(external_id=external_id)
    entry = JournalEntry.objects.get(invoice=invoice, event="invoice_sent")
    return sorted(
        (line.accounting_code.code, line.debit_minor, line.credit_minor)
        for line in entry.lines.all()
    )


def test_a_taxed_file_posts_ar_gross_revenue_net_and_the_rates_payable_code(clerk_actor, customer):
    result = run_import("invoices", taxed_csv(row("in_1", "Seats,100.00,STD20,")), clerk_actor)
    assert (result.created, result.refused) == (1, 0)
    invoice = Invoice.objects.get(external_id="in_1")
    assert (invoice.total_minor, invoice.tax_minor, invoice.status) == (12000, 2000, "sent")
    line = invoice.lines.get()
    assert (line.amount_minor, line.tax_minor, line.tax_rate.code) == (10000, 2000, "STD20")
    assert entry_lines("in_1") == [("1200", 12000, 0), ("2200", 0, 2000), ("4000", 0, 10000)]
    assert verify_ledger(limit=20).ok


def test_the_one_invoice_path_writes_and_posts_a_taxed_invoice_the_same(clerk_actor, customer):
    rows = [
        {"account_external_id": "cus_1", "bill_date": BILL, "due_date": DUE,
         "line_description": "Seats", "line_amount": "100.00", "tax_code": "STD20"},
        {"account_external_id": "cus_1", "bill_date": BILL, "due_date": DUE,
         "line_description": "Setup", "line_amount": "5.00"},
    ]  # fmt: skip
    single = import_record(kind="invoices", external_id="in_one", rows=rows, actor=clerk_actor)
    assert single.outcome == "created"
    invoice = Invoice.objects.get(external_id="in_one")
    assert (invoice.total_minor, invoice.tax_minor) == (12500, 2000)
    assert entry_lines("in_one") == [("1200", 12500, 0), ("2200", 0, 2000), ("4000", 0, 10500)]
    assert verify_ledger(limit=20).ok


def test_a_given_tax_amount_is_kept_as_given_and_a_rerun_is_unchanged(clerk_actor, customer):
    content = taxed_csv(
        row("in_1", "Seats,100.00,STD20,19.99"),
        row("in_1", "Setup,5.00,,"),
        row("in_2", "Support,10.00,,"),
    )
    first = run_import("invoices", content, clerk_actor)
    assert (first.created, first.refused) == (3, 0)
    assert Invoice.objects.get(external_id="in_1").tax_minor == 1999
    again = run_import("invoices", content, clerk_actor)
    assert (again.unchanged, again.created, again.updated, again.refused) == (3, 0, 0, 0)
    assert JournalEntry.objects.filter(event="invoice_sent").count() == 2
    assert verify_ledger(limit=20).ok


@pytest.mark.parametrize(
    ("tax_code", "tax_amount", "column", "code"),
    [
        ("VAT99", "", "tax_code", INVALID_INPUT),
        ("", "2.00", "tax_code", MISSING_INPUT),
        ("STD20", "10.00", "line_tax_amount", INVALID_AMOUNT),
        ("STD20", "1,00", "line_tax_amount", MALFORMED_AMOUNT),
    ],
)
def test_bad_tax_is_refused_in_its_column_with_the_services_message_and_code(
    clerk_actor, customer, tax_code, tax_amount, column, code
):
    # Quoted: "1,00" is one field.
    content = taxed_csv(row("in_1", f'Seats,10.00,{tax_code},"{tax_amount}"'))
    result = run_import("invoices", content, clerk_actor)
    assert problems_of(result) == [(2, column)]
    with pytest.raises(BillingError) as service:
        line_tax("USD", 1000, tax_code, tax_amount)
    assert (result.problems[0].message, result.problems[0].code) == (
        service.value.message,
        code,
    )
    assert service.value.code == code
    assert not Invoice.objects.exists()


def test_an_inactive_rate_is_refused_like_an_unknown_one(clerk_actor, customer):
    TaxRate.objects.filter(code="STD20").update(active=False)
    result = run_import("invoices", taxed_csv(row("in_1", "Seats,10.00,STD20,")), clerk_actor)
    assert problems_of(result) == [(2, "tax_code")]


def test_a_rerun_after_its_rate_was_deactivated_is_unchanged_but_a_new_invoice_is_refused(
    clerk_actor, customer
):
    run_import("invoices", taxed_csv(row("in_1", "Seats,100.00,STD20,")), clerk_actor)
    TaxRate.objects.filter(code="STD20").update(active=False)
    content = taxed_csv(row("in_1", "Seats,100.00,STD20,"), row("in_2", "Seats,100.00,STD20,"))
    again = run_import("invoices", content, clerk_actor)
    assert (again.unchanged, again.refused) == (1, 1)
    assert problems_of(again) == [(3, "tax_code")]


def test_a_changed_tax_on_a_sent_invoice_is_refused_in_the_tax_columns(clerk_actor, customer):
    payable = TaxRate.objects.get(code="STD20").payable_code
    TaxRate.objects.create(code="ALT20", name="Another 20 %", rate=20, payable_code=payable)
    run_import("invoices", taxed_csv(row("in_1", "Seats,100.00,STD20,")), clerk_actor)

    other_amount = run_import(
        "invoices", taxed_csv(row("in_1", "Seats,100.00,STD20,19.00")), clerk_actor
    )
    untaxed = run_import("invoices", taxed_csv(row("in_1", "Seats,100.00,,")), clerk_actor)
    other_rate = run_import("invoices", taxed_csv(row("in_1", "Seats,100.00,ALT20,")), clerk_actor)

    assert problems_of(other_amount) == [(2, "line_tax_amount")]
    assert "never changes" in other_amount.problems[0].message
    assert problems_of(untaxed) == [(2, "tax_code")]
    assert problems_of(other_rate) == [(2, "tax_code")]
    invoice = Invoice.objects.get(external_id="in_1")
    assert (invoice.total_minor, invoice.tax_minor) == (12000, 2000)
    assert JournalEntry.objects.filter(invoice=invoice).count() == 1


def test_a_batch_of_taxed_and_untaxed_invoices_posts_each_as_the_one_invoice_path_does(
    clerk_actor, customer
):
    # Every other invoice taxed, in one batch: the untaxed ones posted by post_rows,
    # the taxed ones by post_invoice_sent; each entry as the one-invoice path posts it.
    lines = []
    for n in range(40):
        tax = "STD20," if n % 2 else ","
        lines.append(row(f"in_{n}", f"Seats,{n + 10}.33,{tax}"))
        lines.append(row(f"in_{n}", "Setup,1.00,,"))
    result = run_import("invoices", taxed_csv(*lines), clerk_actor)
    assert (result.created, result.refused) == (80, 0)  # rows
    # Written by the batch (issue_invoices), not left to the one-invoice path.
    assert Invoice.history.filter(history_change_reason=HISTORY_REASON).count() == 40
    # Numbered in file order, taxed or not.
    numbers = list(Invoice.objects.order_by("pk").values_list("invoice_no", flat=True))
    assert numbers == sorted(numbers)
    std20 = TaxRate.objects.get(code="STD20")
    for n in range(40):
        seats = (n + 10) * 100 + 33
        net = seats + 100
        tax = std20.tax_on_minor(seats) if n % 2 else 0
        expected = [("1200", net + tax, 0), ("4000", 0, net)]
        if tax:
            expected.insert(1, ("2200", 0, tax))
        assert entry_lines(f"in_{n}") == expected
    rows = [
        {"account_external_id": "cus_1", "bill_date": BILL, "due_date": DUE,
         "line_description": "Seats", "line_amount": "11.33", "tax_code": "STD20"},
        {"account_external_id": "cus_1", "bill_date": BILL, "due_date": DUE,
         "line_description": "Setup", "line_amount": "1.00"},
    ]  # fmt: skip
    import_record(kind="invoices", external_id="in_one", rows=rows, actor=clerk_actor)
    assert entry_lines("in_one") == entry_lines("in_1")
    assert verify_ledger(limit=200).ok
