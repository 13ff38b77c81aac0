"""The journal over the API: ``get_journal_lines_m`` (date range, keyset pages) and
a conversion's accounting code on ``settle_dispute_hold_m``."""

import datetime
import json

import pytest

from billing.api.keys import api_key_create
from billing.factories import AccountingCodeFactory, InvoiceFactory
from billing.models import AccountingCode, Invoice, JournalEntry, JournalEvent, JournalLine
from billing.rules import today
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.models import DisputeHold, WriteOff

JOURNAL = "/api/get_journal_lines_m"
SETTLE = "/api/settle_dispute_hold_m"


@pytest.fixture
def supervisor_key(db):
    return api_key_create("books-supervisor", "supervisor")[1]


@pytest.fixture
def clerk_key(db):
    return api_key_create("books-clerk", "clerk")[1]


@pytest.fixture
def call(client):
    def post(path, data):
        return client.post(path, json.dumps(data), content_type="application/json")

    return post


def lines_input(key, **extra):
    return {
        "client_no": 1000,
        "auth_key": key,
        "start_date": "2000-01-01",
        "end_date": today().isoformat(),
        **extra,
    }


def test_lists_each_line_with_its_entry_code_and_decimal_amounts(
    call, supervisor_key, invoice, clerk_actor, expense_code
):
    writeoff = writeoff_create(
        invoice_id=invoice.pk,
        amount="12.34",
        reason_code=1,
        comments="Goodwill",
        actor=clerk_actor,
        revenue_impacting=False,
        accounting_code_id=expense_code.pk,
    )
    entry = JournalEntry.objects.get(event=JournalEvent.WRITEOFF, source_id=writeoff.pk)

    body = call(JOURNAL, lines_input(supervisor_key)).json()

    assert body["error_code"] == 0, body
    mine = [line for line in body["lines"] if line["entry_no"] == entry.pk]
    assert sorted((line["accounting_code"], line["debit"], line["credit"]) for line in mine) == [
        ("1200", None, "12.34"),
        ("6100", "12.34", None),
    ]
    debit = next(line for line in mine if line["debit"])
    assert debit["accounting_code_name"] == "Bad debt expense"
    assert debit["entry_date"] == writeoff.writeoff_date.isoformat()
    assert debit["event"] == "writeoff"
    assert debit["currency"] == invoice.currency
    assert debit["source_document"] == f"writeoffs.writeoff:{writeoff.pk}"
    assert debit["memo"] == entry.memo
    assert datetime.datetime.fromisoformat(debit["posted_at"]) == entry.posted_at
    assert "next_cursor" not in body


def test_the_date_range_bounds_the_entry_date(call, supervisor_key, account):
    InvoiceFactory(account=account, invoice_no=1, bill_date=datetime.date(2026, 1, 10))
    InvoiceFactory(account=account, invoice_no=2, bill_date=datetime.date(2026, 2, 10))
    InvoiceFactory(account=account, invoice_no=3, bill_date=datetime.date(2026, 3, 10))

    body = call(
        JOURNAL, lines_input(supervisor_key, start_date="2026-02-01", end_date="2026-02-28")
    ).json()

    assert {line["entry_date"] for line in body["lines"]} == {"2026-02-10"}
    assert len(body["lines"]) == 2  # the invoice's AR-control debit and revenue credit


def test_cursor_pages_read_every_line_once_in_order(call, supervisor_key, account):
    for number in range(7):
        InvoiceFactory(
            account=account,
            invoice_no=100 + number,
            bill_date=datetime.date(2026, 1, 1) + datetime.timedelta(days=number % 3),
        )
    expected = list(
        JournalLine.objects.order_by("entry_date", "id").values_list("entry_date", "entry_id")
    )

    seen, cursor, pages = [], None, 0
    while True:
        body = call(JOURNAL, lines_input(supervisor_key, page_size=3, cursor=cursor)).json()
        assert body["error_code"] == 0, body
        seen += [
            (datetime.date.fromisoformat(line["entry_date"]), line["entry_no"])
            for line in body["lines"]
        ]
        pages += 1
        cursor = body.get("next_cursor")
        if cursor is None:
            break

    assert seen == expected
    assert pages == 5  # 14 lines, 3 a page


def test_a_clerk_key_may_not_read_the_journal(call, clerk_key, invoice):
    response = call(JOURNAL, lines_input(clerk_key))

    assert response.status_code == 403
    assert response.json()["error_code"] == 1003


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"start_date": "2026/01/01"}, 1024),
        ({"end_date": "2026-02-30"}, 1024),
        ({"cursor": "bm90IGEgY3Vyc29y"}, 1011),  # "not a cursor"
        ({"cursor": "!!"}, 1011),
        ({"page_size": 501}, 1011),
        ({"start_date": None}, 1010),
    ],
)
def test_bad_inputs_get_their_documented_codes(call, supervisor_key, change, code):
    data = {k: v for k, v in {**lines_input(supervisor_key), **change}.items() if v is not None}

    assert call(JOURNAL, data).json()["error_code"] == code


def test_a_get_is_refused_so_the_key_never_sits_in_a_url(client, supervisor_key):
    response = client.get(JOURNAL, lines_input(supervisor_key))

    assert response.status_code == 405
    assert response.json()["error_code"] == 1008


# --- settling by convert chooses the code, as a create does ------------------------


@pytest.fixture
def hold(invoice, clerk_actor):
    return dispute_hold_create(
        invoice_id=invoice.pk, amount="30.00", comments="Disputed", actor=clerk_actor
    )


def settle_input(key, hold, **extra):
    return {
        "client_no": 1000,
        "auth_key": key,
        "dispute_no": hold.pk,
        "settlement_action": 1,
        **extra,
    }


def conversion_debits(hold) -> list[tuple[str, int]]:
    writeoff = WriteOff.objects.get(origin_dispute=hold)
    entry = JournalEntry.objects.get(event=JournalEvent.DISPUTE_CONVERSION, source_id=writeoff.pk)
    return [
        (line.accounting_code.code, line.debit_minor)
        for line in entry.lines.select_related("accounting_code")
        if line.debit_minor
    ]


def test_convert_with_an_expense_code_debits_that_code(call, supervisor_key, hold):
    AccountingCodeFactory(code="6200", name="Dispute losses", kind=AccountingCode.Kind.EXPENSE)

    body = call(SETTLE, settle_input(supervisor_key, hold, accounting_code="6200")).json()

    assert body["error_code"] == 0, body
    assert conversion_debits(hold) == [("6200", 3000)]
    writeoff = WriteOff.objects.get(pk=body["rec_no"])
    assert writeoff.revenue_impacting is False
    assert writeoff.accounting_code.code == "6200"


def test_convert_without_an_accounting_code_is_revenue_impacting(call, supervisor_key, hold):
    body = call(SETTLE, settle_input(supervisor_key, hold)).json()

    assert body["error_code"] == 0, body
    assert conversion_debits(hold) == [(hold.invoice.revenue_code.code, 3000)]
    assert WriteOff.objects.get(pk=body["rec_no"]).revenue_impacting is True


@pytest.mark.parametrize(
    "code",
    [
        "9999",  # no such code
        "4000",  # the revenue code
        "1200",  # AR control, an asset
        "6300",  # an inactive expense code
    ],
)
def test_convert_refuses_a_code_that_is_not_an_active_expense_code(
    call, supervisor_key, hold, code
):
    AccountingCodeFactory(code="6300", name="Old", kind=AccountingCode.Kind.EXPENSE, active=False)

    response = call(SETTLE, settle_input(supervisor_key, hold, accounting_code=code))

    assert response.status_code == 400
    assert response.json()["error_code"] == 3123
    assert response.json()["field"] == "accounting_code"
    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.OPEN
    assert not WriteOff.objects.filter(origin_dispute=hold).exists()
    assert Invoice.objects.get(pk=hold.invoice_id).held_minor == 3000


def test_a_release_ignores_the_accounting_code(call, supervisor_key, hold):
    body = call(
        SETTLE, settle_input(supervisor_key, hold, settlement_action=3, accounting_code="nope")
    ).json()

    assert body["error_code"] == 0, body
    assert body["status"] == DisputeHold.Status.RELEASED
