"""Every CSV export, end to end: text someone typed never reaches a spreadsheet as a
live formula, amounts stay numbers, and the file streams uncached.

Each test puts a hostile value where a person or an admin can put it (an account
name, a correction reason, a username, an accounting code's name) and downloads
the export through its URL as a user who may read it.
"""

import csv
import datetime
import io

import pytest
from django.urls import get_resolver, reverse

from billing.actors import Actor
from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.models import AccountingCode, Invoice
from billing.receivables.invoices import invoice_revenue_code_correct
from billing.roles import CLERK, SUPERVISOR
from billing.rules import today
from tests.writeoffs.bulk_support import criteria, small_invoice
from writeoffs.allowance.provision import provision_run
from writeoffs.approvals.decisions import writeoff_approve
from writeoffs.bulk.execute import bulk_run_execute
from writeoffs.bulk.log import LOG_HEADER
from writeoffs.bulk.runs import bulk_run_create, bulk_run_start
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import BulkRunItem, ProvisionRate
from writeoffs.reports.jobs import report_job_request, report_job_run
from writeoffs.web.exports import DISPUTE_HEADER, WRITEOFF_HEADER

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://x")'
DAY = datetime.timedelta(days=1)

# The named routes of every CSV file the product serves; each has a test below.
CSV_ROUTES = {
    "journal_export",
    "report_aging_csv",
    "report_allowance_rollforward_csv",
    "report_writeoffs_csv",
    "writeoff_csv",
    "dispute_csv",
    "bulk_run_log",
    "import_refused_csv",
    "report_job_download",
}


def download(client, url: str, params: dict | None = None) -> list[dict[str, str]]:
    response = client.get(url, params or {})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def rename_revenue_code(invoice: Invoice, **fields) -> AccountingCode:
    """What an admin may do to a code in the admin: rename it."""
    AccountingCode.objects.filter(pk=invoice.revenue_code_id).update(**fields)
    return AccountingCode.objects.get(pk=invoice.revenue_code_id)


def test_every_csv_url_is_covered_here():
    found = set()

    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns)
            elif str(pattern.pattern).endswith(".csv"):
                found.add(pattern.name)

    walk(get_resolver().url_patterns)
    assert found == CSV_ROUTES


def test_journal_export_guards_the_memo_the_code_name_and_the_approver(
    client, supervisor, account, admin_user, clerk_actor
):
    # A correction reason (an admin's free text) becomes the reclassification's memo.
    invoice = InvoiceFactory(account=account, invoice_no=30001, total_minor=2_000_000)
    new_code = AccountingCode.objects.create(
        code="4100", name="-Services revenue", kind=AccountingCode.Kind.REVENUE
    )
    invoice_revenue_code_correct(
        invoice_id=invoice.pk,
        revenue_code_id=new_code.pk,
        actor=Actor.for_user(admin_user),
        reason="+1 mapped to services",
    )
    # A write-off over the clerk's limit, approved by a supervisor with a hostile name.
    pending = writeoff_create(
        invoice_id=invoice.pk, amount="600.00", reason_code=0, comments="c", actor=clerk_actor
    )
    assert pending.is_pending
    approver = UserFactory(username="@SUM(1)", groups=[SUPERVISOR])
    writeoff_approve(writeoff_id=pending.pk, actor=Actor.for_user(approver))
    AccountingCode.objects.filter(pk=new_code.pk).update(name=HYPERLINK)

    client.force_login(supervisor)
    rows = download(
        client,
        reverse("journal_export"),
        {"start": today().isoformat(), "end": today().isoformat()},
    )

    memos = {row["Memo"] for row in rows}
    assert "'+1 mapped to services" in memos
    assert "+1 mapped to services" not in memos
    assert "'" + HYPERLINK in {row["Code name"] for row in rows}
    assert {row["Approver"] for row in rows if row["Approver"]} == {"'@SUM(1)"}
    # Amounts stay plain numbers beside their currency.
    written = [row for row in rows if row["Approver"]]
    assert {row["Debit"] or row["Credit"] for row in written} == {"600.00"}


def test_aging_export_guards_the_account_name(client, viewer):
    hostile = AccountFactory(acct_no=5002, name=HYPERLINK, currency="USD")
    InvoiceFactory(account=hostile, invoice_no=40001, total_minor=12345)

    client.force_login(viewer)
    rows = download(client, reverse("report_aging_csv"))

    account_row = next(row for row in rows if row["Account No."] == "5002")
    assert account_row["Account"] == "'" + HYPERLINK
    assert account_row["Total"] == "123.45"
    assert rows[-1]["Account"] == "Total"


def test_a_report_jobs_file_guards_the_account_name(client, viewer):
    hostile = AccountFactory(acct_no=5002, name=HYPERLINK, currency="USD")
    InvoiceFactory(account=hostile, invoice_no=40001, total_minor=12345)
    job = report_job_request(kind="aging", as_of=today(), actor=Actor.for_user(viewer))
    report_job_run(job.pk)

    client.force_login(viewer)
    rows = download(client, reverse("report_job_download", args=[job.pk]))

    account_row = next(row for row in rows if row["Account No."] == "5002")
    assert account_row["Account"] == "'" + HYPERLINK
    assert account_row["Total"] == "123.45"


def test_allowance_rollforward_export_keeps_a_release_a_negative_number(
    client, controller, controller_actor, account
):
    this_month = today().replace(day=1)
    second = this_month - DAY
    first = second.replace(day=1) - DAY
    InvoiceFactory(account=account, invoice_no=40003, total_minor=12345, bill_date=first - 5 * DAY)
    provision_run(actor=controller_actor, month_end=first)
    ProvisionRate.objects.filter(currency="USD").update(rate=0)
    provision_run(actor=controller_actor, month_end=second)

    client.force_login(controller)
    rows = download(
        client,
        reverse("report_allowance_rollforward_csv"),
        {"start": first.replace(day=1).isoformat(), "end": second.isoformat()},
    )

    assert [(row["Month"], row["Provisions"], row["Closing"]) for row in rows] == [
        (f"{first:%Y-%m}", "1.23", "1.23"),
        (f"{second:%Y-%m}", "-1.23", "0.00"),
    ]
    assert {row["Agrees"] for row in rows} == {"yes"}


def test_writeoff_analysis_export_guards_the_username_and_keeps_negative_amounts(
    client, viewer, account, supervisor_actor
):
    clerk = UserFactory(username="@SUM(1)", groups=[CLERK])
    invoice = InvoiceFactory(account=account, invoice_no=40002, total_minor=12000)
    writeoff = writeoff_create(
        invoice_id=invoice.pk,
        amount="5.00",
        reason_code=0,
        comments="c",
        writeoff_date=today() - 40 * DAY,
        actor=Actor.for_user(clerk),
    )
    # Reversed in a later month: that month's net is negative.
    writeoff_reverse(writeoff_id=writeoff.pk, reason="Paid after all", actor=supervisor_actor)

    client.force_login(viewer)
    rows = download(client, reverse("report_writeoffs_csv"))

    assert {row["User"] for row in rows} == {"'@SUM(1)"}
    assert sorted(row["Net"] for row in rows) == ["-5.00", "5.00"]


def test_writeoffs_table_export_guards_every_text_cell(client, viewer, account, invoice):
    writeoff_create(
        invoice_id=invoice.pk,
        amount="5.00",
        reason_code=0,
        comments=HYPERLINK,
        actor=Actor.for_user(UserFactory(username="-clerk", groups=[CLERK])),
    )
    # An admin renames the revenue code the write-off posted to.
    rename_revenue_code(invoice, code="@SUM(1)")

    client.force_login(viewer)
    (row,) = download(client, reverse("writeoff_csv", args=[account.acct_no]))

    assert list(row) == WRITEOFF_HEADER
    assert row["Accounting code"] == "'@SUM(1)"
    assert row["Comments"] == "'" + HYPERLINK
    assert row["Created by"] == "'-clerk"
    assert row["Amount"] == "5.00"


def test_disputes_table_export_guards_every_text_cell(client, viewer, account, invoice):
    clerk = UserFactory(username="-clerk", groups=[CLERK])
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="10.00", comments=HYPERLINK, actor=Actor.for_user(clerk)
    )
    settler = UserFactory(username="+supervisor", groups=[SUPERVISOR])
    dispute_hold_settle(
        dispute_hold_id=hold.pk,
        action="release",
        comments="+1 released",
        actor=Actor.for_user(settler),
    )

    client.force_login(viewer)
    (row,) = download(client, reverse("dispute_csv", args=[account.acct_no]))

    assert list(row) == DISPUTE_HEADER
    assert row["Comments"] == "'" + HYPERLINK
    assert row["Created by"] == "'-clerk"
    assert row["Settled by"] == "'+supervisor"
    assert row["Settlement comments"] == "'+1 released"
    assert row["Amount"] == "10.00"


def test_bulk_run_log_guards_the_message(client, clerk, viewer):
    usd = AccountFactory(acct_no=7101, currency="USD")
    small_invoice(usd, 100)
    actor = Actor.for_user(clerk)
    run = bulk_run_create(actor=actor, **criteria())
    bulk_run_start(run_id=run.pk, actor=actor)
    bulk_run_execute(run.pk)
    # The message is whatever the run recorded: a refusal's text, a skip rule's label.
    BulkRunItem.objects.filter(run=run).update(message="@SUM(1)")

    client.force_login(viewer)
    (row,) = download(client, reverse("bulk_run_log", args=[run.pk]))

    assert list(row) == LOG_HEADER
    assert row["message"] == "'@SUM(1)"
    assert row["amount"] == "1.00"
    assert row["state"] == "written"


def test_import_refused_rows_guard_the_files_own_text(client, clerk):
    from django.core.files.base import ContentFile

    from billing.models import ImportRun
    from billing.sync.imports.runs import import_run_check

    run = ImportRun.objects.create(
        kind="accounts",
        file=ContentFile(b"external_id,name,currency\ncus_1,=HYPERLINK(1),dollars\n", "a.csv"),
        original_name="a.csv",
        created_by=clerk,
    )
    import_run_check(run.pk)

    client.force_login(clerk)
    (row,) = download(client, reverse("import_refused_csv", args=[run.pk]))

    assert (row["row"], row["column"], row["currency"]) == ("2", "currency", "dollars")
    assert row["name"] == "'=HYPERLINK(1)"
