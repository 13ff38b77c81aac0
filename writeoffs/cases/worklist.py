"""The reads behind the Cases page (across accounts) and a case's page."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from writeoffs.models import (
    CLOSED_CASE_STATUSES,
    OPEN_CASE_STATUSES,
    Case,
    CaseAttachment,
    CaseCategory,
    CaseStatus,
)

# The Cases page's quick filters, in the order the page shows them.
CASE_VIEWS = {
    "open": "All open",
    "mine": "Mine",
    "unassigned": "Unassigned",
    "overdue": "Overdue",
    "closed": "Resolved or rejected",
}


@dataclass(frozen=True)
class CaseFilters:
    view: str = "open"
    category: str = ""
    status: str = ""

    @classmethod
    def from_query(cls, params) -> CaseFilters:
        """What the query string asks for; anything unknown means no filter."""
        view = params.get("view", "open")
        category = params.get("category", "")
        status = params.get("status", "")
        return cls(
            view=view if view in CASE_VIEWS else "open",
            category=category if CaseCategory.objects.filter(code=category).exists() else "",
            status=status if status in CaseStatus.values else "",
        )

    def as_query(self) -> dict[str, str]:
        return {key: value for key, value in vars(self).items() if value}


def case_rows(filters: CaseFilters, user, on: datetime.date) -> QuerySet[Case]:
    """Cases for the page, soonest due first (the work to do next at the top)."""
    cases = Case.objects.select_related("account", "category", "assignee").annotate(
        open_holds=Count("holds", filter=Q(holds__status="open"))
    )
    if filters.view == "closed":
        cases = cases.filter(status__in=CLOSED_CASE_STATUSES)
    else:
        cases = cases.filter(status__in=OPEN_CASE_STATUSES)
    if filters.view == "mine":
        cases = cases.filter(assignee=user)
    elif filters.view == "unassigned":
        cases = cases.filter(assignee__isnull=True)
    elif filters.view == "overdue":
        cases = cases.filter(due_date__lt=on)
    if filters.category:
        cases = cases.filter(category__code=filters.category)
    if filters.status:
        cases = cases.filter(status=filters.status)
    order = ["-resolved_at", "-number"] if filters.view == "closed" else ["due_date", "number"]
    return cases.order_by(*order)


@dataclass(frozen=True)
class CaseCounts:
    open: int
    overdue: int
    unassigned: int
    mine: int


def case_counts(user, on: datetime.date) -> CaseCounts:
    """The open cases the home page and the disputes worklist count: one query over
    the open cases only (index on status), which do not grow with history."""
    counts = Case.objects.filter(status__in=OPEN_CASE_STATUSES).aggregate(
        open=Count("id"),
        overdue=Count("id", filter=Q(due_date__lt=on)),
        unassigned=Count("id", filter=Q(assignee__isnull=True)),
        mine=Count("id", filter=Q(assignee_id=user.pk)),
    )
    return CaseCounts(**{key: value or 0 for key, value in counts.items()})


def case_for(number: int) -> Case:
    case = (
        Case.objects.select_related("account", "category", "assignee", "root_cause")
        .filter(number=number)
        .first()
    )
    if case is None:
        raise Http404(f"There is no case {number}.")
    return case


def attachment_for(case: Case, attachment_id: int) -> CaseAttachment:
    """One of this case's files; another case's is a 404, as if it did not exist."""
    attachment = CaseAttachment.objects.filter(case=case, pk=attachment_id).first()
    if attachment is None:
        raise Http404("This case has no such attachment.")
    return attachment
