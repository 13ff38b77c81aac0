"""The column mappings that ship with the product: Stripe's and Chargebee's standard
customer and invoice exports (docs/import.md lists their columns). Each export is
one row per invoice, so its one line is the invoice's total, described by its number.
"""

from django.db import migrations

SHIPPED = [
    {
        "name": "Stripe customers",
        "kind": "accounts",
        "columns": {"external_id": "id", "name": "Name", "email": "Email", "currency": "Currency"},
        # Stripe writes currencies in lower case ("usd").
        "currency_in_capitals": True,
    },
    {
        "name": "Stripe invoices",
        "kind": "invoices",
        "columns": {
            "external_id": "id",
            "account_external_id": "Customer",
            "bill_date": "Date (UTC)",
            "due_date": "Due Date (UTC)",
            "line_description": "Number",
            "line_amount": "Total",
        },
        # Stripe's dates are timestamps ("2026-11-20 14:03").
        "dates_from_timestamps": True,
    },
    {
        "name": "Chargebee customers",
        "kind": "accounts",
        "columns": {
            "external_id": "Customer Id",
            "name": "Company",
            "email": "Email",
            "currency": "Preferred Currency Code",
        },
        "currency_in_capitals": True,
    },
    {
        "name": "Chargebee invoices",
        "kind": "invoices",
        "columns": {
            "external_id": "Invoice Number",
            "account_external_id": "Customer Id",
            "bill_date": "Invoice Date",
            "due_date": "Due Date",
            "line_description": "Invoice Number",
            "line_amount": "Amount",
        },
        "dates_from_timestamps": True,
    },
]


def ship(apps, schema_editor):
    mapping = apps.get_model("billing", "ImportMapping")
    for shipped in SHIPPED:
        fields = {key: value for key, value in shipped.items() if key != "name"}
        mapping.objects.update_or_create(
            name=shipped["name"], defaults={**fields, "builtin": True}
        )


def unship(apps, schema_editor):
    apps.get_model("billing", "ImportMapping").objects.filter(
        name__in=[shipped["name"] for shipped in SHIPPED]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0014_imports")]

    operations = [migrations.RunPython(ship, unship)]
