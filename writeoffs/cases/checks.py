"""The dispute cases' part of ``verify_ledger``: every open hold is worked in a case,
and a closed (resolved or rejected) case has no open hold. Registered with billing's
``ledger_checks`` hook beside the write-off checks."""

from __future__ import annotations

from billing.verification import Verification
from writeoffs.models import CLOSED_CASE_STATUSES, Case, DisputeHold

HOLD_WITHOUT_CASE = "hold_without_case"
CLOSED_CASE_WITH_OPEN_HOLD = "closed_case_with_open_hold"


def verify_cases(limit: int) -> Verification:
    result = Verification()
    open_holds = DisputeHold.objects.filter(status=DisputeHold.Status.OPEN)
    result.checked["open_holds"] = open_holds.count()
    result.checked["cases"] = Case.objects.count()
    lone = open_holds.filter(case__isnull=True).order_by("pk")
    for n, (hold_id, invoice_id) in enumerate(lone.values_list("pk", "invoice_id").iterator()):
        result.count(
            HOLD_WITHOUT_CASE,
            f"Dispute hold {hold_id} (invoice id {invoice_id}) is open and in no case.",
            listed=n < limit,
        )
    stuck = (
        open_holds.filter(case__status__in=CLOSED_CASE_STATUSES)
        .order_by("case__number", "pk")
        .values_list("case__number", "case__status", "pk")
    )
    for n, (number, status, hold_id) in enumerate(stuck.iterator()):
        result.count(
            CLOSED_CASE_WITH_OPEN_HOLD,
            f"Case {number} is {status} but its dispute hold {hold_id} is still open.",
            listed=n < limit,
        )
    return result
