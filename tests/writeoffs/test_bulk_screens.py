"""What the bulk-run screens say: criteria in money, a finished run's amounts, the
confirm step before a start, and a run above its creator's limit in the Approvals
queue, approved there by someone whose limit covers it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from billing.actors import Actor
from billing.factories import AccountFactory, UserFactory
from billing.roles import CLERK, SUPERVISOR
from tests.writeoffs.bulk_support import criteria, small_invoice
from writeoffs.bulk.execute import bulk_run_execute
from writeoffs.bulk.runs import bulk_run_create
from writeoffs.bulk.tasks import start_bulk_run
from writeoffs.models import BulkRun

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def usd(db):
    return AccountFactory(acct_no=7101, currency="USD")


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_criteria_show_money_with_currency_not_minor_units(client, clerk, usd):
    run = bulk_run_create(actor=Actor.for_user(clerk), **criteria(max_balance={"USD": "50.00"}))
    client.force_login(clerk)
    for url in (reverse("bulk_run_list"), reverse("bulk_run_detail", args=[run.pk])):
        page = text(client.get(url))
        assert "50.00 USD" in page
        assert "minor units" not in page
        assert "USD 5000" not in page


def test_a_finished_run_shows_count_and_total_written_and_skipped(client, clerk, usd):
    small_invoice(usd, 100)
    small_invoice(usd, 250)
    skipped = small_invoice(usd, 300)
    actor = Actor.for_user(clerk)
    run = bulk_run_create(actor=actor, **criteria())
    start_bulk_run(run_id=run.pk, actor=actor)
    # Paid in full since the freeze: the run skips it.
    skipped.paid_minor = skipped.total_minor
    skipped.save()
    bulk_run_execute(run.pk)
    client.force_login(clerk)
    html = client.get(reverse("bulk_run_detail", args=[run.pk])).content.decode()
    assert re.search(r'data-figure="written">\s*2 · 3.50 USD', html)
    assert re.search(r'data-figure="skipped">\s*1 · 3.00 USD', html)
    assert "Skipped" in html


def test_start_has_a_confirm_step_naming_count_and_total(client, clerk, usd):
    small_invoice(usd, 100)
    small_invoice(usd, 250)
    run = bulk_run_create(actor=Actor.for_user(clerk), **criteria())
    client.force_login(clerk)
    preview = client.get(reverse("bulk_run_detail", args=[run.pk])).content.decode()
    start_url = reverse("bulk_run_start", args=[run.pk])
    assert f'hx-get="{start_url}"' in preview
    assert f'<form method="post" action="{start_url}"' not in preview  # no one-click start
    popout = client.get(start_url, **HTMX)
    assert popout.status_code == 200
    body = text(popout)
    assert "Start bulk run" in body
    assert re.search(r'data-figure="count">2<', popout.content.decode())
    assert "3.50 USD" in body
    assert "Nothing goes pending" in body
    run.refresh_from_db()
    assert run.status == BulkRun.Status.DRAFT  # the pop-out starts nothing
    assert client.post(start_url).status_code == 302
    run.refresh_from_db()
    assert run.status == BulkRun.Status.RUNNING


def test_an_over_limit_run_goes_to_the_approvals_queue_and_is_approved_there(client, clerk, usd):
    for _ in range(3):
        small_invoice(usd, 20000)
    run = bulk_run_create(actor=Actor.for_user(clerk), **criteria(max_balance={"USD": "200.00"}))
    client.force_login(clerk)
    popout = text(client.get(reverse("bulk_run_start", args=[run.pk]), **HTMX))
    assert "600.00 USD is over your limit of 500.00 USD" in popout
    assert "Send for approval" in popout
    response = client.post(reverse("bulk_run_request_approval", args=[run.pk]), follow=True)
    assert "is in the Approvals queue" in text(response)
    run.refresh_from_db()
    assert run.status == BulkRun.Status.DRAFT and run.approval_requested_at is not None

    supervisor = UserFactory(username="approver", groups=[SUPERVISOR])
    client.force_login(supervisor)
    queue = client.get(reverse("approval_queue"))
    assert f'data-bulk-run="{run.pk}"' in queue.content.decode()
    assert "3 · 600.00 USD" in text(queue)
    popout = text(client.get(reverse("bulk_run_start", args=[run.pk]), **HTMX))
    assert "Approve and start run" in popout
    client.post(reverse("bulk_run_start", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == BulkRun.Status.RUNNING and run.approved_by == supervisor
    assert DBTaskResult.objects.count() == 1
    queue = client.get(reverse("approval_queue")).content.decode()
    assert f'data-bulk-run="{run.pk}"' not in queue


def test_the_creator_sees_their_own_run_in_the_queue_without_a_review_button(
    client, clerk, supervisor, usd
):
    small_invoice(usd, 100)
    run = bulk_run_create(actor=Actor.for_user(supervisor), **criteria())
    client.force_login(supervisor)
    client.post(reverse("bulk_run_request_approval", args=[run.pk]))
    queue = text(client.get(reverse("approval_queue")))
    assert "Your own run: another approver must start it." in queue


def test_only_the_creator_sends_a_draft_for_approval(client, clerk, usd):
    small_invoice(usd, 100)
    run = bulk_run_create(actor=Actor.for_user(clerk), **criteria())
    client.force_login(UserFactory(username="clerk-2", groups=[CLERK]))
    client.post(reverse("bulk_run_request_approval", args=[run.pk]))
    run.refresh_from_db()
    assert run.approval_requested_at is None


def test_the_approvals_badge_counts_a_bulk_run_sent_for_approval(client, clerk, usd):
    for _ in range(3):
        small_invoice(usd, 20000)
    run = bulk_run_create(actor=Actor.for_user(clerk), **criteria(max_balance={"USD": "200.00"}))
    client.force_login(clerk)
    client.post(reverse("bulk_run_request_approval", args=[run.pk]))
    client.force_login(UserFactory(username="approver", groups=[SUPERVISOR]))
    page = client.get(reverse("bulk_run_list")).content.decode()
    assert 'data-approvals-count aria-label="1 waiting"' in page
