"""The Transactions > Write-Offs pages.

Each drawer and pop-out step has its own plain URL, so the flow also works as
full pages without JavaScript.
"""

from django.urls import path

from writeoffs import bulk_views, views

urlpatterns = [
    path("accounts/<int:acct_no>/write-offs/", views.writeoff_page, name="writeoff_page"),
    path(
        "accounts/<int:acct_no>/write-offs/new/",
        views.writeoff_picker,
        name="writeoff_picker",
    ),
    path(
        "accounts/<int:acct_no>/write-offs/new/<int:invoice_no>/",
        views.writeoff_entry,
        name="writeoff_entry",
    ),
    path(
        "accounts/<int:acct_no>/write-offs/new/<int:invoice_no>/confirm/",
        views.writeoff_confirm,
        name="writeoff_confirm",
    ),
    path("accounts/<int:acct_no>/disputes/new/", views.dispute_picker, name="dispute_picker"),
    path(
        "accounts/<int:acct_no>/disputes/new/<int:invoice_no>/",
        views.dispute_entry,
        name="dispute_entry",
    ),
    path(
        "accounts/<int:acct_no>/disputes/new/<int:invoice_no>/confirm/",
        views.dispute_confirm,
        name="dispute_confirm",
    ),
    path(
        "accounts/<int:acct_no>/disputes/<int:dispute_id>/settle/<slug:action>/",
        views.dispute_settle,
        name="dispute_settle",
    ),
    path(
        "accounts/<int:acct_no>/write-offs/<int:writeoff_id>/reverse/",
        views.writeoff_reverse,
        name="writeoff_reverse",
    ),
    path(
        "accounts/<int:acct_no>/write-offs/<int:writeoff_id>/withdraw/",
        views.writeoff_withdraw,
        name="writeoff_withdraw",
    ),
    path("accounts/<int:acct_no>/write-offs/export.csv", views.writeoff_csv, name="writeoff_csv"),
    path("accounts/<int:acct_no>/disputes/export.csv", views.dispute_csv, name="dispute_csv"),
    path(
        "accounts/<int:acct_no>/invoices/<int:invoice_no>/recovery/",
        views.recovery_new,
        name="recovery_new",
    ),
    path("approvals/", views.approval_queue, name="approval_queue"),
    path("approvals/<int:writeoff_id>/approve/", views.approval_approve, name="approval_approve"),
    path("approvals/<int:writeoff_id>/reject/", views.approval_reject, name="approval_reject"),
    # Bulk small-balance write-off runs.
    path("bulk-runs/", bulk_views.bulk_run_list, name="bulk_run_list"),
    path("bulk-runs/new/", bulk_views.bulk_run_new, name="bulk_run_new"),
    path("bulk-runs/<int:run_id>/", bulk_views.bulk_run_detail, name="bulk_run_detail"),
    path(
        "bulk-runs/<int:run_id>/progress/", bulk_views.bulk_run_progress, name="bulk_run_progress"
    ),
    path("bulk-runs/<int:run_id>/exclude/", bulk_views.bulk_run_exclude, name="bulk_run_exclude"),
    path("bulk-runs/<int:run_id>/start/", bulk_views.bulk_run_start, name="bulk_run_start"),
    path("bulk-runs/<int:run_id>/cancel/", bulk_views.bulk_run_cancel, name="bulk_run_cancel"),
    path("bulk-runs/<int:run_id>/resume/", bulk_views.bulk_run_resume, name="bulk_run_resume"),
    path("bulk-runs/<int:run_id>/log.csv", bulk_views.bulk_run_log, name="bulk_run_log"),
]
