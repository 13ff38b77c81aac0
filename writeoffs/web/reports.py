"""The reports and worklists across accounts, and the staff home page.

Every billing role reads them (each view asks for the view permission of what it
shows); the settle actions on the disputes worklist are the Write-Offs page's own
pop-outs and URLs, with their own permission.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from billing.csv_export import csv_response
from billing.money import from_minor
from billing.receivables.selectors import currencies_in_use
from billing.rules import today
from billing.web.fields import DateField, WholeNumberField
from billing.web.htmx import HtmxHttpRequest, render_page
from billing.web.pagination import page_window
from writeoffs import reports
from writeoffs.cases.worklist import case_counts
from writeoffs.models import ReasonCode
from writeoffs.reports.cases import CasesReport, cases_report
from writeoffs.reports.jobs import AGING_HEADER, aging_csv_rows, aging_runs_as_job

AGING_TEMPLATE = "writeoffs/aging.html"
ANALYSIS_TEMPLATE = "writeoffs/writeoff_analysis.html"
WORKLIST_TEMPLATE = "writeoffs/dispute_worklist.html"
CASES_TEMPLATE = "writeoffs/case_report.html"
HOME_TEMPLATE = "writeoffs/home.html"
ACCOUNTS_PER_PAGE = 50
INVOICES_PER_PAGE = 50
HOLDS_PER_PAGE = 50
CURRENCY_CHOICES_MAX = 3


class AsOfForm(forms.Form):
    as_of = DateField(label="As of", required=False)
    currency = forms.RegexField(label="Currency", regex=r"^[A-Z]{3}$", required=False, max_length=3)

    def clean_as_of(self) -> datetime.date:
        as_of = self.cleaned_data["as_of"] or today()
        if as_of > today():
            raise forms.ValidationError("The as-of date cannot be in the future.")
        return as_of


class DrillForm(AsOfForm):
    column = forms.ChoiceField(
        choices=[(key, key) for key in reports.BUCKET_KEYS]
        + [(key, key) for key, _ in reports.outside_columns()]
    )
    acct_no = WholeNumberField(required=False, min_value=1)


class RangeForm(forms.Form):
    start = DateField(label="From", required=False)
    end = DateField(label="Through", required=False)

    def clean(self) -> dict:
        data = super().clean()
        assert data is not None  # Form.clean() returns cleaned_data
        end = data.get("end") or today()
        start = data.get("start") or (end.replace(day=1) - datetime.timedelta(days=330)).replace(
            day=1
        )
        if start > end:
            self.add_error("start", "The start must be on or before the end.")
        if (end - start).days > 3660:
            self.add_error("start", "Choose a range of at most ten years.")
        data["start"], data["end"] = start, end
        return data


def _valid(form: forms.Form, defaults: dict) -> dict:
    """The form's cleaned values, or the defaults for any field that is not valid
    (the errors still show beside the fields)."""
    if form.is_valid():
        return form.cleaned_data
    cleaned = getattr(form, "cleaned_data", {})
    return {**defaults, **{k: v for k, v in cleaned.items() if k not in form.errors}}


def _money(minor: int, currency: str) -> Decimal:
    return from_minor(minor, currency)


# --- aging ------------------------------------------------------------------------


def _aging_input(request: HttpRequest) -> tuple[AsOfForm, datetime.date, str | None]:
    form = AsOfForm(request.GET or None)
    data = _valid(form, {"as_of": today(), "currency": ""}) if request.GET else {}
    return form, data.get("as_of") or today(), data.get("currency") or None


def aging_charts(report: reports.AgingReport) -> list[dict]:
    """What charts.js draws: a chart per currency (amounts of two currencies never
    share an axis), the buckets as labels; its table carries the same figures."""
    return [
        {
            "currency": currency,
            "chart_id": f"aging-chart-{currency}",
            "chart_data_id": f"aging-chart-{currency}-data",
            "total": total,
            "chart": {
                "type": "bar",
                "labels": [label for _, label, *_ in reports.BUCKETS],
                "datasets": [
                    {
                        "label": currency,
                        "data": [
                            str(_money(total.buckets[key], currency)) for key in reports.BUCKET_KEYS
                        ],
                    }
                ],
                "stacked": False,
            },
        }
        for currency, total in report.totals.items()
    ]


@login_required
@permission_required("billing.view_invoice", raise_exception=True)
@require_http_methods(["GET"])
def aging(request: HtmxHttpRequest) -> HttpResponse:
    form, as_of, currency = _aging_input(request)
    if aging_runs_as_job(as_of):
        # Never computed in a request: the page offers a report job instead.
        context = {
            "section": "aging",
            "form": form,
            "as_of": as_of,
            "currency": currency,
            "job_offer": True,
            "currencies": currencies_in_use(),
        }
        return render_page(request, AGING_TEMPLATE, context, partial="report")
    report = reports.aging_report(as_of, currency=currency)
    accounts = page_window(report.accounts, request.GET.get("page"), ACCOUNTS_PER_PAGE)
    context = {
        "section": "aging",
        "form": form,
        "as_of": as_of,
        "report": report,
        "accounts": accounts,
        "buckets": reports.BUCKETS,
        "outside": reports.outside_columns(),
        "charts": aging_charts(report),
        "currencies": currencies_in_use(),
        "query": urlencode(
            {"as_of": as_of.isoformat(), **({"currency": currency} if currency else {})}
        ),
    }
    return render_page(request, AGING_TEMPLATE, context, partial="report")


@login_required
@permission_required("billing.view_invoice", raise_exception=True)
@require_http_methods(["GET"])
def aging_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    _form, as_of, currency = _aging_input(request)
    if aging_runs_as_job(as_of):
        # The page offers the report job that writes this file.
        return redirect(f"{reverse('report_aging')}?{request.GET.urlencode()}")
    report = reports.aging_report(as_of, currency=currency)
    return csv_response(f"aging-{as_of.isoformat()}.csv", AGING_HEADER, aging_csv_rows(report))


@login_required
@permission_required("billing.view_invoice", raise_exception=True)
@require_http_methods(["GET"])
def aging_invoices(request: HtmxHttpRequest) -> HttpResponse:
    """The invoices behind one cell of the aging report."""
    form = DrillForm(request.GET)
    if not form.is_valid() or not form.cleaned_data.get("currency"):
        context = {"section": "aging", "form": form, "invalid": True}
        return render_page(request, AGING_TEMPLATE, context, status=400)
    data = form.cleaned_data
    as_of, currency, column, acct_no = (
        data["as_of"],
        data["currency"],
        data["column"],
        data["acct_no"],
    )
    invoices = page_window(
        reports.aging_invoices(as_of, currency=currency, column=column, acct_no=acct_no),
        request.GET.get("page"),
        INVOICES_PER_PAGE,
    )
    labels = dict(reports.outside_columns()) | reports.BUCKET_LABELS
    context = {
        "section": "aging",
        "drill": True,
        "as_of": as_of,
        "currency": currency,
        "column": column,
        "column_label": labels[column],
        "acct_no": acct_no,
        "invoices": invoices,
        "outside": reports.outside_columns(),
        "bucket_labels": [label for _, label, *_ in reports.BUCKETS],
        "back": f"{reverse('report_aging')}?{urlencode({'as_of': as_of.isoformat()})}",
    }
    return render_page(request, AGING_TEMPLATE, context)


# --- write-off analysis -------------------------------------------------------------


def _range_input(request: HttpRequest) -> tuple[RangeForm, datetime.date, datetime.date]:
    form = RangeForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    if form.errors:
        end = today()
        return form, (end.replace(day=1) - datetime.timedelta(days=330)).replace(day=1), end
    return form, data["start"], data["end"]


def analysis_chart(analysis: reports.WriteoffAnalysis, currency: str) -> dict:
    """A stacked bar per month, one dataset per reason: net written off in ``currency``."""
    months = reports.month_starts(analysis.start, analysis.end)
    by_month = {row.month: row for row in analysis.months if row.currency == currency}
    return {
        "type": "bar",
        "stacked": True,
        "labels": [month.strftime("%b %Y") for month in months],
        "datasets": [
            {
                "label": ReasonCode(reason).label,
                "data": [
                    str(_money(by_month[m].by_reason.get(reason, 0), currency))
                    if m in by_month
                    else "0"
                    for m in months
                ],
            }
            for reason in analysis.reasons
        ],
    }


def _analysis_context(analysis: reports.WriteoffAnalysis) -> list[dict]:
    """Per currency: its chart, the months table (every month of the range) and users."""
    months = reports.month_starts(analysis.start, analysis.end)
    sections = []
    for currency in analysis.currencies():
        by_month = {row.month: row for row in analysis.months if row.currency == currency}
        sections.append(
            {
                "currency": currency,
                "chart": analysis_chart(analysis, currency),
                "chart_id": f"writeoff-chart-{currency}",
                "chart_data_id": f"writeoff-chart-{currency}-data",
                "months": [by_month.get(m) or reports.MonthRow(m, currency) for m in months],
                "users": [user for user in analysis.users if user.currency == currency],
                "reasons": [(code, ReasonCode(code).label) for code in analysis.reasons],
            }
        )
    return sections


@login_required
@permission_required("writeoffs.view_writeoff", raise_exception=True)
@require_http_methods(["GET"])
def writeoff_analysis(request: HtmxHttpRequest) -> HttpResponse:
    form, start, end = _range_input(request)
    analysis = reports.writeoff_analysis(start, end)
    context = {
        "section": "analysis",
        "form": form,
        "analysis": analysis,
        "sections": _analysis_context(analysis),
        "range_fields": [(form["start"], start), (form["end"], end)],
        "query": urlencode({"start": start.isoformat(), "end": end.isoformat()}),
    }
    return render_page(request, ANALYSIS_TEMPLATE, context, partial="report")


@login_required
@permission_required("writeoffs.view_writeoff", raise_exception=True)
@require_http_methods(["GET"])
def writeoff_analysis_csv(request: HttpRequest) -> StreamingHttpResponse:
    _form, start, end = _range_input(request)
    analysis = reports.writeoff_analysis(start, end)
    header = [
        "Month",
        "Currency",
        "Reason code",
        "Reason",
        "Revenue-impacting",
        "User",
        "Written off",
        "Reversed",
        "Net",
    ]

    def rows() -> Iterator[list[object]]:
        for row in analysis.rows:
            yield [
                row.month.strftime("%Y-%m"),
                row.currency,
                row.reason_code,
                row.reason_label,
                row.revenue_impacting,
                row.user,
                _money(row.written_off_minor, row.currency),
                _money(row.reversed_minor, row.currency),
                _money(row.net_minor, row.currency),
            ]
        for month in analysis.months:
            if month.recovered_minor:
                yield [
                    month.month.strftime("%Y-%m"),
                    month.currency,
                    None,
                    "Recovered",
                    None,
                    None,
                    None,
                    None,
                    _money(-month.recovered_minor, month.currency),
                ]

    return csv_response(f"writeoff-analysis-{start}-{end}.csv", header, rows())


# --- dispute cases ------------------------------------------------------------------------


def cases_chart(report: CasesReport) -> dict:
    """Cases closed in the range by how many days they took (counts, no currency)."""
    return {
        "type": "bar",
        "stacked": False,
        "labels": [label for label, _ in report.buckets],
        "datasets": [{"label": "Cases closed", "data": [str(n) for _, n in report.buckets]}],
    }


@login_required
@permission_required("writeoffs.view_case", raise_exception=True)
@require_http_methods(["GET"])
def case_report(request: HtmxHttpRequest) -> HttpResponse:
    form, start, end = _range_input(request)
    report = cases_report(start, end)
    context = {
        "section": "cases",
        "form": form,
        "report": report,
        "chart": cases_chart(report),
        "range_fields": [(form["start"], start), (form["end"], end)],
    }
    return render_page(request, CASES_TEMPLATE, context, partial="report")


# --- disputes worklist ------------------------------------------------------------------


@login_required
@permission_required("writeoffs.view_disputehold", raise_exception=True)
@require_http_methods(["GET"])
def dispute_worklist(request: HtmxHttpRequest) -> HttpResponse:
    view = request.GET.get("view", "all")
    if view not in reports.WORKLIST_FILTERS:
        view = "all"
    on_date = today()
    holds = page_window(reports.open_holds(view, on_date), request.GET.get("page"), HOLDS_PER_PAGE)
    context = {
        "section": "disputes",
        "view": view,
        "filters": reports.WORKLIST_FILTERS,
        "holds": holds,
        "today": on_date,
        "can_settle": request.user.has_perm("writeoffs.settle_disputehold"),
        "case_counts": case_counts(request.user, on_date),
    }
    return render_page(request, WORKLIST_TEMPLATE, context, partial="table")


# --- home ---------------------------------------------------------------------------------


@login_required
@permission_required("billing.view_invoice", raise_exception=True)
@require_http_methods(["GET"])
def home(request: HtmxHttpRequest) -> HttpResponse:
    on_date = today()
    year_start = (on_date.replace(day=1) - datetime.timedelta(days=335)).replace(day=1)
    year = reports.writeoff_analysis(year_start, on_date)
    # This month's figures are the last month of the twelve: one analysis, not two.
    month = year.month_of(on_date.replace(day=1))
    # The charts draw each currency's totals: no account rows, no check.
    aging_report = reports.aging_totals_today(on_date)
    figures = reports.home_figures(on_date, month)
    context = {
        "section": "home",
        "figures": figures,
        "case_counts": case_counts(request.user, on_date),
        "aging": aging_report,
        "aging_charts": aging_charts(aging_report),
        "buckets": reports.BUCKETS,
        "year_sections": _analysis_context(year),
        "month_query": urlencode({"start": month.start.isoformat(), "end": on_date.isoformat()}),
        "year_query": urlencode({"start": year_start.isoformat(), "end": on_date.isoformat()}),
    }
    return render_page(request, HOME_TEMPLATE, context)
