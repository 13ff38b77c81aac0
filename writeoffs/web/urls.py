"""The Transactions > Write-Offs pages.

Each drawer and pop-out step has its own plain URL, so the flow also works as
full pages without JavaScript.
"""

from django.urls import path

from writeoffs.web import actions, approvals, bulk, page

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
    path("accounts/<int:acct_no>/write-offs/export.csv", page.writeoff_csv, name="writeoff_csv"),
    path("accounts/<int:acct_no>/disputes/export.csv", page.dispute_csv, name="dispute_csv"),
    path(
        "accounts/<int:acct_no>/invoices/<int:invoice_no>/recovery/",
        actions.recovery_new,
        name="recovery_new",
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
    path(
        "bulk-runs/<int:run_id>/progress/", bulk.bulk_run_progress, name="bulk_run_progress"
    ),
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
