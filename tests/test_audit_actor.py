"""Every ledger change records who made it, whichever way it came in.

A signed-in person through the UI or admin is named by username; an
integration by "API key NAME"; expiry by "system". The label is on every
historical row (``history_actor``), beside simple-history's ``history_user``.
"""

from __future__ import annotations

import datetime
import io
import uuid

import pytest
from django.core.management import call_command
from django.urls import reverse

from billing.actors import Actor
from billing.api.keys import api_key_create
from billing.factories import (
    AccountFactory,
    AccountingCodeFactory,
    InvoiceFactory,
    UserFactory,
)
from billing.models import Invoice, Payment
from billing.receivables.payments import payment_record
from billing.roles import CLERK, SUPERVISOR
from billing.rules import today
from tests.ledger import expired_days_ago
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.models import DisputeHold, WriteOff

pytestmark = pytest.mark.django_db

LEDGER_MODELS = (Invoice, Payment, WriteOff, DisputeHold)


@pytest.fixture
def books(db):
    invoice = InvoiceFactory(
        account=AccountFactory(acct_no=9001), invoice_no=90001, total_minor=100000
    )
    return {
        "invoice": invoice,
        "clerk": UserFactory(username="audit-clerk", groups=[CLERK]),
        "supervisor": UserFactory(username="audit-supervisor", groups=[SUPERVISOR]),
        "root": UserFactory(username="audit-root", is_superuser=True, is_staff=True),
    }


def history_since(mark: dict) -> list:
    rows = []
    for model in LEDGER_MODELS:
        rows += list(model.history.filter(history_id__gt=mark[model]))
    return rows


def history_mark() -> dict:
    return {
        model: model.history.order_by("-history_id").values_list("history_id", flat=True).first()
        or 0
        for model in LEDGER_MODELS
    }


def assert_recorded_by(mark: dict, label: str, user=None, *, expect: set[str]) -> None:
    """Every history row written since ``mark`` names ``label`` (and ``user``), and
    rows were written for each model named in ``expect``."""
    rows = history_since(mark)
    assert {type(row).__name__.removeprefix("Historical") for row in rows} >= expect
    assert {row.history_actor for row in rows} == {label}
    assert {row.history_user_id for row in rows} == {user.pk if user else None}


def entry_data(**extra) -> dict:
    return {
        "amount": "25.00",
        "reason_code": "2",
        "writeoff_date": "",
        "revenue_impacting": "on",
        "comments": "Billing error on the October invoice.",
        "idempotency_token": str(uuid.uuid4()),
        **extra,
    }


# --- UI -------------------------------------------------------------------------


def test_ui_writeoff_and_dispute_are_recorded_by_the_signed_in_clerk(client, books):
    client.force_login(books["clerk"])
    mark = history_mark()
    url = reverse("writeoff_confirm", args=[9001, 90001])
    response = client.post(url, entry_data(writeoff_date=today().isoformat()))
    assert response.status_code == 302, response.content.decode()[:2000]
    response = client.post(
        reverse("dispute_confirm", args=[9001, 90001]),
        {"amount": "10", "comments": "Disputed", "idempotency_token": str(uuid.uuid4())},
    )
    assert response.status_code == 302

    assert_recorded_by(
        mark, "audit-clerk", books["clerk"], expect={"WriteOff", "DisputeHold", "Invoice"}
    )


def test_ui_payment_recorded_and_removed_are_recorded_by_each_person(client, books):
    client.force_login(books["clerk"])
    mark = history_mark()
    response = client.post(
        reverse("payment_confirm", args=[9001, 90001]),
        {
            "amount": "30.00",
            "paid_on": today().isoformat(),
            "method": "check",
            "reference": "CHK-9",
            "idempotency_key": str(uuid.uuid4()),
        },
    )
    assert response.status_code == 302
    assert_recorded_by(mark, "audit-clerk", books["clerk"], expect={"Payment", "Invoice"})

    payment = Payment.objects.get(invoice=books["invoice"])
    client.force_login(books["supervisor"])
    mark = history_mark()
    response = client.post(
        reverse("payment_remove", args=[9001, payment.pk]), {"reason": "Recorded twice."}
    )
    assert response.status_code == 302
    assert_recorded_by(mark, "audit-supervisor", books["supervisor"], expect={"Payment", "Invoice"})


def test_ui_settlement_and_reversal_are_recorded_by_the_supervisor(client, books):
    clerk = Actor.for_user(books["clerk"])
    hold = dispute_hold_create(
        invoice_id=books["invoice"].pk, amount="10", comments="Hold", actor=clerk
    )
    writeoff = writeoff_create(
        invoice_id=books["invoice"].pk, amount="5", reason_code=0, comments="WO", actor=clerk
    )
    client.force_login(books["supervisor"])
    mark = history_mark()

    response = client.post(
        reverse("dispute_settle", args=[9001, hold.pk, "convert"]),
        {"reason_code": "0", "revenue_impacting": "on", "comments": "Customer will not pay."},
    )
    assert response.status_code == 302
    response = client.post(
        reverse("writeoff_reverse", args=[9001, writeoff.pk]), {"reason": "Wrong invoice."}
    )
    assert response.status_code == 302

    assert_recorded_by(
        mark,
        "audit-supervisor",
        books["supervisor"],
        expect={"DisputeHold", "WriteOff", "Invoice"},
    )


# --- admin ----------------------------------------------------------------------


def test_admin_comment_correction_is_recorded_by_the_administrator(client, books):
    writeoff = writeoff_create(
        invoice_id=books["invoice"].pk,
        amount="5",
        reason_code=0,
        comments="Tpyo",
        actor=Actor.for_user(books["clerk"]),
    )
    client.force_login(books["root"])
    mark = history_mark()

    response = client.post(
        reverse("admin:writeoffs_writeoff_change", args=[writeoff.pk]),
        {
            "comments": "Typo fixed",
            "accounting_code": writeoff.accounting_code_id or "",
            "reason": "Typo",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    writeoff.refresh_from_db()
    assert writeoff.comments == "Typo fixed"
    assert_recorded_by(mark, "audit-root", books["root"], expect={"WriteOff"})


def test_admin_payment_and_invoice_corrections_are_recorded_by_the_administrator(client, books):
    payment = payment_record(
        invoice_id=books["invoice"].pk, amount="3", actor=Actor.for_user(books["clerk"])
    )
    new_code = AccountingCodeFactory(code="4010", name="Services revenue")
    client.force_login(books["root"])
    mark = history_mark()

    for url, data in (
        (
            reverse("admin:billing_payment_change", args=[payment.pk]),
            {"reference": "CHK-77", "reason": "Cheque number"},
        ),
        (
            reverse("admin:billing_invoice_change", args=[books["invoice"].pk]),
            {
                "revenue_code": new_code.pk,
                "lines-TOTAL_FORMS": "1",
                "lines-INITIAL_FORMS": "1",
                "lines-MIN_NUM_FORMS": "0",
                "lines-MAX_NUM_FORMS": "1000",
                "lines-0-id": books["invoice"].lines.get().pk,
                "lines-0-invoice": books["invoice"].pk,
                "reason": "Mapped to services",
            },
        ),
    ):
        response = client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:3000]

    assert Payment.objects.get(pk=payment.pk).reference == "CHK-77"
    assert Invoice.objects.get(pk=books["invoice"].pk).revenue_code == new_code
    assert_recorded_by(mark, "audit-root", books["root"], expect={"Payment", "Invoice"})


def test_admin_actions_are_recorded_by_the_administrator(client, books):
    clerk = Actor.for_user(books["clerk"])
    writeoff = writeoff_create(
        invoice_id=books["invoice"].pk, amount="5", reason_code=0, comments="WO", actor=clerk
    )
    hold = dispute_hold_create(
        invoice_id=books["invoice"].pk, amount="10", comments="Hold", actor=clerk
    )
    client.force_login(books["root"])
    mark = history_mark()

    for url, obj, action, text in (
        ("admin:writeoffs_writeoff_changelist", writeoff, "reverse_selected", "Duplicate"),
        ("admin:writeoffs_disputehold_changelist", hold, "release_selected", "Resolved"),
    ):
        response = client.post(
            reverse(url),
            {"action": action, "_selected_action": [obj.pk], "apply": "yes", "text": text},
        )
        assert response.status_code == 302

    assert WriteOff.objects.get(pk=writeoff.pk).status == WriteOff.Status.REVERSED
    assert DisputeHold.objects.get(pk=hold.pk).status == DisputeHold.Status.RELEASED
    assert_recorded_by(
        mark, "audit-root", books["root"], expect={"WriteOff", "DisputeHold", "Invoice"}
    )


# --- API ------------------------------------------------------------------------


def test_api_calls_are_recorded_by_the_key_name(client, books, settings):
    _, clerk_key = api_key_create("billing-sync", "clerk")
    _, supervisor_key = api_key_create("collections-bot", "supervisor")
    mark = history_mark()

    response = client.post(
        reverse("api_create_writeoff_or_dispute_m"),
        {
            "client_no": settings.BILLING_CLIENT_NO,
            "auth_key": clerk_key,
            "acct_no": 9001,
            "invoice_no": 90001,
            "reason_code": 9001,
            "do_dispute": 1,
            "writeoff_dispute_amount": "40",
            "comments": "Disputed by the customer portal",
        },
    )
    assert response.json()["error_code"] == 0, response.json()
    assert_recorded_by(mark, "API key billing-sync", expect={"DisputeHold", "Invoice"})

    mark = history_mark()
    response = client.post(
        reverse("api_settle_dispute_hold_m"),
        {
            "client_no": settings.BILLING_CLIENT_NO,
            "auth_key": supervisor_key,
            "dispute_no": response.json()["rec_no"],
            "settlement_action": 1,
            "comments": "Agreed",
        },
    )
    assert response.json()["error_code"] == 0, response.json()
    assert_recorded_by(
        mark, "API key collections-bot", expect={"DisputeHold", "WriteOff", "Invoice"}
    )


# --- management command ---------------------------------------------------------


@pytest.mark.parametrize("action", ["convert", "release", "release_reage"])
def test_expire_dispute_holds_command_is_recorded_by_the_system(books, settings, action):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = action
    hold = dispute_hold_create(
        invoice_id=books["invoice"].pk,
        amount="10",
        comments="Hold",
        actor=Actor.for_user(books["clerk"]),
    )
    hold = expired_days_ago(hold, 5)  # no run date is in the future
    run_date = hold.expires_on + datetime.timedelta(days=1)
    mark = history_mark()

    call_command("expire_dispute_holds", "--date", run_date.isoformat(), stdout=io.StringIO())

    assert DisputeHold.objects.get(pk=hold.pk).status != DisputeHold.Status.OPEN
    expected = {"DisputeHold", "Invoice"} | ({"WriteOff"} if action == "convert" else set())
    assert_recorded_by(mark, "system", expect=expected)


def test_payment_service_from_a_script_is_recorded_by_its_actor(books):
    """The services record their actor even outside a request (a shell, a job)."""
    mark = history_mark()
    payment_record(
        invoice_id=books["invoice"].pk, amount="1", actor=Actor.for_user(books["supervisor"])
    )
    assert_recorded_by(mark, "audit-supervisor", books["supervisor"], expect={"Payment", "Invoice"})
