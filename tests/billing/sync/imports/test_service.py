import datetime

import pytest

from billing.errors import BODY_TOO_LARGE, PERMISSION_DENIED, BillingError
from billing.factories import AccountFactory, AccountingCodeFactory
from billing.models import Account, Invoice, JournalEntry, Payment
from billing.verification import verify_ledger
from tests.billing.sync.imports.helpers import problems_of, run_import

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
BILL = (TODAY - datetime.timedelta(days=20)).isoformat()
DUE = (TODAY + datetime.timedelta(days=10)).isoformat()

ACCOUNTS = (
    "external_id,name,currency,email,status\n"
    "cus_1,Acme Corp,USD,ar@acme.example,active\n"
    'cus_2,=HYPERLINK("x"),EUR,,\n'
)


@pytest.fixture
def revenue(db):
    return AccountingCodeFactory(code="4000", name="Subscription revenue")


def invoices_csv(*rows: str) -> str:
    header = "external_id,account_external_id,bill_date,due_date,line_description,line_amount\n"
    return header + "".join(row + "\n" for row in rows)


def test_accounts_are_created_and_a_rerun_changes_nothing(clerk_actor):
    first = run_import("accounts", ACCOUNTS, clerk_actor)
    assert (first.created, first.refused, first.succeeded) == (2, 0, True)
    acme = Account.objects.get(external_id="cus_1")
    assert (acme.name, acme.currency, acme.email) == ("Acme Corp", "USD", "ar@acme.example")
    # Formula-looking text is kept as text; the CSV writer guards it on the way out.
    assert Account.objects.get(external_id="cus_2").name == '=HYPERLINK("x")'
    again = run_import("accounts", ACCOUNTS, clerk_actor)
    assert (again.unchanged, again.created, again.updated) == (2, 0, 0)


def test_an_accounts_name_email_and_status_update_and_its_currency_is_refused(clerk_actor):
    run_import("accounts", ACCOUNTS, clerk_actor)
    result = run_import(
        "accounts",
        "external_id,name,currency,status\ncus_1,Acme Inc,USD,suspended\ncus_2,Beta,USD,\n",
        clerk_actor,
    )
    assert (result.updated, result.refused) == (1, 1)
    assert problems_of(result) == [(3, "currency")]
    acme = Account.objects.get(external_id="cus_1")
    assert (acme.name, acme.status) == ("Acme Inc", "suspended")
    assert Account.objects.get(external_id="cus_2").currency == "EUR"


def test_a_dry_run_counts_and_writes_nothing(clerk_actor):
    result = run_import("accounts", ACCOUNTS, clerk_actor, dry_run=True)
    assert (result.created, result.rows) == (2, 2)
    assert not Account.objects.filter(external_id__startswith="cus_").exists()


def test_an_invoice_of_two_lines_is_sent_and_posted_and_a_rerun_changes_nothing(
    clerk_actor, revenue
):
    AccountFactory(external_id="cus_1", currency="USD")
    content = invoices_csv(
        f"in_1,cus_1,{BILL},{DUE},Subscription,100.00",
        f"in_1,cus_1,{BILL},{DUE},Setup,20.50",
    )
    result = run_import("invoices", content, clerk_actor)
    assert (result.created, result.refused) == (2, 0), result.problems
    invoice = Invoice.objects.get(external_id="in_1")
    assert (invoice.status, invoice.total_minor, invoice.lines.count()) == ("sent", 12050, 2)
    assert JournalEntry.objects.filter(invoice=invoice, event="invoice_sent").count() == 1
    assert verify_ledger(limit=20).ok
    again = run_import("invoices", content, clerk_actor)
    assert (again.unchanged, again.created) == (2, 0)
    assert JournalEntry.objects.filter(invoice=invoice).count() == 1


def test_an_open_invoices_due_date_updates_and_its_amounts_never_change(clerk_actor, revenue):
    AccountFactory(external_id="cus_1")
    run_import(
        "invoices", invoices_csv(f"in_1,cus_1,{BILL},{DUE},Subscription,100.00"), clerk_actor
    )
    later = (TODAY + datetime.timedelta(days=40)).isoformat()
    moved = run_import(
        "invoices", invoices_csv(f"in_1,cus_1,{BILL},{later},Subscription,100.00"), clerk_actor
    )
    assert moved.updated == 1
    invoice = Invoice.objects.get(external_id="in_1")
    assert invoice.due_date.isoformat() == later
    assert invoice.aging_date.isoformat() == later
    changed = run_import(
        "invoices", invoices_csv(f"in_1,cus_1,{BILL},{later},Subscription,90.00"), clerk_actor
    )
    assert problems_of(changed) == [(2, "line_amount")]
    assert "void the invoice and issue a new one" in changed.problems[0].message


def test_invoice_rows_refused_each_with_its_column(clerk_actor, revenue):
    AccountFactory(external_id="cus_1")
    content = invoices_csv(
        f'in_1,cus_1,{BILL},{DUE},Subscription,"1,200.00"',
        f"in_2,cus_1,{BILL},{DUE},Subscription,12.345",
        f"in_3,cus_9,{BILL},{DUE},Subscription,10.00",
        f"in_4,cus_1,31/01/2026,{DUE},Subscription,10.00",
        f"in_5,cus_1,{DUE},{BILL},Subscription,10.00",
        f"in_6,cus_1,{BILL},{DUE},Fine,10.00",
        f"in_7,cus_1,{BILL},{DUE},Fine,10.00",
        f"in_6,cus_1,{BILL},{DUE},Again,10.00",
    )
    result = run_import("invoices", content, clerk_actor)
    assert problems_of(result) == [
        (2, "line_amount"),
        (3, "line_amount"),
        (4, "account_external_id"),
        (5, "bill_date"),
        (6, "due_date"),
        (9, "external_id"),
    ]
    assert "error 1016" in result.problems[0].message
    assert "again after other invoices' rows" in result.problems[-1].message
    assert (result.created, result.refused, result.succeeded) == (2, 6, False)
    assert set(Invoice.objects.values_list("external_id", flat=True)) == {"in_6", "in_7"}


def test_one_bad_line_refuses_its_whole_invoice(clerk_actor, revenue):
    AccountFactory(external_id="cus_1")
    content = invoices_csv(
        f"in_1,cus_1,{BILL},{DUE},Subscription,10.00",
        f"in_1,cus_1,{BILL},{DUE},Setup,abc",
    )
    result = run_import("invoices", content, clerk_actor)
    assert problems_of(result) == [(2, "external_id"), (3, "line_amount")]
    assert not Invoice.objects.exists()


def test_payments_go_through_the_payment_rules(clerk_actor, revenue, invoice):
    invoice.external_id = "in_1"
    invoice.save(update_fields=["external_id"])
    content = (
        "external_id,invoice_external_id,amount,paid_on,method,reference\n"
        f"py_1,in_1,100.00,{TODAY.isoformat()},card,ch_1\n"
        f"py_2,in_1,30.00,{TODAY.isoformat()},card,ch_2\n"
        f"py_3,in_9,1.00,{TODAY.isoformat()},card,\n"
        f"py_1,in_1,1.00,{TODAY.isoformat()},card,\n"
    )
    result = run_import("payments", content, clerk_actor)
    assert problems_of(result) == [(3, "amount"), (4, "invoice_external_id"), (5, "external_id")]
    assert result.created == 1
    payment = Payment.objects.get(external_id="py_1")
    assert (payment.amount_minor, payment.method, payment.reference) == (10000, "card", "ch_1")
    again = run_import("payments", content, clerk_actor)
    assert again.unchanged == 1 and Payment.objects.count() == 1
    assert verify_ledger(limit=20).ok


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"external_id,name,currency\n", "header but no rows"),
        (b"external_id,name,currency,colour\n1,a,USD,red\n", "Unknown columns: colour"),
        (b"external_id,name\n1,a\n", "Required columns are missing: currency"),
        (b"external_id,name,name,currency\n1,a,a,USD\n", "more than once: name"),
        (b"external_id,name,currency\n1,a,USD\n2,Caf\xe9,USD\n", "line 3 has the byte 0xE9"),
    ],
)
def test_a_file_that_cannot_be_read_imports_nothing_and_says_why(clerk_actor, content, message):
    result = run_import("accounts", content, clerk_actor)
    assert message in result.file_error
    assert not result.succeeded and result.rows == 0
    assert not Account.objects.exists()


def test_a_bom_is_allowed(clerk_actor):
    result = run_import("accounts", "\ufeff" + ACCOUNTS, clerk_actor)
    assert result.created == 2


def test_a_file_over_the_limit_is_refused_before_it_is_read(clerk_actor, settings):
    settings.IMPORT_MAX_BYTES = 10
    with pytest.raises(BillingError) as refused:
        run_import("accounts", ACCOUNTS, clerk_actor)
    assert refused.value.code == BODY_TOO_LARGE


def test_a_viewer_may_not_import(viewer):
    from billing.actors import Actor

    with pytest.raises(BillingError) as refused:
        run_import("accounts", ACCOUNTS, Actor.for_user(viewer))
    assert refused.value.code == PERMISSION_DENIED


def test_an_invoice_billed_or_a_payment_dated_on_or_before_the_lock_date_is_refused(
    clerk_actor, revenue, invoice
):
    from billing.models import AccountingPeriodLock

    AccountFactory(external_id="cus_1")
    invoice.external_id = "in_old"
    invoice.save(update_fields=["external_id"])
    locked = TODAY - datetime.timedelta(days=5)
    AccountingPeriodLock.objects.create(locked_through=locked, reason="Month end")
    invoices = run_import(
        "invoices",
        invoices_csv(
            f"in_1,cus_1,{locked.isoformat()},{DUE},Subscription,10.00",
            f"in_2,cus_1,{TODAY.isoformat()},{DUE},Subscription,10.00",
        ),
        clerk_actor,
    )
    assert [(p.row, p.column, p.code) for p in invoices.problems] == [(2, "bill_date", 3130)]
    assert invoices.created == 1
    payments = run_import(
        "payments",
        "external_id,invoice_external_id,amount,paid_on\n"
        f"py_1,in_old,5.00,{locked.isoformat()}\n"
        f"py_2,in_old,5.00,{TODAY.isoformat()}\n",
        clerk_actor,
    )
    assert [(p.row, p.column, p.code) for p in payments.problems] == [(2, "paid_on", 3130)]
    assert payments.created == 1


def test_an_invoice_in_the_future_and_a_bill_date_after_the_due_date_are_refused(
    clerk_actor, revenue
):
    AccountFactory(external_id="cus_1")
    tomorrow = (TODAY + datetime.timedelta(days=1)).isoformat()
    result = run_import(
        "invoices", invoices_csv(f"in_1,cus_1,{tomorrow},{DUE},Subscription,10.00"), clerk_actor
    )
    assert problems_of(result) == [(2, "bill_date")]
    assert "in the future" in result.problems[0].message


def test_a_sent_invoice_marked_void_is_voided_by_a_supervisor_and_refused_for_a_clerk(
    clerk_actor, supervisor_actor, revenue
):
    AccountFactory(external_id="cus_1")
    content = f"in_1,cus_1,{BILL},{DUE},Subscription,10.00"
    run_import("invoices", invoices_csv(content), clerk_actor)
    void = (
        "external_id,account_external_id,bill_date,due_date,line_description,line_amount,status\n"
        f"{content},void\n"
    )
    refused = run_import("invoices", void, clerk_actor)
    assert (refused.refused, refused.problems[0].code) == (1, PERMISSION_DENIED)
    voided = run_import("invoices", void, supervisor_actor)
    assert voided.updated == 1
    assert Invoice.objects.get(external_id="in_1").status == "void"
    assert run_import("invoices", void, supervisor_actor).unchanged == 1


def test_an_account_id_twice_in_a_file_refuses_the_second_row(clerk_actor):
    result = run_import(
        "accounts", "external_id,name,currency\ncus_1,A,USD\ncus_1,B,USD\n", clerk_actor
    )
    assert problems_of(result) == [(3, "external_id")]
    assert Account.objects.get(external_id="cus_1").name == "A"


def test_a_put_that_loses_a_race_for_its_record_is_judged_again(clerk_actor, monkeypatch):
    """A concurrent request creates the account between this one's judgement and its
    write (a stale CREATE): the write's unique constraint refuses it, and the second
    judgement finds the account unchanged."""
    from billing.sync.imports import service
    from billing.sync.imports.service import import_record

    judge = service._judge
    calls = []

    def stale_then_fresh(kind, groups, actor, payments=None):
        calls.append(kind)
        verdicts = judge(kind, groups, actor, payments)
        if len(calls) == 1:
            Account.objects.create(acct_no=77, name="Acme", currency="USD", external_id="cus_r")
        return verdicts

    monkeypatch.setattr(service, "_judge", stale_then_fresh)
    row = {"name": "Acme", "currency": "USD"}
    result = import_record(kind="accounts", external_id="cus_r", rows=[row], actor=clerk_actor)
    assert (result.outcome, len(calls)) == ("unchanged", 2)


def test_an_import_leaves_each_tally_compacted_and_agreeing_with_the_invoices(clerk_actor, revenue):
    from billing import tallies
    from billing.models import AccountTally, AgingTally

    AccountFactory(external_id="cus_1", currency="USD")
    content = invoices_csv(
        f"in_1,cus_1,{BILL},{DUE},Subscription,100.00",
        f"in_2,cus_1,{BILL},{DUE},Subscription,30.00",
        f"in_3,cus_1,{BILL},{TODAY.isoformat()},Setup,20.50",
    )
    result = run_import("invoices", content, clerk_actor)
    assert result.created == 3, result.problems
    for model, source in tallies.registered():
        assert tallies.drift(model, source()) == (0, [])
    # One row per key: each invoice's send wrote its own deltas, folded at the end.
    assert AgingTally.objects.count() == 2
    assert AccountTally.objects.count() == 1
    assert tallies.figures(AgingTally)[("USD", datetime.date.fromisoformat(DUE))][0] == 13000
