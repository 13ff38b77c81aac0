"""The month end's allowance provision: choose the month, see per currency each aging
column's total x rate = amount, the allowance booked and the difference, then confirm
in a pop-out to post it (controller only)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from billing.actors import Actor
from billing.csv_export import csv_response
from billing.errors import BillingError
from billing.ledger.periods import lock_date
from billing.money import from_minor
from billing.rules import today
from billing.web.forms import attach_billing_error
from billing.web.htmx import HtmxHttpRequest, render_page
from writeoffs.allowance.provision import (
    RUN_PERMISSION,
    parse_month,
    provision_plan,
    provision_run,
    require_month_end,
)
from writeoffs.allowance.rollforward import RollForward, allowance_rollforward
from writeoffs.models import ProvisionRun
from writeoffs.web.reports import RangeForm

TEMPLATE = "writeoffs/allowance.html"
RUNS_SHOWN = 24


class MonthForm(forms.Form):
    """The month whose end is provided for."""

    month = forms.CharField(
        label="Month",
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )

    def clean_month(self) -> datetime.date:
        try:
            month_end = parse_month(self.cleaned_data["month"])
            require_month_end(month_end)
        except BillingError as error:
            raise forms.ValidationError(error.message) from None
        return month_end


def _last_month_end() -> datetime.date:
    return today().replace(day=1) - datetime.timedelta(days=1)


def _month_form(data: QueryDict) -> MonthForm:
    """The month asked for, last month by default."""
    return MonthForm(data or {"month": _last_month_end().strftime("%Y-%m")})


def _confirmed_differences(request: HttpRequest) -> dict[str, int]:
    """The difference per currency the confirm pop-out showed (``expected_<CUR>``
    fields). One that does not parse is left out: the run then finds it changed and
    refuses."""
    expected = {}
    for name in request.POST:
        value = request.POST.get(name, "")
        if name.startswith("expected_") and len(name) == len("expected_") + 3:
            try:
                expected[name.removeprefix("expected_")] = int(value)
            except ValueError:
                continue
    return expected


def _page_url(month_end: datetime.date) -> str:
    return f"{reverse('report_allowance')}?{urlencode({'month': month_end.strftime('%Y-%m')})}"


def _context(form: MonthForm, month_end: datetime.date | None) -> dict:
    locked = lock_date()
    return {
        "section": "allowance",
        "form": form,
        "plan": provision_plan(month_end) if month_end is not None else None,
        "month_end": month_end,
        "lock_date": locked,
        "closed": bool(locked and month_end and month_end <= locked),
    }


@login_required
@permission_required("writeoffs.view_provisionrun", raise_exception=True)
@require_http_methods(["GET"])
def allowance_page(request: HtmxHttpRequest) -> HttpResponse:
    """The figures for the month end; htmx swaps them alone when the month changes."""
    form = _month_form(request.GET)
    month_end = form.cleaned_data["month"] if form.is_valid() else None
    context = _context(form, month_end) | {
        "step": "figures",
        "can_run": request.user.has_perm(RUN_PERMISSION),
        "runs": ProvisionRun.objects.select_related("journal_entry")[:RUNS_SHOWN],
    }
    return render_page(request, TEMPLATE, context, partial="figures")


@login_required
@permission_required(RUN_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def allowance_confirm(request: HtmxHttpRequest) -> HttpResponse:
    """GET: the confirm pop-out (a whole page without htmx) naming, per currency, the
    allowance required, the one booked and the entry the difference makes. POST: post
    exactly those differences; figures that changed since are refused, and the pop-out
    shows the new ones with the refusal."""
    form = MonthForm(request.POST) if request.method == "POST" else _month_form(request.GET)
    month_end = form.cleaned_data["month"] if form.is_valid() else None
    if request.method == "POST" and month_end is not None:
        try:
            result = provision_run(
                actor=Actor.for_request(request),
                month_end=month_end,
                expected=_confirmed_differences(request),
            )
        except BillingError as error:
            attach_billing_error(form, error)
        else:
            posted = result.posted
            text = (
                f"Allowance at {month_end}: posted "
                + ", ".join(
                    f"journal entry {run.journal_entry_id} ({run.currency})" for run in posted
                )
                + "."
                if posted
                else f"Allowance at {month_end}: nothing to post."
            )
            messages.success(request, text)
            # The month's figures and the runs table both change: htmx reloads the page
            # (which closes the pop-out) and shows the message there.
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = _page_url(month_end)
                return response
            return redirect(_page_url(month_end))
    context = _context(form, month_end) | {"step": "confirm"}
    return render_page(request, TEMPLATE, context, partial="confirm")


# --- the roll-forward --------------------------------------------------------------

ROLLFORWARD_TEMPLATE = "writeoffs/allowance_rollforward.html"
ROLLFORWARD_HEADER = [
    "Month",
    "Currency",
    "Opening",
    "Provisions",
    "Write-offs charged",
    "Recoveries",
    "Other",
    "Closing",
    "Trial balance",
    "Agrees",
]


def _rollforward_input(
    request: HttpRequest,
) -> tuple[RangeForm, datetime.date, datetime.date, RollForward]:
    form = RangeForm(request.GET or None)
    if form.is_valid():
        data = form.cleaned_data
    else:
        # The errors show beside the fields; the report covers the default range.
        blank = RangeForm({})
        blank.is_valid()
        data = blank.cleaned_data
    start, end = data["start"], data["end"]
    return form, start, end, allowance_rollforward(start, end)


def rollforward_chart(rollforward: RollForward) -> dict:
    """What charts.js draws: the closing allowance per month, one series per currency
    (never added across currencies)."""
    months = [row.month for row in next(iter(rollforward.rows.values()), [])]
    return {
        "type": "bar",
        "stacked": False,
        "labels": [month.strftime("%b %Y") for month in months],
        "datasets": [
            {
                "label": currency,
                "data": [str(from_minor(row.closing_minor, currency)) for row in rows],
            }
            for currency, rows in rollforward.rows.items()
        ],
    }


@login_required
@permission_required("writeoffs.view_provisionrun", raise_exception=True)
@require_http_methods(["GET"])
def rollforward_page(request: HtmxHttpRequest) -> HttpResponse:
    form, start, end, rollforward = _rollforward_input(request)
    context = {
        "section": "allowance",
        "range_fields": [(form["start"], start), (form["end"], end)],
        "rollforward": rollforward,
        "chart": rollforward_chart(rollforward),
        "query": urlencode({"start": start.isoformat(), "end": end.isoformat()}),
    }
    return render_page(request, ROLLFORWARD_TEMPLATE, context, partial="report")


@login_required
@permission_required("writeoffs.view_provisionrun", raise_exception=True)
@require_http_methods(["GET"])
def rollforward_csv(request: HttpRequest) -> StreamingHttpResponse:
    _form, _start, _end, rollforward = _rollforward_input(request)

    def rows() -> Iterator[Sequence[object]]:
        for currency, months in rollforward.rows.items():
            for row in months:
                yield [
                    row.month.strftime("%Y-%m"),
                    currency,
                    *(
                        from_minor(minor, currency)
                        for minor in (
                            row.opening_minor,
                            row.provisions_minor,
                            row.charged_minor,
                            row.recoveries_minor,
                            row.other_minor,
                            row.closing_minor,
                            row.trial_balance_minor,
                        )
                    ),
                    "yes" if row.agrees else "no",
                ]

    name = f"allowance-{rollforward.start:%Y-%m}-{rollforward.end:%Y-%m}.csv"
    return csv_response(name, ROLLFORWARD_HEADER, rows())
