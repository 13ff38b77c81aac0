"""The allowance roll-forward: opening + provisions - write-offs charged + recoveries
= closing, each month's closing tied to the trial balance, on fixed and on random
data; its page, CSV and chart."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.actors import Actor
from billing.errors import BillingError
from billing.factories import AccountFactory, AccountingCodeFactory, InvoiceFactory, UserFactory
from billing.models import AccountingCode, Invoice
from billing.receivables.payments import payment_record
from billing.roles import CONTROLLER, SUPERVISOR
from billing.rules import today
from billing.verification import verify_ledger
from writeoffs.allowance.provision import month_end_of, provision_run
from writeoffs.allowance.rollforward import allowance_balance, allowance_rollforward
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.recovery import recovery_record
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import ProvisionRate, WriteOff

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def month_ends_back(n: int) -> list[datetime.date]:
    """The last ``n`` month ends before this month, oldest first."""
    ends, day = [], today().replace(day=1) - DAY
    for _ in range(n):
        ends.append(day)
        day = day.replace(day=1) - DAY
    return ends[::-1]


@pytest.fixture
def books(account, supervisor_actor, controller_actor, expense_code, settings):
    """Method on: two provisions, an expense write-off after the first, a recovery."""
    settings.ALLOWANCE_METHOD = True
    first, second = month_ends_back(2)
    invoice = InvoiceFactory(
        account=account, total_minor=1000_00, bill_date=first - 40 * DAY, due_date=first - 10 * DAY
    )
    provision_run(actor=controller_actor, month_end=first)
    writeoff_create(
        invoice_id=invoice.pk,
        amount="100.00",
        reason_code=0,
        comments="Bad debt",
        revenue_impacting=False,
        accounting_code_id=expense_code.pk,
        writeoff_date=first + 5 * DAY,
        actor=supervisor_actor,
    )
    provision_run(actor=controller_actor, month_end=second)
    recovery_record(invoice_id=invoice.pk, amount="930.00", actor=supervisor_actor)
    return first, second


def test_the_rollforward_adds_up_and_ties_to_the_trial_balance(books):
    first, second = books
    rollforward = allowance_rollforward(first.replace(day=1), today())
    rows = rollforward.rows["USD"]
    assert [row.month for row in rows] == [
        first.replace(day=1),
        second.replace(day=1),
        today().replace(day=1),
    ]
    june, july, now = rows
    assert june.opening_minor == 0 and june.provisions_minor > 0
    assert july.charged_minor == 100_00
    assert july.opening_minor == june.closing_minor
    assert now.recoveries_minor == 30_00
    assert rollforward.agrees
    assert now.closing_minor == allowance_balance(today())["USD"]
    assert verify_ledger(limit=10).ok


def test_the_page_shows_the_check_and_a_chart_series_per_currency(books, client, controller):
    client.force_login(controller)
    response = client.get(reverse("report_allowance_rollforward"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Agrees" in page and "Does not agree" not in page
    assert 'data-chart="rollforward-chart-data"' in page
    assert '"label": "USD"' in page
    # With JS off the table carries the same figures.
    assert "<table" in page


def test_an_htmx_range_change_answers_the_report_only(books, client, controller):
    client.force_login(controller)
    response = client.get(reverse("report_allowance_rollforward"), HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert 'id="rollforward-report"' in page and "<html" not in page


def test_the_csv_has_one_row_per_currency_and_month_with_plain_amounts(books, client, controller):
    first, _second = books
    client.force_login(controller)
    response = client.get(
        reverse("report_allowance_rollforward_csv"),
        {"start": first.replace(day=1).isoformat(), "end": today().isoformat()},
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Month", "Currency", "Opening"]
    assert [row[0] for row in rows[1:]] == [
        first.strftime("%Y-%m"),
        (first + DAY).strftime("%Y-%m"),
        today().strftime("%Y-%m"),
    ]
    assert rows[2][4] == "100.00"  # write-offs charged
    assert {row[-1] for row in rows[1:]} == {"yes"}


@pytest.mark.parametrize("role", ["viewer", "clerk", "supervisor"])
def test_other_roles_may_not_see_it(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("report_allowance_rollforward")).status_code == 403
    assert client.get(reverse("report_allowance_rollforward_csv")).status_code == 403


# --- random data -----------------------------------------------------------------

MONTHS_BACK = 4
invoice_ix = st.integers(0, 3)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), invoice_ix, st.integers(1, 100), st.integers(0, 110)),
        st.tuples(st.just("writeoff"), invoice_ix, st.integers(1, 100), st.integers(0, 110)),
        st.tuples(st.just("recover"), invoice_ix, st.integers(1, 100), st.just(0)),
        st.tuples(st.just("reverse"), st.integers(0, 5), st.just(0), st.just(0)),
        st.tuples(
            st.just("provide"), st.integers(0, MONTHS_BACK - 1), st.integers(0, 100), st.just(0)
        ),
    ),
    max_size=10,
)


class Rollback(Exception):
    pass


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations, method=st.booleans())
def test_on_random_data_the_rollforward_ties_to_the_trial_balance_every_month(ops, method):
    try:
        with transaction.atomic():
            _run(ops, method)
            raise Rollback
    except Rollback:
        pass


def _run(ops, method: bool) -> None:
    from django.test import override_settings

    t = today()
    month_ends = month_ends_back(MONTHS_BACK)
    start = month_ends[0].replace(day=1)
    with override_settings(ALLOWANCE_METHOD=method):
        supervisor = Actor.for_user(UserFactory(username="rf-supervisor", groups=[SUPERVISOR]))
        controller = Actor.for_user(UserFactory(username="rf-controller", groups=[CONTROLLER]))
        expense = AccountingCodeFactory(code="6100", kind=AccountingCode.Kind.EXPENSE)
        usd, eur = AccountFactory(currency="USD"), AccountFactory(currency="EUR")
        invoices = [
            InvoiceFactory(
                account=usd if i % 2 == 0 else eur,
                bill_date=start + i * 9 * DAY,
                due_date=start + i * 9 * DAY + 30 * DAY,
                aging_date=start + i * 9 * DAY + 30 * DAY,
                total_minor=10000 + i * 2345,
            )
            for i in range(4)
        ]
        for op, a, b, c in ops:
            try:
                if op == "provide":
                    ProvisionRate.objects.filter(bucket="current").update(rate=b)
                    provision_run(actor=controller, month_end=month_ends[a])
                    continue
                if op == "reverse":
                    active = list(WriteOff.objects.filter(status="active").order_by("pk"))
                    if active:
                        writeoff_reverse(
                            writeoff_id=active[a % len(active)].pk, reason="r", actor=supervisor
                        )
                    continue
                invoice = Invoice.objects.get(pk=invoices[a].pk)
                base = invoice.written_off_minor if op == "recover" else invoice.available_minor
                amount = base * b // 100
                if amount <= 0:
                    continue
                text = f"{amount / 100:.2f}"
                on = max(t - c * DAY, invoice.bill_date)
                if op == "pay":
                    payment_record(invoice_id=invoice.pk, amount=text, paid_on=on, actor=supervisor)
                elif op == "writeoff":
                    writeoff_create(
                        invoice_id=invoice.pk,
                        amount=text,
                        reason_code=0,
                        comments="p",
                        revenue_impacting=False,
                        accounting_code_id=expense.pk,
                        writeoff_date=on,
                        actor=supervisor,
                    )
                else:
                    recovery_record(invoice_id=invoice.pk, amount=text, actor=supervisor)
            except BillingError:
                pass
        rollforward = allowance_rollforward(start, t)
        assert rollforward.agrees
        balance = allowance_balance(t)
        for currency, rows in rollforward.rows.items():
            assert rows[-1].closing_minor == balance.get(currency, 0)
        assert verify_ledger(limit=10).ok


def test_month_end_of_knows_february():
    assert month_end_of(2028, 2) == datetime.date(2028, 2, 29)
