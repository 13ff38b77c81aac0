"""The Transactions > Write-Offs pages.

Each drawer and pop-out step has its own plain URL, so the flow also works as
full pages without JavaScript.
"""

from django.urls import path

from writeoffs.web import (
    actions,
    approvals,
    bulk,
    case_actions,
    case_files,
    case_open,
    cases,
    credit_notes,
    page,
)

urlpatterns = [
    path("accounts/<int:acct_no>/write-offs/", page.writeoff_page, name="writeoff_page"),
    path(
        "accounts/<int:acct_no>/write-offs/new/",
        page.writeoff_picker,
        name="writeoff_picker",
    ),
    path(
        "accounts/<int:acct_no>/write-offs/new/<int:invoice_no>/",
        page.writeoff_entry,
        name="writeoff_entry",
    ),
    path(
        "accounts/<int:acct_no>/write-offs/new/<int:invoice_no>/confirm/",
        page.writeoff_confirm,
        name="writeoff_confirm",
    ),
    path("accounts/<int:acct_no>/disputes/new/", page.dispute_picker, name="dispute_picker"),
    path(
        "accounts/<int:acct_no>/disputes/new/<int:invoice_no>/",
        page.dispute_entry,
        name="dispute_entry",
    ),
    path(
        "accounts/<int:acct_no>/disputes/new/<int:invoice_no>/confirm/",
        page.dispute_confirm,
        name="dispute_confirm",
    ),
    path(
        "accounts/<int:acct_no>/disputes/<int:dispute_id>/settle/<slug:action>/",
        actions.dispute_settle,
        name="dispute_settle",
    ),
    path(
        "accounts/<int:acct_no>/write-offs/<int:writeoff_id>/reverse/",
        actions.writeoff_reverse,
        name="writeoff_reverse",
    ),
    path(
        "accounts/<int:acct_no>/write-offs/<int:writeoff_id>/withdraw/",
        actions.writeoff_withdraw,
        name="writeoff_withdraw",
    ),
    # Opening a dispute case from an account: picker, entry, confirm.
    path("accounts/<int:acct_no>/cases/new/", case_open.case_open_picker, name="case_open_picker"),
    path(
        "accounts/<int:acct_no>/cases/new/entry/",
        case_open.case_open_entry,
        name="case_open_entry",
    ),
    path(
        "accounts/<int:acct_no>/cases/new/confirm/",
        case_open.case_open_confirm,
        name="case_open_confirm",
    ),
    # Dispute cases (across accounts; a case's number is its address).
    path("cases/", cases.case_list, name="case_list"),
    path("cases/assign/", case_actions.case_bulk_assign_view, name="case_bulk_assign"),
    path("cases/<int:number>/", cases.case_detail, name="case_detail"),
    path("cases/<int:number>/notes/new/", case_actions.case_note_new, name="case_note_new"),
    path("cases/<int:number>/assign/", case_actions.case_assign_view, name="case_assign"),
    path("cases/<int:number>/status/", case_actions.case_status_view, name="case_status"),
    path("cases/<int:number>/settle/", case_actions.case_settle_view, name="case_settle"),
    path("cases/<int:number>/due-date/", case_actions.case_due_date_view, name="case_due_date"),
    path("cases/<int:number>/reject/", case_actions.case_reject_view, name="case_reject"),
    path(
        "cases/<int:number>/attachments/new/",
        case_files.case_attachment_new,
        name="case_attachment_new",
    ),
    path(
        "cases/<int:number>/attachments/<int:attachment_id>/",
        case_files.case_attachment_download,
        name="case_attachment_download",
    ),
    path("accounts/<int:acct_no>/write-offs/export.csv", page.writeoff_csv, name="writeoff_csv"),
    path("accounts/<int:acct_no>/disputes/export.csv", page.dispute_csv, name="dispute_csv"),
    path(
        "accounts/<int:acct_no>/invoices/<int:invoice_no>/recovery/",
        actions.recovery_new,
        name="recovery_new",
    ),
    path(
        "accounts/<int:acct_no>/credit-notes/<str:credit_note_no>/",
        credit_notes.credit_note_detail,
        name="credit_note_detail",
    ),
    path("approvals/", approvals.approval_queue, name="approval_queue"),
    path("my-requests/", approvals.my_requests, name="my_requests"),
    path(
        "approvals/<int:writeoff_id>/approve/",
        approvals.approval_approve,
        name="approval_approve",
    ),
    path("approvals/<int:writeoff_id>/reject/", approvals.approval_reject, name="approval_reject"),
    # Bulk small-balance write-off runs.
    path("bulk-runs/", bulk.bulk_run_list, name="bulk_run_list"),
    path("bulk-runs/new/", bulk.bulk_run_new, name="bulk_run_new"),
    path("bulk-runs/<int:run_id>/", bulk.bulk_run_detail, name="bulk_run_detail"),
    path("bulk-runs/<int:run_id>/progress/", bulk.bulk_run_progress, name="bulk_run_progress"),
    path("bulk-runs/<int:run_id>/exclude/", bulk.bulk_run_exclude, name="bulk_run_exclude"),
    path("bulk-runs/<int:run_id>/start/", bulk.bulk_run_start, name="bulk_run_start"),
    path(
        "bulk-runs/<int:run_id>/request-approval/",
        bulk.bulk_run_request_approval,
        name="bulk_run_request_approval",
    ),
    path("bulk-runs/<int:run_id>/cancel/", bulk.bulk_run_cancel, name="bulk_run_cancel"),
    path("bulk-runs/<int:run_id>/resume/", bulk.bulk_run_resume, name="bulk_run_resume"),
    path("bulk-runs/<int:run_id>/log.csv", bulk.bulk_run_log, name="bulk_run_log"),
]
