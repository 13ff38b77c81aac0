import pytest

from billing.factories import InvoiceFactory, UserFactory
from billing.roles import CLERK
from writeoffs.cases.open import CaseHold, case_open


@pytest.fixture
def second_invoice(account):
    """Another sent invoice of the same account: 80.00."""
    return InvoiceFactory(account=account, invoice_no=10024, total_minor=8000)


@pytest.fixture
def assignee(db):
    return UserFactory(username="anna", email="anna@example.com", groups=[CLERK])


@pytest.fixture
def open_case(account, invoice, second_invoice, clerk_actor):
    """A case on 50.00 of the first invoice and all 80.00 of the second."""

    def make(**kwargs):
        values = {
            "account_id": account.pk,
            "category": "pricing",
            "holds": [
                CaseHold(invoice_no=invoice.invoice_no, amount="50.00"),
                CaseHold(invoice_no=second_invoice.invoice_no),
            ],
            "actor": clerk_actor,
        }
        values.update(kwargs)
        return case_open(**values)

    return make
