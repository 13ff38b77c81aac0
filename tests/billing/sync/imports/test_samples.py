"""docs/samples/ import cleanly, in order (accounts, invoices, payments), into a
database with the demo seed's revenue codes; a second run changes nothing."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from billing.factories import AccountingCodeFactory
from billing.models import Account, Invoice, Payment
from billing.verification import verify_ledger

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[4] / "docs" / "samples"


def test_the_samples_import_cleanly_and_a_rerun_changes_nothing():
    AccountingCodeFactory(code="4000", name="Subscription revenue")
    for kind in ("accounts", "invoices", "payments"):
        out = StringIO()
        call_command("import_billing", "--kind", kind, str(SAMPLES / f"{kind}.csv"), stdout=out)
        assert "0 refused" in out.getvalue(), out.getvalue()
    assert Account.objects.filter(external_id__startswith="cus_sample_").count() == 3
    assert Invoice.objects.filter(external_id__startswith="in_sample_", status="sent").count() == 4
    assert Payment.objects.filter(external_id__startswith="py_sample_").count() == 3
    # Its one taxed line: 200.00 at STD20, the tax computed on import.
    taxed = Invoice.objects.get(external_id="in_sample_1002")
    assert (taxed.total_minor, taxed.tax_minor) == (144000, 4000)
    assert verify_ledger(limit=20).ok
    for kind in ("accounts", "invoices", "payments"):
        out = StringIO()
        call_command("import_billing", "--kind", kind, str(SAMPLES / f"{kind}.csv"), stdout=out)
        assert " 0 created, 0 updated" in out.getvalue()
