"""The SPEC's default approval limits for the currencies the product bills in.

Frozen here on purpose: a later change to writeoffs.approvals.DEFAULT_LIMITS
must not rewrite what this migration did on an existing database.
"""

from django.db import migrations

# role -> limit in minor units (None = unlimited)
DEFAULTS = {"clerk": 500_00, "supervisor": 5_000_00, "controller": None}
CURRENCIES = ("USD", "EUR")


def seed_limits(apps, schema_editor):
    ApprovalLimit = apps.get_model("writeoffs", "ApprovalLimit")
    for role, limit in DEFAULTS.items():
        for currency in CURRENCIES:
            ApprovalLimit.objects.get_or_create(
                role=role, currency=currency, defaults={"limit_minor": limit}
            )


class Migration(migrations.Migration):
    dependencies = [("writeoffs", "0002_approval_limits")]

    operations = [migrations.RunPython(seed_limits, migrations.RunPython.noop)]
