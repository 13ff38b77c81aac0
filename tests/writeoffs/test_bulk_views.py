"""The bulk-run screens: criteria form, preview and exclusions, start (limits, four eyes),
progress polling, the CSV log, and the run's badge in the Write-offs table."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from billing.actors import Actor
from billing.factories import AccountFactory, UserFactory
from billing.roles import CLERK, SUPERVISOR
from tests.writeoffs.bulk_support import criteria, small_invoice
from writeoffs.bulk.execute import bulk_run_execute
from writeoffs.bulk.log import LOG_HEADER
from writeoffs.bulk.preview import excluded_invoice_ids
from writeoffs.bulk.runs import bulk_run_create
from writeoffs.bulk.tasks import start_bulk_run
from writeoffs.models import BulkRun, WriteOff

pytestmark = pytest.mark.django_db


@pytest.fixture
def usd(db):
    return AccountFactory(acct_no=7101, currency="USD")


def form_data(**overrides) -> dict:
    return {
        "max_balance_usd": "5.00",
        "max_balance_eur": "",
        "older_than_days": "90",
        "account_statuses": ["active"],
        "exclude_held": "on",
        "reason_code": "0",
        "revenue_impacting": "on",
        "comments": "Month-end small balances",
        **overrides,
    }


def test_a_clerk_creates_a_draft_and_lands_on_its_preview(client, clerk, usd):
    small_invoice(usd, 150)
    small_invoice(usd, 250)
    client.force_login(clerk)
    response = client.post(reverse("bulk_run_new"), form_data())
    run = BulkRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("bulk_run_detail", args=[run.pk])
    page = client.get(response["Location"]).content.decode()
    assert 'data-figure="count">2<' in page
    assert 'data-figure="total">4.00<' in page
    assert "Exclude invoice" in page
    assert "Start run" in page


def test_a_largest_balance_above_the_clerks_limit_shows_next_to_its_field(client, clerk):
    client.force_login(clerk)
    response = client.post(reverse("bulk_run_new"), form_data(max_balance_usd="600.00"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="error_1_id_max_balance_usd"' in body
    assert "above your approval limit of 500.00 USD" in body
    assert not BulkRun.objects.exists()


def test_no_currency_given_is_refused_with_a_message(client, clerk):
    client.force_login(clerk)
    response = client.post(reverse("bulk_run_new"), form_data(max_balance_usd=""))
    assert "Give the largest balance" in response.content.decode()
    assert not BulkRun.objects.exists()


def test_excluding_a_row_over_htmx_returns_the_preview_with_new_totals(client, clerk, usd):
    small_invoice(usd, 150)
    leave = small_invoice(usd, 250)
    run = bulk_run_create(actor=Actor.for_user(clerk), **criteria())
    client.force_login(clerk)
    response = client.post(
        reverse("bulk_run_exclude", args=[run.pk]),
        {"invoice": leave.pk, "excluded": "1", "currency": "USD"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="bulk-preview"' in body
    assert 'data-figure="total">1.50<' in body
    assert f"Include invoice {leave.invoice_no}" in body
    assert "HX-Request" in response["Vary"]


def test_excluding_without_javascript_redirects_back_to_the_same_page(client, clerk, usd):
    leave = small_invoice(usd, 250)
    run = bulk_run_create(actor=Actor.for_user(clerk), **criteria())
    client.force_login(clerk)
    response = client.post(
        reverse("bulk_run_exclude", args=[run.pk]),
        {"invoice": leave.pk, "excluded": "1", "currency": "USD", "page": "1"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?currency=USD&page=1")
    assert excluded_invoice_ids(run) == [leave.pk]


def test_another_clerk_cannot_exclude_rows_of_a_clerks_draft(client, clerk, usd):
    leave = small_invoice(usd, 250)
    run = bulk_run_create(actor=Actor.for_user(clerk), **criteria())
    client.force_login(UserFactory(username="clerk-2", groups=[CLERK]))
    response = client.post(
        reverse("bulk_run_exclude", args=[run.pk]), {"invoice": leave.pk, "excluded": "1"}
    )
    assert response.status_code == 403
    assert excluded_invoice_ids(run) == []


def _over_clerk_limit(clerk, usd) -> BulkRun:
    for _ in range(3):
        small_invoice(usd, 20000)
    return bulk_run_create(actor=Actor.for_user(clerk), **criteria(max_balance={"USD": "200.00"}))


def test_starting_over_the_limit_needs_an_approver_and_the_request_writes_nothing(
    client, clerk, usd
):
    run = _over_clerk_limit(clerk, usd)
    client.force_login(clerk)
    response = client.post(reverse("bulk_run_start", args=[run.pk]), follow=True)
    body = response.content.decode()
    assert "600.00 USD is above your limit of 500.00 USD" in body
    run.refresh_from_db()
    assert run.status == BulkRun.Status.DRAFT
    assert not DBTaskResult.objects.exists()  # a refused start enqueues nothing

    supervisor = UserFactory(username="approver", groups=[SUPERVISOR])
    client.force_login(supervisor)
    page = client.get(reverse("bulk_run_detail", args=[run.pk])).content.decode()
    assert "Approve and start run" in page
    response = client.post(reverse("bulk_run_start", args=[run.pk]), follow=True)
    run.refresh_from_db()
    assert run.status == BulkRun.Status.RUNNING
    assert run.approved_by == supervisor
    assert "A worker writes them now" in response.content.decode()
    # The request only froze and enqueued the run: the worker writes.
    [task] = DBTaskResult.objects.all()
    assert (task.task_path, task.args_kwargs["args"]) == (
        "writeoffs.bulk.tasks.execute_bulk_run",
        [run.pk],
    )
    assert not WriteOff.objects.exists()


def test_a_clerk_cannot_start_another_clerks_run(client, clerk, usd):
    small_invoice(usd, 100)
    run = bulk_run_create(actor=Actor.for_user(clerk), **criteria())
    client.force_login(UserFactory(username="clerk-2", groups=[CLERK]))
    page = client.get(reverse("bulk_run_detail", args=[run.pk])).content.decode()
    assert "Start run" not in page
    assert client.post(reverse("bulk_run_start", args=[run.pk])).status_code == 403
    run.refresh_from_db()
    assert run.status == BulkRun.Status.DRAFT


def test_the_progress_fragment_polls_while_running_and_stops_when_done(client, clerk, usd):
    small_invoice(usd, 100)
    small_invoice(usd, 200)
    actor = Actor.for_user(clerk)
    run = bulk_run_create(actor=actor, **criteria())
    start_bulk_run(run_id=run.pk, actor=actor)
    client.force_login(clerk)
    url = reverse("bulk_run_progress", args=[run.pk])
    running = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in running
    assert 'value="0"' in running
    assert "Cancel run" in running
    bulk_run_execute(run.pk)
    done = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "every 2s" not in done
    assert 'max="2" value="2"' in done
    assert "2 written" in done
    assert "The run is complete." in done
    assert "Cancel run" not in done


def test_cancel_says_how_far_the_run_got(client, clerk, usd):
    small_invoice(usd, 100)
    small_invoice(usd, 200)
    actor = Actor.for_user(clerk)
    run = bulk_run_create(actor=actor, **criteria())
    start_bulk_run(run_id=run.pk, actor=actor)
    client.force_login(clerk)
    response = client.post(reverse("bulk_run_cancel", args=[run.pk]), follow=True)
    assert "cancelled after 0 of 2 invoice(s) (0 written)" in response.content.decode()


def test_a_stalled_run_shows_resume_and_resuming_enqueues_it(client, clerk, usd):
    small_invoice(usd, 100)
    actor = Actor.for_user(clerk)
    run = bulk_run_create(actor=actor, **criteria())
    run = start_bulk_run(run_id=run.pk, actor=actor)
    BulkRun.objects.filter(pk=run.pk).update(
        heartbeat_at=run.heartbeat_at - BulkRun.STALL_AFTER * 2
    )
    client.force_login(clerk)
    page = client.get(reverse("bulk_run_detail", args=[run.pk])).content.decode()
    assert "Stalled:" in page
    assert ">Resume</button>" in page
    response = client.post(reverse("bulk_run_resume", args=[run.pk]), follow=True)
    assert "resumed" in response.content.decode()
    run.refresh_from_db()
    assert run.resume_count == 1
    # One task from the start, one more from the resume.
    assert list(DBTaskResult.objects.values_list("args_kwargs__args", flat=True)) == [
        [run.pk],
        [run.pk],
    ]


def test_the_log_downloads_as_csv_with_one_row_per_invoice(client, clerk, viewer, usd):
    a = small_invoice(usd, 100)
    actor = Actor.for_user(clerk)
    run = bulk_run_create(actor=actor, **criteria())
    start_bulk_run(run_id=run.pk, actor=actor)
    bulk_run_execute(run.pk)
    client.force_login(viewer)
    response = client.get(reverse("bulk_run_log", args=[run.pk]))
    assert response.streaming
    assert response["Content-Disposition"].endswith(f'"bulk-run-{run.pk}-log.csv"')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == LOG_HEADER
    assert rows[1][1:6] == [str(a.invoice_no), str(usd.acct_no), "USD", "1.00", "written"]


def test_the_writeoffs_table_links_a_runs_rows_to_the_run(client, clerk, usd):
    small_invoice(usd, 100)
    actor = Actor.for_user(clerk)
    run = bulk_run_create(actor=actor, **criteria())
    start_bulk_run(run_id=run.pk, actor=actor)
    bulk_run_execute(run.pk)
    client.force_login(clerk)
    page = client.get(reverse("writeoff_page", args=[usd.acct_no])).content.decode()
    assert f'href="{reverse("bulk_run_detail", args=[run.pk])}">Bulk run {run.pk}</a>' in page


def test_the_detail_page_is_whole_for_a_browser_and_a_fragment_for_htmx(client, viewer, clerk):
    run = bulk_run_create(actor=Actor.for_user(clerk), **criteria())
    client.force_login(viewer)
    url = reverse("bulk_run_detail", args=[run.pk])
    assert "<html" in client.get(url).content.decode()
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment
    assert 'id="bulk-preview"' in fragment
    assert "Exclude invoice" not in fragment  # a viewer sees, never edits


def test_an_unknown_run_is_404(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("bulk_run_detail", args=[999])).status_code == 404


def test_the_list_shows_runs_and_offers_new_runs_to_clerks_only(client, clerk, viewer):
    run = bulk_run_create(actor=Actor.for_user(clerk), **criteria())
    client.force_login(viewer)
    page = client.get(reverse("bulk_run_list")).content.decode()
    assert f"Bulk run {run.pk}" in page
    assert "New bulk run" not in page
    client.force_login(clerk)
    assert "New bulk run" in client.get(reverse("bulk_run_list")).content.decode()


@pytest.mark.parametrize("typed", ["5,00", "2,5", "5.000,00"])
def test_a_decimal_comma_in_the_criteria_is_refused_not_read_as_hundreds(client, clerk, usd, typed):
    small_invoice(usd, 150)
    client.force_login(clerk)
    response = client.post(reverse("bulk_run_new"), form_data(max_balance_usd=typed))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="error_1_id_max_balance_usd"' in body
    assert "Use a point for decimals, e.g. 1.50" in body
    assert not BulkRun.objects.exists()


def test_a_grouped_largest_balance_is_read_as_typed_in_english(client, supervisor, usd):
    small_invoice(usd, 150)
    client.force_login(supervisor)
    response = client.post(reverse("bulk_run_new"), form_data(max_balance_usd="1,000.00"))
    assert response.status_code == 302
    assert BulkRun.objects.get().max_balance_minor == {"USD": 100000}
