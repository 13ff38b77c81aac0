"""The chart-of-accounts codes the journal posts to: AR control, cash / clearing and
the dispute-conversion expense code, as the settings name them."""

from django.conf import settings
from django.db import migrations

CODES = {
    "AR_CONTROL_CODE": ("Accounts receivable control", "asset"),
    "CASH_CODE": ("Cash / clearing", "asset"),
    "DISPUTE_CONVERSION_CODE": ("Bad debt expense", "expense"),
}


def create_control_codes(apps, schema_editor):
    AccountingCode = apps.get_model("billing", "AccountingCode")
    for setting_name, (name, kind) in CODES.items():
        AccountingCode.objects.get_or_create(
            code=getattr(settings, setting_name), defaults={"name": name, "kind": kind}
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_journal")]

    operations = [migrations.RunPython(create_control_codes, migrations.RunPython.noop)]
