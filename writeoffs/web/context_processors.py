"""The top bar's count of write-offs waiting for approval, and the htmx event that
keeps it current after a change made without a page load."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from django_htmx.http import trigger_client_event

from writeoffs.bulk.runs import bulk_runs_awaiting_approval
from writeoffs.models import WriteOff

# The count of write-offs waiting for approval changed; detail {count}. static/js/app.js
# updates the top bar's badge ([data-approvals-count]) from it.
APPROVALS_CHANGED = "approvalsChanged"


def pending_approvals_count() -> int:
    """What waits in the Approvals queue: pending write-offs and bulk runs sent for
    approval."""
    # One statement: the two row sets counted together (UNION ALL keeps equal ids).
    pending = WriteOff.objects.filter(status=WriteOff.Status.PENDING).order_by().values_list("pk")
    runs = bulk_runs_awaiting_approval().select_related(None).order_by().values_list("pk")
    return pending.union(runs, all=True).count()


def announce_approvals_count(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Tell an approver's page the new count, on an htmx answer to a change (the badge
    is in the top bar, outside what htmx swaps)."""
    user = getattr(request, "user", None)
    if (
        getattr(request, "htmx", False)
        and user is not None
        and user.has_perm("writeoffs.approve_writeoff")
    ):
        trigger_client_event(response, APPROVALS_CHANGED, {"count": pending_approvals_count()})
    return response


def pending_approvals(request: HttpRequest) -> dict:
    """``can_approve_writeoffs``, and for those who can, ``pending_approvals_count``:
    a COUNT over a partial index and one over the drafts sent for approval, run only
    when a template shows it (so htmx fragments, which never do, cost nothing)."""
    user = getattr(request, "user", None)
    can_approve = bool(
        user is not None and user.is_authenticated and user.has_perm("writeoffs.approve_writeoff")
    )
    context: dict = {"can_approve_writeoffs": can_approve}
    if can_approve:
        context["pending_approvals_count"] = SimpleLazyObject(pending_approvals_count)
    return context
