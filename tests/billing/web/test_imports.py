"""The import screen: upload → check (worker) → preview → Import (worker) → result,
the column mapping, and the views' access rules."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from billing.models import Account, ImportMapping, ImportRun
from billing.sync.tasks import check_import_run, execute_import_run

pytestmark = pytest.mark.django_db

ACCOUNTS = b"external_id,name,currency\ncus_1,Acme Corp,USD\ncus_2,Beta,EUR\ncus_3,Gamma,dollars\n"


def upload(client, content=ACCOUNTS, kind="accounts", **extra):
    data = {"kind": kind, "file": SimpleUploadedFile("accounts.csv", content), **extra}
    return client.post(reverse("import_upload"), data)


def run_worker():
    """What ``db_worker`` does with the tasks the views enqueued."""
    for task in DBTaskResult.objects.filter(status="READY").order_by("enqueued_at"):
        function = {
            "billing.sync.tasks.check_import_run": check_import_run,
            "billing.sync.tasks.execute_import_run": execute_import_run,
        }[task.task_path]
        function.call(*task.args_kwargs["args"])
        task.status = "SUCCESSFUL"
        task.save(update_fields=["status"])


def test_upload_check_preview_import_and_result(client, clerk):
    client.force_login(clerk)
    response = upload(client)
    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("import_detail", args=[run.pk])
    assert run.status == "checking" and run.file.name.startswith("imports/")
    page = client.get(reverse("import_detail", args=[run.pk])).content.decode()
    assert "Checking the file" in page and 'hx-trigger="every 1s"' in page

    run_worker()
    page = client.get(reverse("import_detail", args=[run.pk])).content.decode()
    assert 'data-count="created">2<' in page and 'data-count="refused">1<' in page
    assert "Give the currency as its three-letter ISO 4217 code" in page
    assert not Account.objects.exists()  # the check writes nothing

    assert client.post(reverse("import_start", args=[run.pk])).status_code == 302
    assert ImportRun.objects.get().status == "queued"
    page = client.get(reverse("import_detail", args=[run.pk])).content.decode()
    assert "<progress" in page
    run_worker()
    run.refresh_from_db()
    assert (run.status, run.created, run.refused, run.done_rows) == ("done", 2, 1, 3)
    assert Account.objects.count() == 2
    page = client.get(reverse("import_detail", args=[run.pk])).content.decode()
    assert "The import is complete" in page and "every 1s" not in page

    csv = b"".join(client.get(reverse("import_refused_csv", args=[run.pk])).streaming_content)
    assert csv.decode().splitlines() == [
        "row,column,problem,external_id,name,currency,acct_no,client_acct_id,email,status",
        '4,currency,"Give the currency as its three-letter ISO 4217 code, e.g. USD.",'
        "cus_3,Gamma,dollars,,,,",
    ]


def test_a_run_cannot_be_imported_twice(client, clerk):
    client.force_login(clerk)
    upload(client)
    run_worker()
    run = ImportRun.objects.get()
    client.post(reverse("import_start", args=[run.pk]))
    response = client.post(reverse("import_start", args=[run.pk]), follow=True)
    assert "already been imported" in response.content.decode()
    assert DBTaskResult.objects.filter(task_path__endswith="execute_import_run").count() == 1


def test_a_file_over_the_limit_is_refused_with_413(client, clerk, settings):
    settings.IMPORT_MAX_BYTES = 10
    client.force_login(clerk)
    response = upload(client)
    assert response.status_code == 413
    assert "at most 10 bytes" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_a_request_declaring_more_than_the_limit_is_refused_before_it_is_read(
    client, clerk, settings
):
    settings.IMPORT_MAX_BYTES = 10
    client.force_login(clerk)
    response = upload(client, ACCOUNTS * 2000)
    assert response.status_code == 413
    assert "larger than 10 bytes" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_a_file_with_unknown_columns_offers_the_mapping_and_the_mapping_imports_it(client, clerk):
    client.force_login(clerk)
    upload(client, b"Id,Company,Phone\nc1,Acme,555\n")
    run_worker()
    run = ImportRun.objects.get()
    page = client.get(reverse("import_detail", args=[run.pk])).content.decode()
    assert "Unknown columns: Id, Company, Phone" in page
    assert reverse("import_mapping", args=[run.pk]) in page

    form = client.get(reverse("import_mapping", args=[run.pk])).content.decode()
    assert '<span class="font-monospace">Company</span>' in form
    response = client.post(
        reverse("import_mapping", args=[run.pk]),
        {
            "name": "CRM",
            "column_external_id": "Id",
            "column_name": "Company",
            "fixed_currency": "gbp",
            "currency_in_capitals": "on",
        },
    )
    assert response.status_code == 302
    mapping = ImportMapping.objects.get(name="CRM")
    assert (mapping.columns, mapping.fixed, mapping.currency_in_capitals) == (
        {"external_id": "Id", "name": "Company"},
        {"currency": "gbp"},
        True,
    )
    run_worker()
    run.refresh_from_db()
    assert (run.status, run.created, run.mapping) == ("checked", 1, mapping)
    assert Account.objects.count() == 0
    client.post(reverse("import_start", args=[run.pk]))
    run_worker()
    assert Account.objects.get(external_id="c1").currency == "GBP"


def test_the_upload_page_and_its_htmx_partial(client, clerk):
    client.force_login(clerk)
    full = client.get(reverse("import_upload"))
    partial = client.get(reverse("import_upload"), HTTP_HX_REQUEST="true")
    assert "<html" in full.content.decode() and "<html" not in partial.content.decode()
    assert 'id="import-upload"' in partial.content.decode()
    assert "HX-Request" in full["Vary"]
    assert 'href="/imports/"' in full.content.decode()  # in the navigation


def test_the_status_fragment_is_what_htmx_polls(client, clerk):
    client.force_login(clerk)
    upload(client)
    run = ImportRun.objects.get()
    response = client.get(reverse("import_detail", args=[run.pk]), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and body.strip().startswith('<section id="import-status"')


def test_anonymous_is_sent_to_sign_in_and_a_viewer_gets_403(client, viewer):
    assert client.get(reverse("import_upload"))["Location"].startswith("/login/")
    client.force_login(viewer)
    assert client.get(reverse("import_upload")).status_code == 403
    assert b"Import</a>" not in client.get(reverse("home")).content


def test_wrong_methods_are_405(client, clerk):
    client.force_login(clerk)
    upload(client)
    run = ImportRun.objects.get()
    assert client.get(reverse("import_start", args=[run.pk])).status_code == 405
    assert client.post(reverse("import_detail", args=[run.pk])).status_code == 405


def test_an_unknown_import_is_404(client, clerk):
    client.force_login(clerk)
    assert client.get(reverse("import_detail", args=[999])).status_code == 404
