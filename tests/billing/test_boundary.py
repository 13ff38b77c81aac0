"""Billing never names writeoffs: not by import, not by string, not in a comment.

What the core must hear from the write-offs app comes through billing/extensions.py,
which that app fills in from its AppConfig.ready(). Only the project's wiring
(settings, root URLs, WSGI) and the migrations may name it. lint-imports checks the
imports; this checks every other way of naming it (``apps.get_model(...)``,
permission strings, journal source labels, table names, prose), and that what
writeoffs registers is all billing hears: with nothing registered, the core stands
alone.
"""

from pathlib import Path

import pytest

import billing
from billing import extensions
from billing.ledger.snapshot import close_blockers
from billing.receivables.selectors import invoices_filtered
from billing.roles import CONTROLLER, api_role_permissions, role_permissions
from billing.rules import today
from billing.verification import verify_ledger

BILLING = Path(billing.__file__).parent
WIRING = {"settings.py", "urls.py", "wsgi.py"}
NAME = "writeoffs"


def _core_sources() -> list[Path]:
    return sorted(
        path
        for path in BILLING.rglob("*.py")
        if "migrations" not in path.relative_to(BILLING).parts
        and path.relative_to(BILLING).as_posix() not in WIRING
    )


def test_the_check_reads_billings_own_sources():
    names = {path.relative_to(BILLING).as_posix() for path in _core_sources()}
    assert {"models/journal.py", "ledger/posting.py", "web/accounts.py"} <= names
    assert not names & WIRING
    assert not any(name.startswith("migrations/") for name in names)


def test_no_billing_source_outside_the_wiring_names_the_writeoffs_app():
    naming = [
        f"{path.relative_to(BILLING.parent)}:{number}: {line.strip()}"
        for path in _core_sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if NAME in line.lower()
    ]
    assert naming == [], "billing names writeoffs:\n" + "\n".join(naming)


def test_writeoffs_registers_each_of_its_hooks_once():
    hooks = extensions.hooks
    for name in (
        "revenue_code_moved",
        "payment_voided",
        "payment_recorded",
        "close_blockers",
        "close_figures",
        "reservations",
        "close_checklist",
        "account_overview_context",
        "invoice_page_context",
    ):
        assert len(getattr(hooks, name)) == 1, name
    # The checks of the rows and the journal, those that read the reports, and the
    # dispute cases'.
    assert [check.__module__ for check in hooks.ledger_checks] == [
        "writeoffs.verification",
        "writeoffs.ledger_checks",
        "writeoffs.cases.checks",
        "writeoffs.tax.checks",
    ]
    assert set(hooks.invoice_filters) == {"recovered"}
    assert "writeoffs.approve_writeoff" in role_permissions(CONTROLLER)
    assert "writeoffs.add_writeoff" in api_role_permissions("clerk")


@pytest.mark.django_db
def test_with_nothing_registered_the_core_stands_alone(monkeypatch, invoice):
    monkeypatch.setattr(extensions, "hooks", extensions.Hooks())
    assert {perm.split(".")[0] for perm in role_permissions(CONTROLLER)} == {"billing"}
    assert api_role_permissions("clerk") == {"billing.add_payment", "billing.import_billing"}
    assert close_blockers(today()) == []
    nothing = verify_ledger(limit=20)
    assert (nothing.ok, nothing.checked, nothing.failures) == (True, {}, [])
    assert list(invoices_filtered(invoice.account, {"recovered": True})) == [invoice]
