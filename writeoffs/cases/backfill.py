"""One-hold cases for open holds that have none: holds inserted in bulk (the seeding
command) rather than through the hold service, whose ``hold_opened`` listener gives
each hold made outside a case a case of its own. Migration 0017 did the same once
for the holds that existed before cases."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from writeoffs.models import (
    Case,
    CaseCategory,
    CaseNumber,
    CaseStatus,
    CaseStatusChange,
    DisputeHold,
)

BATCH = 2000


def cases_for_lone_holds(*, label: str) -> int:
    """Give every open hold without a case a one-hold case in category "other"; return
    how many were made. Idempotent: a second run finds no lone hold."""
    other = CaseCategory.objects.filter(code="other").first()
    if other is None:
        return 0
    made = 0
    with transaction.atomic():
        counter, _ = CaseNumber.objects.select_for_update().get_or_create(id=1)
        while True:
            holds = list(
                DisputeHold.objects.filter(status=DisputeHold.Status.OPEN, case__isnull=True)
                .order_by("pk")
                .values("pk", "account_id", "created_at", "created_by_id")[:BATCH]
            )
            if not holds:
                break
            cases = Case.objects.bulk_create(
                Case(
                    number=counter.last_number + n,
                    account_id=hold["account_id"],
                    category=other,
                    status=CaseStatus.OPEN,
                    due_date=timezone.localdate(hold["created_at"])
                    + datetime.timedelta(days=other.target_days),
                    created_by_id=hold["created_by_id"],
                    created_by_label=label,
                )
                for n, hold in enumerate(holds, 1)
            )
            counter.last_number += len(holds)
            CaseStatusChange.objects.bulk_create(
                CaseStatusChange(case=case, to_status=CaseStatus.OPEN, changed_by_label=label)
                for case in cases
            )
            DisputeHold.objects.bulk_update(
                [
                    DisputeHold(pk=hold["pk"], case_id=case.pk)
                    for hold, case in zip(holds, cases, strict=True)
                ],
                ["case"],
                batch_size=500,
            )
            made += len(holds)
        counter.save(update_fields=["last_number"])
    return made
