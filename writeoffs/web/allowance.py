"""The month end's allowance provision: choose the month, see per currency each aging
column's total x rate = amount, the allowance booked and the difference, then confirm
to post it (controller only)."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from billing.actors import Actor
from billing.errors import BillingError
from billing.ledger.periods import lock_date
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
from writeoffs.models import ProvisionRun

TEMPLATE = "writeoffs/allowance.html"
RUNS_SHOWN = 24


class MonthForm(forms.Form):
    """The month whose end is provided for; the confirm step posts it again with
    ``confirmed`` set."""

    month = forms.CharField(
        label="Month",
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_month(self) -> datetime.date:
        try:
            month_end = parse_month(self.cleaned_data["month"])
            require_month_end(month_end)
        except BillingError as error:
            raise forms.ValidationError(error.message) from None
        return month_end


def _last_month_end() -> datetime.date:
    return today().replace(day=1) - datetime.timedelta(days=1)


def _page_url(month_end: datetime.date) -> str:
    return f"{reverse('report_allowance')}?{urlencode({'month': month_end.strftime('%Y-%m')})}"


@login_required
@permission_required("writeoffs.view_provisionrun", raise_exception=True)
@require_http_methods(["GET", "POST"])
def allowance_page(request: HtmxHttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    form = MonthForm(data or {"month": _last_month_end().strftime("%Y-%m")})
    month_end = form.cleaned_data["month"] if form.is_valid() else None
    confirming = False
    if request.method == "POST" and month_end is not None:
        if not request.user.has_perm(RUN_PERMISSION):
            raise PermissionDenied
        if not form.cleaned_data["confirmed"]:
            confirming = True
        else:
            try:
                result = provision_run(actor=Actor.for_request(request), month_end=month_end)
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
                if request.htmx:
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = _page_url(month_end)
                    return response
                return redirect(_page_url(month_end))
    plan = provision_plan(month_end) if month_end is not None else None
    locked = lock_date()
    return render_page(
        request,
        TEMPLATE,
        {
            "section": "allowance",
            "form": form,
            "plan": plan,
            "month_end": month_end,
            "confirming": confirming,
            "lock_date": locked,
            "closed": bool(locked and month_end and month_end <= locked),
            "can_run": request.user.has_perm(RUN_PERMISSION),
            "runs": ProvisionRun.objects.select_related("journal_entry")[:RUNS_SHOWN],
        },
        partial="run_form" if request.method == "POST" else "figures",
    )
