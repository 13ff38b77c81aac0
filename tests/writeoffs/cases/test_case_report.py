"""writeoffs/reports/cases.py and its page: cases by category, root cause and days
to resolve."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.rules import today
from writeoffs.cases.open import CaseHold
from writeoffs.models import Case, CaseStatus, RootCause
from writeoffs.reports.cases import cases_report

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def cases(open_case, invoice):
    def hold():
        return [CaseHold(invoice_no=invoice.invoice_no, amount="1.00")]

    quick, slow, rejected, still_open = (
        open_case(holds=hold()),
        open_case(holds=hold()),
        open_case(holds=hold(), category="quality"),
        open_case(holds=hold(), category="quality"),
    )
    now = timezone.now()
    opened = now - datetime.timedelta(days=40)
    pricing_error = RootCause.objects.get(code="pricing_error")
    # Closed cases, as the services leave them (their own tests cover how).
    Case.objects.filter(pk=quick.pk).update(
        created_at=now - datetime.timedelta(days=3),
        status=CaseStatus.RESOLVED,
        resolved_at=now,
        root_cause=pricing_error,
    )
    Case.objects.filter(pk=slow.pk).update(
        created_at=opened, status=CaseStatus.RESOLVED, resolved_at=now, root_cause=pricing_error
    )
    Case.objects.filter(pk=rejected.pk).update(status=CaseStatus.REJECTED, resolved_at=now)
    return quick, slow, rejected, still_open


def test_report_counts_by_category_root_cause_and_days_to_resolve(cases):
    report = cases_report(today() - datetime.timedelta(days=60), today())
    by_name = {row.name: row for row in report.categories}
    assert (by_name["Pricing"].opened, by_name["Pricing"].resolved) == (2, 2)
    assert sorted(by_name["Pricing"].days) == [3, 40]
    assert by_name["Pricing"].within_target == 1  # target 14 days
    assert (by_name["Quality"].rejected, by_name["Quality"].still_open) == (1, 1)
    assert [(row.name, row.resolved) for row in report.root_causes] == [("Pricing error", 2)]
    assert dict(report.buckets) == {
        "0-7 days": 2,  # the quick one and the rejected one (same day)
        "8-14 days": 0,
        "15-30 days": 0,
        "31-60 days": 1,
        "Over 60 days": 0,
    }


def test_a_range_that_opened_nothing_is_empty(cases):
    report = cases_report(
        today() - datetime.timedelta(days=400), today() - datetime.timedelta(days=300)
    )
    assert report.categories == [] and report.opened == 0


def test_report_page_has_the_chart_data_and_its_table_and_a_partial(client, viewer, cases):
    client.force_login(viewer)
    start = (today() - datetime.timedelta(days=60)).isoformat()
    page = client.get(reverse("report_cases"), {"start": start, "end": today().isoformat()})
    content = page.content.decode()
    assert page.status_code == 200
    assert 'id="case-days-chart-data"' in content and "Days to resolve" in content
    assert "Pricing error" in content
    partial = client.get(reverse("report_cases"), **HTMX)
    assert b"<html" not in partial.content and b'id="case-report"' in partial.content


def test_report_needs_sign_in_and_the_view_permission(client, db):
    from billing.factories import UserFactory

    assert client.get(reverse("report_cases"))["Location"].startswith("/login/")
    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse("report_cases")).status_code == 403
