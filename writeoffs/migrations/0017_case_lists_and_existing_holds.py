"""Start the case categories and root causes (admin edits them later), and give every
open dispute hold a one-hold case in category "other", so none is orphaned.

Holds already settled stay without a case: their work is done, and a case made now
would be a resolved case with no history and a root cause nobody gave.
No collections.paused event is written for these cases: the billing system has
been told of each hold (dispute.opened) already, and the migration is no change of
state it must act on.
"""

import datetime

from django.db import migrations
from django.utils import timezone

CATEGORIES = [
    ("pricing", "Pricing", 14),
    ("service_not_received", "Service not received", 21),
    ("duplicate_billing", "Duplicate billing", 7),
    ("quality", "Quality", 21),
    ("other", "Other", 30),
]
ROOT_CAUSES = [
    ("paid", "Paid"),
    ("pricing_error", "Pricing error"),
    ("duplicate_invoice", "Duplicate invoice"),
    ("service_failure", "Service failure"),
    ("customer_error", "Customer error"),
    ("expired", "Hold expired"),
    ("other", "Other"),
]


def seed_lists_and_cases(apps, schema_editor):
    CaseCategory = apps.get_model("writeoffs", "CaseCategory")
    RootCause = apps.get_model("writeoffs", "RootCause")
    Case = apps.get_model("writeoffs", "Case")
    CaseNumber = apps.get_model("writeoffs", "CaseNumber")
    CaseStatusChange = apps.get_model("writeoffs", "CaseStatusChange")
    DisputeHold = apps.get_model("writeoffs", "DisputeHold")
    for code, name, days in CATEGORIES:
        CaseCategory.objects.get_or_create(code=code, defaults={"name": name, "target_days": days})
    for code, name in ROOT_CAUSES:
        RootCause.objects.get_or_create(code=code, defaults={"name": name})
    other = CaseCategory.objects.get(code="other")
    counter, _ = CaseNumber.objects.get_or_create(id=1)
    for hold in DisputeHold.objects.filter(status="open", case__isnull=True).order_by("id"):
        counter.last_number += 1
        case = Case.objects.create(
            number=counter.last_number,
            account_id=hold.account_id,
            category=other,
            status="open",
            due_date=timezone.localdate(hold.created_at) + datetime.timedelta(days=other.target_days),
            created_by_id=hold.created_by_id,
            created_by_label=hold.created_by_label,
        )
        CaseStatusChange.objects.create(
            case=case,
            from_status="",
            to_status="open",
            changed_by_id=hold.created_by_id,
            changed_by_label="Migration: existing dispute hold",
        )
        DisputeHold.objects.filter(pk=hold.pk).update(case=case)
    counter.save()


class Migration(migrations.Migration):
    dependencies = [("writeoffs", "0016_dispute_cases")]

    operations = [migrations.RunPython(seed_lists_and_cases, migrations.RunPython.noop)]
