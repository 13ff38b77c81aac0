"""What the case services share: finding and locking a case, the status log, and who
may be assigned one.

Lock order, the same in every case service and in the hooks that reach a case from
a hold or a payment: the invoices (by id), then the case(s) (by id), then the case
number counter, then the events feed's counter (taken last by record_event).
A payment and an expiry come to a case through an invoice they already hold, so a
case service that locked the case first could wait on them while they wait on it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model

from billing.actors import Actor
from billing.errors import CASE_CLOSED, CASE_NOT_FOUND, INVALID_ASSIGNEE, BillingError
from billing.models import Invoice
from billing.parsing import whole_number
from writeoffs.models import Case, CaseStatusChange, DisputeHold

# Who may own a case: the clerk role or above (a controller creates nothing).
ASSIGNEE_PERMISSION = "writeoffs.add_case"


def case_id_for(number: object) -> int:
    """The id of the case numbered ``number``, read without a lock (to learn which
    invoices to lock first)."""
    value = whole_number(number)
    case_id = (
        Case.objects.filter(number=value).values_list("id", flat=True).first()
        if value is not None
        else None
    )
    if case_id is None:
        raise BillingError(CASE_NOT_FOUND, f"Case {number} does not exist.", field="case")
    return case_id


def lock_invoices(invoice_ids: Iterable[int]) -> dict[int, Invoice]:
    """Lock ``invoice_ids`` in id order (the fixed order that keeps two services that
    lock several of them from deadlocking)."""
    ids = sorted(set(invoice_ids))
    invoices = (
        Invoice.objects.select_related("revenue_code", "account")
        .select_for_update(of=("self",))
        .filter(pk__in=ids)
        .order_by("pk")
    )
    return {invoice.pk: invoice for invoice in invoices}


def lock_case_and_invoices(case_id: int) -> tuple[Case, dict[int, Invoice]]:
    """Lock the invoices of the case's holds, then the case. Holds join a case only
    when it opens, so the invoices read before the lock are all of them."""
    invoice_ids = DisputeHold.objects.filter(case_id=case_id).values_list("invoice_id", flat=True)
    invoices = lock_invoices(invoice_ids)
    case = Case.objects.select_for_update(of=("self",)).select_related("category").get(pk=case_id)
    return case, invoices


def require_open(case: Case) -> None:
    if not case.is_open:
        raise BillingError(
            CASE_CLOSED, f"{case} is {case.get_status_display().lower()}; it is worked no more."
        )


def log_status(case: Case, from_status: str, actor: Actor) -> CaseStatusChange:
    return CaseStatusChange.objects.create(
        case=case,
        from_status=from_status,
        to_status=case.status,
        changed_by=actor.user,
        changed_by_label=actor.label,
    )


def eligible_assignees():
    """Active users with the clerk role or above, for the assignee pickers."""
    User = get_user_model()
    users = User.objects.filter(is_active=True).order_by("username")
    return [user for user in users if user.has_perm(ASSIGNEE_PERMISSION)]


def resolve_assignee(raw: object):
    """The user ``raw`` (an id) names, if they may own a case; ``None`` for nobody."""
    if raw is None or raw == "":
        return None
    User = get_user_model()
    user_id = whole_number(raw)
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None or not user.has_perm(ASSIGNEE_PERMISSION):
        raise BillingError(
            INVALID_ASSIGNEE,
            "Choose an active user with the clerk role or above.",
            field="assignee",
        )
    return user
