"""Closing the books and the allowance: the lock-date screen lists whether each month
the close takes in has had its provision run, and the close snapshot stores the
allowance."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from billing.factories import InvoiceFactory
from billing.ledger.close import lock_date_move
from billing.models import AccountingPeriodLock
from billing.rules import today
from writeoffs.allowance.close import month_ends_between
from writeoffs.allowance.provision import provision_run

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)
D = datetime.date


def test_the_month_ends_after_the_lock_date_through_a_date():
    assert month_ends_between(D(2026, 8, 31), D(2026, 11, 15)) == [
        D(2026, 9, 30),
        D(2026, 10, 31),
    ]
    assert month_ends_between(D(2026, 8, 15), D(2026, 9, 30)) == [D(2026, 8, 31), D(2026, 9, 30)]
    assert month_ends_between(D(2026, 9, 30), D(2026, 9, 30)) == []


def test_books_never_closed_list_the_last_month_end():
    assert month_ends_between(None, D(2026, 12, 6)) == [D(2026, 11, 30)]


@pytest.fixture
def month_end() -> datetime.date:
    return today().replace(day=1) - DAY


@pytest.fixture
def receivable(account, month_end):
    return InvoiceFactory(account=account, total_minor=500_00, bill_date=month_end - 20 * DAY)


def label(day: datetime.date) -> str:
    return f"Allowance provision at {day:%b} {day.day}, {day.year}"


def test_the_lock_date_screen_says_whether_each_month_has_its_provision(
    receivable, client, controller, controller_actor, month_end
):
    AccountingPeriodLock.objects.create(
        locked_through=(month_end.replace(day=1) - DAY).replace(day=1) - DAY, reason="old close"
    )
    client.force_login(controller)
    page = client.get(reverse("lock_date")).content.decode()
    before = month_end.replace(day=1) - DAY
    assert label(before) in page and label(month_end) in page
    assert "Not run" in page and ">Run<" not in page

    provision_run(actor=controller_actor, month_end=month_end)
    page = client.get(reverse("lock_date")).content.decode()
    assert ">Run<" in page and "Not run" in page  # the month before is still not run


def test_the_confirm_step_lists_the_months_through_the_date_being_confirmed(
    receivable, client, controller, month_end
):
    AccountingPeriodLock.objects.create(
        locked_through=(month_end.replace(day=1) - DAY).replace(day=1) - DAY, reason="old close"
    )
    client.force_login(controller)
    before = month_end.replace(day=1) - DAY
    response = client.post(
        reverse("lock_date"),
        {"locked_through": before.isoformat(), "reason": "Month end"},
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert "Close the books through" in page
    assert label(before) in page and label(month_end) not in page


def test_the_close_snapshot_stores_the_allowance(receivable, controller_actor, month_end):
    run = provision_run(actor=controller_actor, month_end=month_end).posted[0]

    move = lock_date_move(locked_through=month_end, reason="Month end", actor=controller_actor)

    allowance = move.snapshot["allowance"]["USD"]
    assert allowance["balance_minor"] == run.posted_minor > 0
    assert [r["id"] for r in allowance["provision_runs"]] == [run.pk]
    assert "pending_writeoffs" in move.snapshot
