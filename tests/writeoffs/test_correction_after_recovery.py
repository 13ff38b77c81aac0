"""A code correction after a bad-debt recovery moves the recovered part too.

A recovery payment's entry credits back the code its write-off debited. When that
code is corrected (the invoice's revenue code, or an expense write-off's code), the
recovery's credit must follow the write-off, or the old code keeps a balance and
``verify_ledger`` fails from then on (issue 26, finding 1).
"""

from io import StringIO

import pytest
from django.core.management import call_command

from billing.actors import Actor
from billing.factories import AccountingCodeFactory, InvoiceFactory
from billing.models import AccountingCode, JournalLine
from billing.receivables.invoices import invoice_revenue_code_correct
from billing.receivables.payments import payment_record, payment_remove
from billing.verification import verify_ledger
from tests.ledger import assert_ledger_consistent
from writeoffs.lifecycle.corrections import writeoff_correct
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.recovery import recovery_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_actor(admin_user):
    return Actor.for_user(admin_user)


def net_by_code(invoice) -> dict[str, int]:
    net: dict[str, int] = {}
    for code, debit, credit in JournalLine.objects.filter(invoice_id=invoice.pk).values_list(
        "accounting_code__code", "debit_minor", "credit_minor"
    ):
        net[code] = net.get(code, 0) + debit - credit
    return {code: amount for code, amount in net.items() if amount}


def recovered_invoice(account, actor, **writeoff):
    """1,000.00 billed on 4000; 400.00 bad debt written off; 600.00 paid, then a
    300.00 payment that reinstates 300.00 of the write-off."""
    invoice = InvoiceFactory(account=account, total_minor=1000_00)
    writeoff_create(
        invoice_id=invoice.pk,
        amount="400.00",
        reason_code=0,
        comments="Bad debt",
        actor=actor,
        **writeoff,
    )
    payment_record(invoice_id=invoice.pk, amount="600.00", actor=actor)
    recovery = recovery_record(invoice_id=invoice.pk, amount="300.00", actor=actor)
    return invoice, recovery


def test_a_revenue_code_correction_after_a_recovery_moves_the_recovered_part(
    account, supervisor_actor, admin_actor
):
    invoice, _ = recovered_invoice(account, supervisor_actor)
    new_code = AccountingCodeFactory(code="4100", name="Services revenue")

    invoice_revenue_code_correct(
        invoice_id=invoice.pk,
        revenue_code_id=new_code.pk,
        actor=admin_actor,
        reason="Mapped to the services ledger",
    )

    # Billed 1,000.00, 400.00 written off, 300.00 of it reinstated: 900.00 of
    # revenue, all of it on the new code.
    net = net_by_code(invoice)
    assert "4000" not in net
    assert net["4100"] == -900_00
    assert verify_ledger(10).ok
    assert_ledger_consistent(invoice.pk)


def test_an_expense_code_correction_after_a_recovery_moves_the_recovered_part(
    account, supervisor_actor, admin_actor, expense_code
):
    invoice, _ = recovered_invoice(
        account, supervisor_actor, revenue_impacting=False, accounting_code_id=expense_code.pk
    )
    other = AccountingCodeFactory(
        code="6200", name="Doubtful debts", kind=AccountingCode.Kind.EXPENSE
    )
    writeoff = invoice.writeoffs.get()

    writeoff_correct(
        writeoff_id=writeoff.pk, actor=admin_actor, accounting_code_id=other.pk, reason="Misposted"
    )

    net = net_by_code(invoice)
    assert expense_code.code not in net
    assert net["6200"] == 100_00  # 400.00 expensed, 300.00 recovered
    assert verify_ledger(10).ok
    assert_ledger_consistent(invoice.pk)


def test_only_the_corrected_writeoffs_part_of_a_recovery_moves(
    account, supervisor_actor, admin_actor, expense_code
):
    """One recovery payment reinstates two expense write-offs on the same code; only
    the corrected one's part follows it."""
    invoice = InvoiceFactory(account=account, total_minor=100_00)
    first, second = (
        writeoff_create(
            invoice_id=invoice.pk,
            amount=amount,
            reason_code=0,
            comments="Bad debt",
            actor=supervisor_actor,
            revenue_impacting=False,
            accounting_code_id=expense_code.pk,
        )
        for amount in ("60.00", "40.00")
    )
    recovery_record(
        invoice_id=invoice.pk,
        amount="70.00",
        actor=supervisor_actor,
        writeoff_ids=[first.pk, second.pk],
    )
    other = AccountingCodeFactory(
        code="6200", name="Doubtful debts", kind=AccountingCode.Kind.EXPENSE
    )

    writeoff_correct(
        writeoff_id=first.pk, actor=admin_actor, accounting_code_id=other.pk, reason="Misposted"
    )

    # First: 60.00 expensed, all 60.00 recovered. Second: 40.00, 10.00 recovered.
    net = net_by_code(invoice)
    assert "6200" not in net
    assert net[expense_code.code] == 30_00
    assert verify_ledger(10).ok


def test_voiding_the_recovery_after_the_correction_leaves_nothing_on_the_old_code(
    account, supervisor_actor, admin_actor
):
    invoice, recovery = recovered_invoice(account, supervisor_actor)
    new_code = AccountingCodeFactory(code="4100", name="Services revenue")
    invoice_revenue_code_correct(
        invoice_id=invoice.pk, revenue_code_id=new_code.pk, actor=admin_actor, reason="Remapped"
    )

    payment_remove(payment_id=recovery.pk, reason="Bounced", actor=supervisor_actor)

    net = net_by_code(invoice)
    assert "4000" not in net
    assert net["4100"] == -600_00  # 1,000.00 billed, 400.00 written off again
    call_command("verify_ledger", stdout=StringIO())
    assert_ledger_consistent(invoice.pk)


def test_a_correction_after_the_recovery_was_voided_moves_nothing_of_the_payment(
    account, supervisor_actor, admin_actor
):
    invoice, recovery = recovered_invoice(account, supervisor_actor)
    payment_remove(payment_id=recovery.pk, reason="Bounced", actor=supervisor_actor)
    new_code = AccountingCodeFactory(code="4100", name="Services revenue")

    invoice_revenue_code_correct(
        invoice_id=invoice.pk, revenue_code_id=new_code.pk, actor=admin_actor, reason="Remapped"
    )

    net = net_by_code(invoice)
    assert "4000" not in net
    assert net["4100"] == -600_00
    assert verify_ledger(10).ok


def test_on_a_taxed_invoice_a_code_correction_moves_only_the_net_part_of_a_recovery(
    account, supervisor_actor, admin_actor, expense_code
):
    # 1,000.00 net + 200.00 tax; 480.00 bad debt (400.00 net + 80.00 pending tax);
    # 720.00 paid, then 360.00 that reinstates 360.00 (300.00 net + 60.00 tax).
    invoice = InvoiceFactory(account=account, total_minor=1200_00, tax_minor=200_00)
    writeoff = writeoff_create(
        invoice_id=invoice.pk,
        amount="480.00",
        reason_code=0,
        comments="Bad debt",
        revenue_impacting=False,
        accounting_code_id=expense_code.pk,
        actor=supervisor_actor,
    )
    payment_record(invoice_id=invoice.pk, amount="720.00", actor=supervisor_actor)
    recovery_record(invoice_id=invoice.pk, amount="360.00", actor=supervisor_actor)
    other = AccountingCodeFactory(
        code="6200", name="Doubtful debts", kind=AccountingCode.Kind.EXPENSE
    )

    writeoff_correct(
        writeoff_id=writeoff.pk, actor=admin_actor, accounting_code_id=other.pk, reason="Misposted"
    )

    net = net_by_code(invoice)
    assert expense_code.code not in net
    assert net["6200"] == 100_00  # 400.00 net expensed, 300.00 of it recovered
    assert net["2210"] == 20_00  # 80.00 tax pending relief, 60.00 of it repaid
    assert verify_ledger(10).ok
    assert_ledger_consistent(invoice.pk)
