"""A report job in Chromium, computed by a real ``db_worker`` process: aging as of a
past date too slow for a request is offered as a job, the bar fills while the worker
runs it, the CSV downloads, and the job stays listed with its file."""

from __future__ import annotations

import csv

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import htmx_settled
from tests.workers import start_worker
from tests.writeoffs.reports_fixture import DAY, build_report_ledger
from writeoffs.models import ReportJob

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ledger(clerk, supervisor, settings):
    return build_report_ledger(clerk, supervisor, settings)


@pytest.fixture
def worker(live_server):
    process = start_worker("report-job-worker")
    yield process
    process.terminate()
    process.wait(timeout=30)


def test_a_past_aging_runs_on_the_worker_and_downloads_from_the_job_list(
    page: Page, live_server, sign_in, ledger, worker, settings, shot, csp_violations, tmp_path
):
    # Every past date counts as too slow for a request (the live server reads it).
    settings.REPORT_JOB_THRESHOLD_SECONDS = 0
    past = ledger.today - 10 * DAY
    sign_in(page, "supervisor")
    page.goto(f"{live_server.url}/reports/aging/")
    page.get_by_role("textbox", name="As of").fill(past.isoformat())
    page.get_by_role("button", name="Show").click()
    htmx_settled(page)
    offer = page.get_by_role("region", name="Aging as of", exact=False)
    expect(offer.get_by_role("heading", name="runs as a report job", exact=False)).to_be_visible()
    assert not ReportJob.objects.exists()  # offered, not computed nor queued
    shot(page, "offered")

    page.get_by_role("button", name="Run as a report job").click()
    # The job's page polls until the worker has written the file.
    done = page.get_by_role("link", name="download the CSV file")
    expect(done).to_be_visible(timeout=60_000)
    expect(page.locator("#report-job-bar")).to_have_attribute("value", "100")
    job = ReportJob.objects.get()
    assert (job.status, job.as_of, job.requested_by.username) == ("done", past, "supervisor")
    shot(page, "done")

    with page.expect_download() as download:
        done.click()
    saved = tmp_path / "aging.csv"
    download.value.save_as(saved)
    assert saved.read_bytes().decode() == job.content
    with saved.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    # Per account, then each currency's total: the fixture's hand-worked figures.
    assert [row[2:4] for row in rows[-2:]] == [["Total", "EUR"], ["Total", "USD"]]
    assert rows[-1][-1] == "200.00"

    # It stays listed, with its file, under Report jobs.
    page.get_by_role("link", name="All report jobs").click()
    listed = page.get_by_role("region", name="Your report jobs")
    expect(listed.get_by_role("row")).to_have_count(2)  # the header and this job
    expect(listed.get_by_role("cell", name="Done")).to_be_visible()
    expect(listed.get_by_role("link", name="Download (CSV)")).to_have_attribute(
        "download", job.filename
    )
    assert csp_violations == []
