"""The Cases page (every account's dispute cases: mine, unassigned, overdue, by
category and status) and a case's own page (holds, timeline, notes, attachments in
tabs; the drawers that work the case are in case_actions.py and case_files.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from billing.rules import today
from billing.web.htmx import HtmxHttpRequest, render_page
from billing.web.pagination import page_window
from writeoffs.cases.attachments import ADD_ATTACHMENT_PERMISSION, VIEW_CASE_PERMISSION
from writeoffs.cases.timeline import case_timeline
from writeoffs.cases.worklist import CASE_VIEWS, CaseFilters, case_for, case_rows
from writeoffs.models import Case, CaseCategory, CaseStatus, DisputeHold
from writeoffs.web.case_forms import assignee_choices

CASES_TEMPLATE = "writeoffs/cases.html"
CASE_TEMPLATE = "writeoffs/case.html"
CASES_PER_PAGE = 50
CASE_TABS = {
    "holds": "Holds",
    "timeline": "Timeline",
    "notes": "Notes",
    "attachments": "Attachments",
}


@login_required
@permission_required(VIEW_CASE_PERMISSION, raise_exception=True)
@require_http_methods(["GET"])
def case_list(request: HtmxHttpRequest) -> HttpResponse:
    """Every account's cases; the filters swap only the table (htmx) and the URL."""
    filters = CaseFilters.from_query(request.GET)
    on = today()
    cases = page_window(
        case_rows(filters, request.user, on), request.GET.get("page"), CASES_PER_PAGE
    )
    context = {
        "filters": filters,
        "views": CASE_VIEWS,
        "categories": CaseCategory.objects.filter(active=True),
        "statuses": CaseStatus.choices,
        "cases": cases,
        "today": on,
        "list_url": reverse("case_list"),
        "query": urlencode(filters.as_query()),
        "can_assign": request.user.has_perm("writeoffs.change_case"),
    }
    if context["can_assign"]:
        context["assignees"] = assignee_choices()
    return render_page(request, CASES_TEMPLATE, context, partial="table")


def case_context(request: HtmxHttpRequest, case: Case, tab: str = "holds") -> dict[str, Any]:
    """What every view of a case page shows around its drawer or tab."""
    user = request.user
    holds = list(case.holds.select_related("invoice").order_by("id"))
    counts = {
        "holds": len(holds),
        "notes": case.notes.count(),
        "attachments": case.attachments.count(),
    }
    return {
        "case": case,
        "account": case.account,
        "holds": holds,
        "open_holds": [hold for hold in holds if hold.is_open],
        "tab": tab,
        "tab_items": [(key, label, counts.get(key)) for key, label in CASE_TABS.items()],
        "case_url": reverse("case_detail", args=[case.number]),
        "notes": list(case.notes.order_by("-id")) if tab == "notes" else [],
        "attachments": list(case.attachments.order_by("-id")) if tab == "attachments" else [],
        "timeline": case_timeline(case) if tab == "timeline" else [],
        # A closed case still takes notes and files: what is learnt later belongs with it.
        "can_attach": user.has_perm(ADD_ATTACHMENT_PERMISSION),
        "can_note": user.has_perm("writeoffs.add_casenote"),
        "can_work": user.has_perm("writeoffs.change_case") and case.is_open,
        "can_settle": user.has_perm("writeoffs.settle_disputehold") and case.is_open,
        # Rejecting releases the holds: the service asks for the settling permission.
        "can_reject": user.has_perm("writeoffs.settle_disputehold") and case.is_open,
        "can_move_due_date": user.has_perm("writeoffs.edit_case_due_date") and case.is_open,
        "today": today(),
    }


def open_hold_totals(case: Case) -> list[tuple[int, str, int]]:
    """What rejecting ``case`` releases: per currency, how many open holds and their
    total in minor units (the confirm pop-out names them before anyone confirms)."""
    totals: dict[str, tuple[int, int]] = {}
    for hold in case.holds.filter(status=DisputeHold.Status.OPEN).select_related("invoice"):
        count, minor = totals.get(hold.invoice.currency, (0, 0))
        totals[hold.invoice.currency] = (count + 1, minor + hold.amount_minor)
    return [(count, currency, minor) for currency, (count, minor) in sorted(totals.items())]


@login_required
@permission_required(VIEW_CASE_PERMISSION, raise_exception=True)
@require_http_methods(["GET"])
def case_detail(request: HtmxHttpRequest, number: int) -> HttpResponse:
    """A case's page; ``?tab=`` picks the tab, and htmx swaps only the tab panel."""
    case = case_for(number)
    tab = request.GET.get("tab", "holds")
    if tab not in CASE_TABS:
        tab = "holds"
    context = {**case_context(request, case, tab), "step": "tabs"}
    return render_page(request, CASE_TEMPLATE, context, partial="tabs")
