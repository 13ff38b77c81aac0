"""Working a case: its status along the allowed flow, its assignee, its due date.

The flow is open → in_review → waiting_on_customer, and back from waiting on the
customer to in review when they answer. Nothing steps back to open (a case that was
looked at stays looked at), and no status change resolves or rejects a case:
settling its last hold resolves it (``resolution``), and rejecting it releases its
holds (``case_reject``). A closed case changes no more.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from billing.actors import Actor
from billing.errors import CASE_STATUS_CHANGE_REFUSED, INVALID_DUE_DATE, BillingError
from billing.history import acting_as
from billing.rules import require_perm, today
from writeoffs.cases.notify import notify_assignee_on_commit
from writeoffs.cases.rules import log_status, require_open, resolve_assignee
from writeoffs.models import Case, CaseStatus

ALLOWED_STATUS_CHANGES: dict[str, frozenset[str]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.IN_REVIEW}),
    CaseStatus.IN_REVIEW: frozenset({CaseStatus.WAITING_ON_CUSTOMER}),
    CaseStatus.WAITING_ON_CUSTOMER: frozenset({CaseStatus.IN_REVIEW}),
}
# The latest due date a supervisor may set, counted from today.
DUE_DATE_MAX_DAYS = 366


def next_statuses(case: Case) -> list[CaseStatus]:
    """The statuses a person may move ``case`` to now (for the screens' choices)."""
    allowed = ALLOWED_STATUS_CHANGES.get(case.status, frozenset())
    return [status for status in CaseStatus if status in allowed]


def _lock(case_id: int) -> Case:
    # A case alone (no invoice or hold changes): its row lock is enough.
    return Case.objects.select_for_update(of=("self",)).select_related("category").get(pk=case_id)


def case_change_status(*, case_id: int, status: str, actor: Actor) -> Case:
    require_perm(actor, "writeoffs.change_case")
    with transaction.atomic(), acting_as(actor):
        case = _lock(case_id)
        require_open(case)
        if status not in ALLOWED_STATUS_CHANGES.get(case.status, frozenset()):
            allowed = ", ".join(s.label.lower() for s in next_statuses(case)) or "nothing"
            hint = ""
            if status == CaseStatus.RESOLVED:
                hint = " A case is resolved when its last hold is settled."
            elif status == CaseStatus.REJECTED:
                hint = " Reject the case instead: that releases its holds."
            raise BillingError(
                CASE_STATUS_CHANGE_REFUSED,
                f"{case} is {case.get_status_display().lower()}; it can move to {allowed}." + hint,
                field="status",
            )
        before = case.status
        case.status = status
        case.save(update_fields=["status"])
        log_status(case, before, actor)
    return case


def case_assign(*, case_id: int, assignee_id: object, actor: Actor) -> Case:
    """Give the case to a user with the clerk role or above (empty: nobody); they are
    mailed when it commits."""
    require_perm(actor, "writeoffs.change_case")
    assignee = resolve_assignee(assignee_id)
    with transaction.atomic(), acting_as(actor):
        case = _lock(case_id)
        require_open(case)
        if case.assignee_id == (assignee.pk if assignee else None):
            return case
        case.assignee = assignee
        case.save(update_fields=["assignee"])
        if assignee is not None:
            notify_assignee_on_commit(case)
    return case


def case_bulk_assign(*, case_ids: Iterable[int], assignee_id: object, actor: Actor) -> list[Case]:
    """Assign several cases at once, all or none (a closed one refuses the lot)."""
    with transaction.atomic():
        return [
            case_assign(case_id=case_id, assignee_id=assignee_id, actor=actor)
            for case_id in sorted(set(case_ids))
        ]


def case_set_due_date(*, case_id: int, due_date: object, actor: Actor) -> Case:
    """A supervisor moves the due date: not before the case opened, not past a year."""
    require_perm(actor, "writeoffs.edit_case_due_date")
    day = due_date if isinstance(due_date, datetime.date) else _iso_date(due_date)
    with transaction.atomic(), acting_as(actor):
        case = _lock(case_id)
        require_open(case)
        latest = today() + datetime.timedelta(days=DUE_DATE_MAX_DAYS)
        opened = timezone.localdate(case.created_at)
        if day is None or not opened <= day <= latest:
            raise BillingError(
                INVALID_DUE_DATE,
                f"Choose a due date from {date_format(opened)} to {date_format(latest)}.",
                field="due_date",
            )
        case.due_date = day
        case.save(update_fields=["due_date"])
    return case


def _iso_date(raw: object) -> datetime.date | None:
    if not isinstance(raw, str) or len(raw.strip()) != len("yyyy-mm-dd"):
        return None
    try:
        return datetime.date.fromisoformat(raw.strip())
    except ValueError:
        return None
