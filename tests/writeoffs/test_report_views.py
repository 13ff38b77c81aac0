"""The report pages: what they show, their CSV, bad input, htmx fragments, and their
query budgets (the count does not grow with rows)."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.actors import Actor
from billing.factories import AccountFactory, InvoiceFactory
from billing.receivables.payments import payment_record
from tests.writeoffs.reports_fixture import DAY, build_report_ledger
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import DisputeHold

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def ledger(clerk, supervisor, settings):
    return build_report_ledger(clerk, supervisor, settings)


def rows_of(response) -> list[list[str]]:
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_aging_page_shows_the_totals_the_check_and_the_chart_data(client, viewer, ledger):
    client.force_login(viewer)
    response = client.get(reverse("report_aging"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="aging-chart-USD-data"' in html and 'data-chart="aging-chart-USD-data"' in html
    assert 'id="aging-chart-EUR-data"' in html
    assert html.count("Agrees") == 2
    assert "230.00" in html and "150.00" in html


def test_aging_currency_filter_offers_the_currencies_in_use_not_free_text(client, viewer, ledger):
    client.force_login(viewer)
    html = client.get(reverse("report_aging"), {"currency": "EUR"}).content.decode()
    assert 'type="text" name="currency"' not in html
    assert '<select name="currency" id="id_currency"' in html
    assert '<option value="">All</option>' in html
    assert '<option value="EUR" selected>EUR</option>' in html
    assert '<option value="USD">USD</option>' in html
    assert 'value="GBP"' not in html  # no account bills in it


def test_aging_csv_has_a_row_per_account_and_a_total_per_currency(client, viewer, ledger):
    client.force_login(viewer)
    as_of = (ledger.today - 10 * DAY).isoformat()
    rows = rows_of(client.get(reverse("report_aging_csv"), {"as_of": as_of}))
    assert rows[0] == [
        "As of", "Account No.", "Account", "Currency",
        "Current", "1\u201330", "31\u201360", "61\u201390", "Over 90", "On hold",
        "Pending approval", "Total",
    ]  # fmt: skip
    eur = ["0.00", "175.00", "0.00", "0.00", "0.00", "0.00", "0.00", "175.00"]
    usd = ["50.00", "0.00", "70.00", "0.00", "30.00", "50.00", "0.00", "200.00"]
    assert rows[1:] == [
        [as_of, "6001", "Euro GmbH", "EUR", *eur],
        [as_of, "5001", "Acme Corp", "USD", *usd],
        [as_of, "", "Total", "EUR", *eur],
        [as_of, "", "Total", "USD", *usd],
    ]


def test_aging_refuses_a_future_date_beside_the_field(client, viewer, ledger):
    client.force_login(viewer)
    future = (ledger.today + DAY).isoformat()
    html = client.get(reverse("report_aging"), {"as_of": future}).content.decode()
    assert "The as-of date cannot be in the future." in html
    assert 'aria-describedby="date-help as-of-error"' in html


def test_aging_htmx_request_gets_the_report_fragment(client, viewer, ledger):
    client.force_login(viewer)
    response = client.get(reverse("report_aging"), **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="aging-report"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_drill_down_link_from_a_cell_lists_its_invoices(client, viewer, ledger):
    client.force_login(viewer)
    html = client.get(reverse("report_aging")).content.decode()
    link = (
        f"{reverse('report_aging_invoices')}?as_of={ledger.today.isoformat()}"
        "&amp;currency=USD&amp;column=d61_90&amp;acct_no=5001"
    )
    assert link in html
    page = client.get(link.replace("&amp;", "&")).content.decode()
    assert ">10001</a>" in page and ">10002</a>" not in page


def test_drill_down_without_a_cell_is_a_bad_request(client, viewer, ledger):
    client.force_login(viewer)
    response = client.get(reverse("report_aging_invoices"), {"column": "nope"})
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_writeoff_analysis_page_and_csv(client, viewer, ledger):
    client.force_login(viewer)
    start = (ledger.today - 60 * DAY).isoformat()
    params = {"start": start, "end": ledger.today.isoformat()}
    html = client.get(reverse("report_writeoffs"), params).content.decode()
    assert 'id="writeoff-chart-USD-data"' in html and 'id="writeoff-chart-EUR-data"' in html
    rows = rows_of(client.get(reverse("report_writeoffs_csv"), params))
    assert rows[0][:3] == ["Month", "Currency", "Reason code"]
    body = sorted(tuple(row[1:]) for row in rows[1:])
    month = lambda day: day.strftime("%Y-%m")  # noqa: E731
    expected = [
        ("USD", "0", "Bad Debt", "yes", "clerk", "30.00", "0.00", "30.00"),
    ]
    t = ledger.today
    if month(t - 30 * DAY) == month(t):
        expected.append(("EUR", "2", "Billing Error", "no", "clerk", "25.00", "25.00", "0.00"))
    else:
        expected += [
            ("EUR", "2", "Billing Error", "no", "clerk", "25.00", "0.00", "25.00"),
            ("EUR", "2", "Billing Error", "no", "clerk", "0.00", "25.00", "-25.00"),
        ]
    assert body == sorted(expected)


def test_writeoff_analysis_refuses_a_start_after_the_end(client, viewer, ledger):
    client.force_login(viewer)
    params = {"start": ledger.today.isoformat(), "end": (ledger.today - DAY).isoformat()}
    html = client.get(reverse("report_writeoffs"), params).content.decode()
    assert "The start must be on or before the end." in html


def test_worklist_shows_comments_and_settle_actions_to_a_supervisor_only(
    client, viewer, supervisor, ledger
):
    hold = DisputeHold.objects.get(status="open")
    settle = reverse("dispute_settle", args=[5001, hold.pk, "release"])
    client.force_login(supervisor)
    html = client.get(reverse("worklist_disputes")).content.decode()
    assert "Disputed" in html and settle in html
    client.force_login(viewer)
    html = client.get(reverse("worklist_disputes")).content.decode()
    assert "Disputed" in html and settle not in html


def test_worklist_htmx_fragment_refreshes_after_a_settlement(client, viewer, ledger):
    client.force_login(viewer)
    response = client.get(reverse("worklist_disputes"), {"view": "expired"}, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="dispute-worklist"')
    assert 'hx-trigger="ledgerChanged from:body"' in html
    assert "No open dispute hold is past its expiry date." in html


def test_home_page_figures_link_to_their_reports(client, viewer, ledger):
    client.force_login(viewer)
    html = client.get(reverse("home")).content.decode()
    assert f'{reverse("report_aging")}?currency=USD">230.00</a>' in html
    assert f'{reverse("worklist_disputes")}">20.00</a>' in html
    assert f'{reverse("worklist_disputes")}?view=week">0</a>' in html
    assert 'id="aging-chart-USD-data"' in html
    assert html.count("<canvas") >= 2


@pytest.mark.parametrize("method", ["post", "put", "delete"])
@pytest.mark.parametrize(
    "name",
    ["home", "report_aging", "report_aging_csv", "report_writeoffs", "worklist_disputes"],
)
def test_reports_answer_only_get(client, viewer, name, method):
    client.force_login(viewer)
    assert getattr(client, method)(reverse(name)).status_code == 405


# --- query budgets -------------------------------------------------------------------


def _grow(clerk, supervisor, n: int) -> None:
    """``n`` more accounts, each with an invoice, a payment, a hold and a reversed
    write-off: every kind of row the reports read."""
    clerk_actor, supervisor_actor = Actor.for_user(clerk), Actor.for_user(supervisor)
    for _ in range(n):
        invoice = InvoiceFactory(account=AccountFactory(), total_minor=9000)
        payment_record(invoice_id=invoice.pk, amount="10.00", actor=clerk_actor)
        dispute_hold_create(invoice_id=invoice.pk, amount="5.00", comments="x", actor=clerk_actor)
        writeoff = writeoff_create(
            invoice_id=invoice.pk, amount="5.00", reason_code=1, comments="x", actor=clerk_actor
        )
        writeoff_reverse(writeoff_id=writeoff.pk, reason="x", actor=supervisor_actor)


@pytest.mark.parametrize(
    "name",
    ["home", "report_aging", "report_aging_csv", "report_writeoffs", "report_writeoffs_csv",
     "worklist_disputes"],
)  # fmt: skip
def test_report_query_count_does_not_grow_with_rows(client, clerk, supervisor, viewer, name):
    client.force_login(viewer)
    _grow(clerk, supervisor, 2)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(name)).status_code == 200
        return len(queries)

    small = count()
    _grow(clerk, supervisor, 6)
    assert count() == small


def test_drill_down_query_count_does_not_grow_with_rows(client, clerk, supervisor, viewer):
    client.force_login(viewer)
    _grow(clerk, supervisor, 2)
    url = reverse("report_aging_invoices")
    params = {"currency": "USD", "column": "current"}

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, params)
        assert response.status_code == 200
        return len(queries)

    small = count()
    _grow(clerk, supervisor, 6)
    assert count() == small
