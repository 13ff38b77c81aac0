"""The staff home page, the reports and the worklists across accounts."""

from django.urls import path

from writeoffs.web import allowance, report_jobs
from writeoffs.web import reports as views

urlpatterns = [
    path("", views.home, name="home"),
    path("reports/aging/", views.aging, name="report_aging"),
    path("reports/aging/invoices/", views.aging_invoices, name="report_aging_invoices"),
    path("reports/aging/export.csv", views.aging_csv, name="report_aging_csv"),
    path("reports/allowance/", allowance.allowance_page, name="report_allowance"),
    path("reports/allowance/post/", allowance.allowance_confirm, name="report_allowance_confirm"),
    path(
        "reports/allowance/roll-forward/",
        allowance.rollforward_page,
        name="report_allowance_rollforward",
    ),
    path(
        "reports/allowance/roll-forward.csv",
        allowance.rollforward_csv,
        name="report_allowance_rollforward_csv",
    ),
    path("reports/jobs/", report_jobs.report_job_list, name="report_jobs"),
    path("reports/jobs/new/", report_jobs.report_job_new, name="report_job_new"),
    path("reports/jobs/<int:job_id>/", report_jobs.report_job_detail, name="report_job"),
    path(
        "reports/jobs/<int:job_id>/download.csv",
        report_jobs.report_job_download,
        name="report_job_download",
    ),
    path("reports/write-offs/", views.writeoff_analysis, name="report_writeoffs"),
    path("reports/write-offs/export.csv", views.writeoff_analysis_csv, name="report_writeoffs_csv"),
    path("reports/cases/", views.case_report, name="report_cases"),
    path("worklists/disputes/", views.dispute_worklist, name="worklist_disputes"),
]
