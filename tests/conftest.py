import pytest

from billing.actors import Actor
from billing.factories import AccountFactory, AccountingCodeFactory, InvoiceFactory, UserFactory
from billing.models import AccountingCode
from billing.roles import CLERK, SUPERVISOR, VIEWER


@pytest.fixture
def viewer(db):
    return UserFactory(username="viewer", groups=[VIEWER])


@pytest.fixture
def clerk(db):
    return UserFactory(username="clerk", groups=[CLERK])


@pytest.fixture
def supervisor(db):
    return UserFactory(username="supervisor", groups=[SUPERVISOR])


@pytest.fixture
def clerk_actor(clerk):
    return Actor.for_user(clerk)


@pytest.fixture
def supervisor_actor(supervisor):
    return Actor.for_user(supervisor)


@pytest.fixture
def account(db):
    return AccountFactory(acct_no=5001, name="Acme Corp")


@pytest.fixture
def invoice(account):
    """A sent invoice of 120.00 with nothing paid, written off or held."""
    return InvoiceFactory(account=account, invoice_no=10023, total_minor=12000)


@pytest.fixture
def expense_code(db):
    return AccountingCodeFactory(
        code="6100", name="Bad debt expense", kind=AccountingCode.Kind.EXPENSE
    )
