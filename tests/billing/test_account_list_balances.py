"""The accounts list's balance due, overdue and on-hold columns, sortable on the
server through a whitelisted ``sort`` parameter, in one query however many accounts
(issue 25)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.actors import Actor
from billing.factories import AccountFactory, InvoiceFactory
from billing.models import Invoice
from billing.receivables.payments import payment_record
from billing.rules import today
from writeoffs.lifecycle.holds import dispute_hold_create

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def listed(response) -> list[int]:
    return [int(n) for n in re.findall(r'/accounts/\d+/">(\d+)</a>', response.content.decode())]


def row_of(response, acct_no: int) -> list[str]:
    html = response.content.decode()
    row = re.search(rf'/accounts/{acct_no}/">{acct_no}</a>.*?</tr>', html, re.S)
    assert row is not None
    return re.findall(r'data-label="([^"]+)">([^<]*)<', row.group(0))


@pytest.fixture
def ledger(clerk):
    """5001: 100.00 overdue (30.00 paid) and 50.00 not yet due, 20.00 of it on hold;
    a draft and a void invoice that owe nothing. 5002: 500.00, not yet due.
    6001 (EUR): nothing."""
    actor = Actor.for_user(clerk)
    t = today()
    acme = AccountFactory(acct_no=5001, name="Acme Corp")
    big = AccountFactory(acct_no=5002, name="Big Co")
    AccountFactory(acct_no=6001, name="Euro GmbH", currency="EUR")
    late = InvoiceFactory(
        account=acme, bill_date=t - 60 * DAY, due_date=t - 30 * DAY, total_minor=10000
    )
    payment_record(invoice_id=late.pk, amount="30.00", actor=actor)
    soon = InvoiceFactory(account=acme, bill_date=t - DAY, due_date=t + 29 * DAY, total_minor=5000)
    dispute_hold_create(invoice_id=soon.pk, amount="20.00", comments="Disputed", actor=actor)
    InvoiceFactory(account=acme, status=Invoice.Status.DRAFT, total_minor=99900)
    InvoiceFactory(
        account=acme, status=Invoice.Status.VOID, due_date=t - 40 * DAY, total_minor=77700
    )
    InvoiceFactory(account=big, bill_date=t, due_date=t + 30 * DAY, total_minor=50000)


def test_each_account_shows_its_balance_due_overdue_and_on_hold(client, viewer, ledger):
    client.force_login(viewer)
    response = client.get(reverse("account_list"))
    assert row_of(response, 5001) == [
        ("Balance due", "120.00"),
        ("Overdue", "70.00"),
        ("On hold", "20.00"),
    ]
    assert row_of(response, 5002) == [
        ("Balance due", "500.00"),
        ("Overdue", "0.00"),
        ("On hold", "0.00"),
    ]
    assert row_of(response, 6001) == [
        ("Balance due", "0.00"),
        ("Overdue", "0.00"),
        ("On hold", "0.00"),
    ]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("balance_due", [6001, 5001, 5002]),
        ("-balance_due", [5002, 5001, 6001]),
        ("overdue", [5002, 6001, 5001]),
        ("-overdue", [5001, 5002, 6001]),
        ("held", [5002, 6001, 5001]),
        ("-held", [5001, 5002, 6001]),
        ("name", [5001, 5002, 6001]),
        ("-name", [6001, 5002, 5001]),
        ("-acct_no", [6001, 5002, 5001]),
        # Not on the whitelist: the account number order, never an error.
        ("password", [5001, 5002, 6001]),
        ("-invoices__total_minor", [5001, 5002, 6001]),
        ("", [5001, 5002, 6001]),
    ],
)
def test_the_list_sorts_by_a_whitelisted_column(client, viewer, ledger, sort, expected):
    client.force_login(viewer)
    response = client.get(reverse("account_list"), {"sort": sort})
    assert response.status_code == 200
    assert listed(response) == expected


def test_a_sorted_header_says_so_and_links_to_the_other_direction(client, viewer, ledger):
    client.force_login(viewer)
    html = client.get(reverse("account_list"), {"sort": "overdue", "q": "o"}).content.decode()
    header = re.search(r'<th scope="col" class="amount" aria-sort="ascending">.*?</th>', html, re.S)
    assert header is not None
    assert 'href="/accounts/?sort=-overdue&amp;q=o"' in header.group(0)
    assert ">Overdue<" in header.group(0)


def test_sorting_keeps_to_pages_of_the_list(client, viewer, db):
    for n in range(30):
        AccountFactory(acct_no=8000 + n)
    client.force_login(viewer)
    first = listed(client.get(reverse("account_list"), {"sort": "-acct_no"}))
    second = listed(client.get(reverse("account_list"), {"sort": "-acct_no", "page": 2}))
    assert first == list(range(8029, 8004, -1))
    assert second == list(range(8004, 7999, -1))


def test_the_list_costs_the_same_queries_for_many_accounts(client, viewer, ledger):
    client.force_login(viewer)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("account_list"), {"sort": "-overdue"})
    for n in range(30):
        InvoiceFactory(account=AccountFactory(acct_no=9000 + n), total_minor=100 + n)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("account_list"), {"sort": "-overdue"})
    assert len(many) == len(few)
