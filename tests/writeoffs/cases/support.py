"""A dispute case to test the screens and files with, made directly (the screens'
tests are not about how a case is opened)."""

from __future__ import annotations

import datetime

from django.db.models import Max

from billing.rules import today
from writeoffs.models import Case, CaseCategory, CaseStatusChange, DisputeHold


def make_case(account, *, holds=(), category: str = "pricing", assignee=None, due_date=None):
    number = (Case.objects.aggregate(top=Max("number"))["top"] or 0) + 1
    kind = CaseCategory.objects.get(code=category)
    case = Case.objects.create(
        number=number,
        account=account,
        category=kind,
        assignee=assignee,
        due_date=due_date or today() + datetime.timedelta(days=kind.target_days),
        contact_name="Dana Buyer",
        contact_email="dana@example.com",
        created_by_label="clerk",
    )
    CaseStatusChange.objects.create(case=case, to_status=case.status, changed_by_label="clerk")
    DisputeHold.objects.filter(pk__in=[hold.pk for hold in holds]).update(case=case)
    return case
