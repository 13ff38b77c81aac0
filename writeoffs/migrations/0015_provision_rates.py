"""Start the provision matrix of every currency in use (and the default currencies the
approval limits start with) at the SPEC's rates; a controller edits them in admin."""

from decimal import Decimal

from django.db import migrations

RATES = {
    "current": Decimal("1"),
    "d1_30": Decimal("3"),
    "d31_60": Decimal("10"),
    "d61_90": Decimal("25"),
    "over_90": Decimal("50"),
    "held_or_pending": Decimal("50"),
}
DEFAULT_CURRENCIES = ("USD", "EUR")


def start_provision_rates(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    ProvisionRate = apps.get_model("writeoffs", "ProvisionRate")
    in_use = set(Invoice.objects.values_list("currency", flat=True).distinct())
    for currency in sorted(in_use | set(DEFAULT_CURRENCIES)):
        for bucket, rate in RATES.items():
            ProvisionRate.objects.get_or_create(
                currency=currency, bucket=bucket, defaults={"rate": rate}
            )


class Migration(migrations.Migration):
    dependencies = [
        ("writeoffs", "0014_allowance"),
        ("billing", "0010_journal_provision_without_invoice"),
    ]

    operations = [migrations.RunPython(start_provision_rates, migrations.RunPython.noop)]
