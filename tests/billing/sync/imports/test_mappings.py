import pytest

from billing.errors import BillingError
from billing.sync.imports.mappings import mapping_save, saved_mapping

pytestmark = pytest.mark.django_db


def test_a_mapping_saved_by_name_keeps_only_the_layouts_fields():
    mapping = mapping_save(
        name=" CRM ",
        kind="accounts",
        columns={"name": "Company", "colour": "Hue", "email": ""},
        fixed={"currency": "GBP"},
    )
    assert (mapping.name, mapping.columns, mapping.fixed) == (
        "CRM",
        {"name": "Company"},
        {"currency": "GBP"},
    )
    again = mapping_save(name="CRM", kind="accounts", columns={"name": "Org"}, fixed={})
    assert again.pk == mapping.pk and again.columns == {"name": "Org"}


def test_a_shipped_mapping_is_never_overwritten():
    with pytest.raises(BillingError, match="ships with the product"):
        mapping_save(name="Stripe customers", kind="accounts", columns={}, fixed={})


def test_a_field_gets_a_column_or_a_fixed_value_not_both():
    with pytest.raises(BillingError, match="either a column or a fixed value"):
        mapping_save(
            name="x", kind="accounts", columns={"currency": "C"}, fixed={"currency": "USD"}
        )


def test_a_mapping_of_another_kind_is_refused():
    with pytest.raises(BillingError, match="is for invoices, not accounts"):
        saved_mapping("Stripe invoices", "accounts")
