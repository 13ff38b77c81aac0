"""The JSON API (seed 001), mounted at /api/."""

from django.urls import path, re_path

from writeoffs.api import calls, case_files, cases, feed, sync, transport

urlpatterns = [
    path(
        "create_writeoff_or_dispute_m",
        calls.create_writeoff_or_dispute_m,
        name="api_create_writeoff_or_dispute_m",
    ),
    path(
        "get_acct_writeoff_or_disputes_m",
        calls.get_acct_writeoff_or_disputes_m,
        name="api_get_acct_writeoff_or_disputes_m",
    ),
    path("settle_dispute_hold_m", calls.settle_dispute_hold_m, name="api_settle_dispute_hold_m"),
    path("get_journal_lines_m", calls.get_journal_lines_m, name="api_get_journal_lines_m"),
    path("v1/events", feed.events_feed, name="api_events"),
    path("v1/accounts/<str:external_id>", sync.put_account, name="api_put_account"),
    path("v1/invoices/<str:external_id>", sync.put_invoice, name="api_put_invoice"),
    path("v1/payments/<str:external_id>", sync.put_payment, name="api_put_payment"),
    path("v1/cases", cases.cases_collection, name="api_cases"),
    path("v1/cases/<str:number>", cases.case_detail, name="api_case"),
    path("v1/cases/<str:number>/notes", cases.case_notes, name="api_case_notes"),
    path("v1/cases/<str:number>/settle", cases.case_settlement, name="api_case_settle"),
    path(
        "v1/cases/<str:number>/attachments",
        case_files.case_attachment_upload,
        name="api_case_attachment_upload",
    ),
    path(
        "v1/cases/<str:number>/attachments/<str:attachment_id>",
        case_files.case_attachment_file,
        name="api_case_attachment_file",
    ),
    path("openapi.json", transport.openapi_json, name="api_openapi"),
    # Anything else under /api/ answers in JSON too, never with an HTML 404 page.
    re_path(r"^(?P<path>.*)$", transport.unknown_call, name="api_unknown_call"),
]
