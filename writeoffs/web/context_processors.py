"""The top bar's count of write-offs waiting for approval."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from writeoffs.selectors import pending_writeoff_count


def pending_approvals(request: HttpRequest) -> dict:
    """``can_approve_writeoffs``, and for those who can, ``pending_approvals_count``:
    one COUNT over a partial index, run only when a template shows it (so htmx
    fragments, which never do, cost nothing)."""
    user = getattr(request, "user", None)
    can_approve = bool(
        user is not None and user.is_authenticated and user.has_perm("writeoffs.approve_writeoff")
    )
    context: dict = {"can_approve_writeoffs": can_approve}
    if can_approve:
        context["pending_approvals_count"] = SimpleLazyObject(pending_writeoff_count)
    return context
