"""An import in Chromium, checked and written by a real ``db_worker`` process: upload a
file with one bad row, read the preview, import, watch the bar, download the refused
rows, and find the imported account."""

from __future__ import annotations

import csv

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from billing.models import Account
from tests.workers import start_worker

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNTS = (
    "external_id,name,currency,email\n"
    "cus_b1,Browser Traders,USD,ap@browser.example\n"
    "cus_b2,Second Browser Ltd,EUR,\n"
    "cus_b3,Bad Currency Co,dollars,\n"
)


@pytest.fixture
def worker(live_server):
    """One worker on the live server's test database and its upload directory."""
    process = start_worker("import-worker", extra_env={"MEDIA_ROOT": str(settings.MEDIA_ROOT)})
    yield process
    process.terminate()
    process.wait(timeout=30)


def test_upload_preview_import_and_download_the_refused_rows(
    page: Page, live_server, sign_in, clerk, worker, shot, csp_violations, tmp_path
):
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS)
    sign_in(page, "clerk")
    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_label("What the file holds").select_option(label="Accounts")
    page.get_by_label("CSV file (UTF-8)").set_input_files(path)
    page.get_by_role("button", name="Check the file").click()

    # The worker checks it; the page polls until the preview is there.
    expect(page.get_by_role("heading", name="Preview")).to_be_visible(timeout=60_000)
    expect(page.locator('[data-count="created"]')).to_have_text("2")
    expect(page.locator('[data-count="refused"]')).to_have_text("1")
    expect(
        page.get_by_role("cell", name="Give the currency as its three-letter ISO 4217 code")
    ).to_be_visible()
    assert not Account.objects.filter(external_id__startswith="cus_b").exists()
    shot(page, "preview")

    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("The import is complete")).to_be_visible(timeout=60_000)
    expect(page.locator('[data-count="created"]')).to_have_text("2")
    shot(page, "result")
    assert set(Account.objects.filter(external_id__startswith="cus_b").values_list(
        "name", flat=True)) == {"Browser Traders", "Second Browser Ltd"}  # fmt: skip

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the refused rows (CSV)").click()
    saved = tmp_path / "refused.csv"
    download.value.save_as(saved)
    with saved.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["row"], r["column"], r["external_id"]) for r in rows] == [
        ("4", "currency", "cus_b3")
    ]
    assert csp_violations == []
