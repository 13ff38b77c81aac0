"""Report jobs (writeoffs/reports/jobs.py, the views in writeoffs/web/report_jobs.py):
a past date too slow for a request is offered as a job, computed on the worker from
the journal, and downloaded by its requester only."""

from __future__ import annotations

import csv
import io

import pytest
from django.db.models import Max
from django.urls import reverse

from billing.actors import Actor
from billing.errors import INVALID_INPUT, BillingError
from billing.ledger.aggregates import lines_to_read
from billing.ledger.close import lock_date_move
from billing.models import JournalLine
from billing.rules import today
from tests.writeoffs.reports_fixture import DAY, build_report_ledger
from writeoffs.models import ReportJob
from writeoffs.reports.jobs import aging_runs_as_job, report_job_request, report_job_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(clerk, supervisor, settings):
    return build_report_ledger(clerk, supervisor, settings)


@pytest.fixture
def always_a_job(settings):
    settings.REPORT_JOB_THRESHOLD_SECONDS = 0


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_a_past_date_over_the_threshold_is_offered_as_a_job_and_not_computed(
    ledger, client, viewer, always_a_job, django_assert_max_num_queries
):
    client.force_login(viewer)
    past = (ledger.today - 10 * DAY).isoformat()
    with django_assert_max_num_queries(12):  # no report query: session, user, estimate
        page = client.get(reverse("report_aging"), {"as_of": past})
    text = page.content.decode()
    assert page.status_code == 200
    assert "runs as a report job" in text
    assert 'name="kind" value="aging"' in text
    assert "Check against the trial balance" not in text
    # Its CSV link goes to the same offer, never a file computed in the request.
    download = client.get(reverse("report_aging_csv"), {"as_of": past})
    assert download.status_code == 302 and reverse("report_aging") in download["Location"]


def test_today_and_a_cheap_past_date_are_never_a_job(ledger, settings):
    settings.REPORT_JOB_THRESHOLD_SECONDS = 0
    assert not aging_runs_as_job(today())
    settings.REPORT_JOB_THRESHOLD_SECONDS = 2
    assert not aging_runs_as_job(ledger.today - 10 * DAY)


def test_the_job_writes_the_same_aging_file_the_page_would_have(ledger, client, viewer, settings):
    client.force_login(viewer)
    past = (ledger.today - 10 * DAY).isoformat()
    direct = b"".join(client.get(reverse("report_aging_csv"), {"as_of": past}).streaming_content)
    settings.REPORT_JOB_THRESHOLD_SECONDS = 0
    asked = client.post(reverse("report_job_new"), {"kind": "aging", "as_of": past})
    job = ReportJob.objects.get()
    assert asked.status_code == 302 and asked["Location"] == reverse("report_job", args=[job.pk])
    assert (job.status, job.requested_by) == (ReportJob.Status.QUEUED, viewer)
    waiting = client.get(reverse("report_job", args=[job.pk]), headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in waiting.content.decode()
    assert "HX-Request" in waiting["Vary"]
    assert client.get(reverse("report_job_download", args=[job.pk])).status_code == 404
    job = report_job_run(job.pk)
    assert (job.status, job.steps_done, job.steps_total) == ("done", 3, 3)  # USD, EUR, file
    assert rows_of(job.content) == rows_of(direct.decode())
    # Per account, then each currency's total (the fixture's hand-worked figures at D).
    assert [row[2:4] for row in rows_of(job.content)[-2:]] == [["Total", "EUR"], ["Total", "USD"]]
    assert rows_of(job.content)[-1][-1] == "200.00"
    done = client.get(reverse("report_job", args=[job.pk]), headers={"HX-Request": "true"})
    assert "every 2s" not in done.content.decode()
    assert f'download="{job.filename}"' in done.content.decode()
    download = client.get(reverse("report_job_download", args=[job.pk]))
    assert download["Content-Disposition"] == f'attachment; filename="{job.filename}"'
    assert b"".join(download.streaming_content).decode() == job.content
    listed = client.get(reverse("report_jobs")).content.decode()
    assert job.filename in listed
    # Run again (a second worker, say): nothing changes.
    assert report_job_run(job.pk).content == job.content


def test_a_trial_balance_job_lists_each_code_and_the_totals(ledger, clerk, settings):
    job = report_job_request(
        kind="trial_balance",
        as_of=ledger.today - DAY,
        start=ledger.today.replace(day=1) - 365 * DAY,
        actor=Actor.for_user(clerk),
    )
    job = report_job_run(job.pk)
    rows = rows_of(job.content)
    assert rows[0] == [
        "Code",
        "Name",
        "Kind",
        "Currency",
        "Opening",
        "Debits",
        "Credits",
        "Closing",
    ]
    totals = [row for row in rows if row[1] == "Total"]
    assert {row[3] for row in totals} == {"USD", "EUR"}
    assert all(row[5] == row[6] for row in totals)  # debits = credits per currency
    assert job.filename.startswith("trial-balance-")


def test_the_trial_balance_page_offers_a_job_over_the_threshold(
    ledger, client, controller, always_a_job
):
    client.force_login(controller)
    page = client.get(reverse("trial_balance"), {"start": "", "end": ledger.today.isoformat()})
    text = page.content.decode()
    assert "runs as a report job" in text and 'value="trial_balance"' in text
    assert "Debits = credits" not in text


def test_a_job_is_its_requesters_alone(ledger, client, viewer, clerk):
    job = report_job_request(kind="aging", as_of=ledger.today - DAY, actor=Actor.for_user(clerk))
    job = report_job_run(job.pk)
    assert job.filename
    client.force_login(viewer)
    assert client.get(reverse("report_job", args=[job.pk])).status_code == 404
    assert client.get(reverse("report_job_download", args=[job.pk])).status_code == 404
    assert job.filename not in client.get(reverse("report_jobs")).content.decode()


def test_a_future_date_is_refused_next_to_the_field(client, viewer):
    client.force_login(viewer)
    future = (today() + DAY).isoformat()
    page = client.post(reverse("report_job_new"), {"kind": "aging", "as_of": future})
    assert page.status_code == 400
    assert "The as-of date cannot be in the future." in page.content.decode()
    assert not ReportJob.objects.exists()
    with pytest.raises(BillingError) as refused:
        report_job_request(
            kind="trial_balance",
            as_of=today(),
            start=today() + DAY,
            actor=Actor.for_user(viewer),
        )
    assert (refused.value.code, refused.value.field) == (INVALID_INPUT, "start")


def test_a_failure_is_recorded_on_the_job(ledger, clerk, monkeypatch):
    job = report_job_request(kind="aging", as_of=ledger.today - DAY, actor=Actor.for_user(clerk))

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("writeoffs.reports.jobs.aging_report", broken)
    job = report_job_run(job.pk)
    assert job.status == ReportJob.Status.FAILED
    assert job.error == "RuntimeError: the database went away"
    assert job.finished_at is not None and job.percent == 100


def test_the_estimate_leaves_out_the_days_the_stored_months_cover(ledger, controller_actor):
    every_line = JournalLine.objects.aggregate(last=Max("pk"))["last"]
    assert lines_to_read(None, today(), stored_months=False) == every_line
    assert lines_to_read(None, today()) == every_line  # nothing stored yet
    month_end = today().replace(day=1) - DAY
    lock_date_move(locked_through=month_end, reason="Closed", actor=controller_actor)
    open_part = lines_to_read(None, today())
    assert 0 < open_part < every_line
    assert lines_to_read(None, today(), stored_months=False) == every_line
    # Aging reads every line however many months are stored.
    assert aging_runs_as_job(today() - DAY) is False
