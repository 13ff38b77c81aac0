"""Corrections of free text and posting codes: the rules of the entry, under the
invoice lock, recorded in history with the actor. A revenue-impacting write-off's
code always follows its invoice's revenue code."""

from io import StringIO

import pytest
from django.core.management import call_command

from billing.actors import Actor
from billing.errors import (
    ILLEGAL_CHARACTERS,
    INVALID_ACCOUNTING_CODE,
    INVALID_COMMENTS,
    INVALID_INPUT,
    PERMISSION_DENIED,
    BillingError,
)
from billing.factories import AccountingCodeFactory
from billing.models import AccountingCode, Invoice, JournalEntry, JournalEvent, JournalLine
from billing.receivables.invoices import invoice_revenue_code_correct
from billing.receivables.payments import payment_correct, payment_record
from billing.rules import today
from writeoffs.lifecycle.corrections import (
    dispute_hold_correct,
    writeoff_correct,
)
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import DisputeHold, WriteOff


@pytest.fixture
def admin_actor(admin_user):
    return Actor.for_user(admin_user)


@pytest.fixture
def revenue_writeoff(invoice, supervisor_actor):
    return writeoff_create(
        invoice_id=invoice.pk,
        amount="30.00",
        reason_code=0,
        comments="Customer bankrupt",
        actor=supervisor_actor,
    )


@pytest.fixture
def expense_writeoff(invoice, supervisor_actor, expense_code):
    return writeoff_create(
        invoice_id=invoice.pk,
        amount="10.00",
        reason_code=1,
        comments="Good will",
        actor=supervisor_actor,
        revenue_impacting=False,
        accounting_code_id=expense_code.pk,
    )


@pytest.fixture
def other_expense_code(db):
    return AccountingCodeFactory(
        code="6200", name="Promotions expense", kind=AccountingCode.Kind.EXPENSE
    )


@pytest.fixture
def new_revenue_code(db):
    return AccountingCodeFactory(code="4100", name="Services revenue")


def refusal(call) -> BillingError:
    with pytest.raises(BillingError) as caught:
        call()
    return caught.value


def test_writeoff_comment_correction_is_saved_in_history_with_the_actor(
    revenue_writeoff, admin_actor, admin_user
):
    writeoff_correct(
        writeoff_id=revenue_writeoff.pk,
        actor=admin_actor,
        comments="Bankrupt, case 7",
        reason="Entered in error",
    )
    latest = revenue_writeoff.history.order_by("-history_id").first()
    assert latest.comments == "Bankrupt, case 7"
    assert latest.history_actor == admin_user.username
    assert WriteOff.objects.get().comments == "Bankrupt, case 7"


@pytest.mark.parametrize(
    ("comments", "code"), [("", INVALID_COMMENTS), ("Bad\x07bell", ILLEGAL_CHARACTERS)]
)
def test_writeoff_comment_correction_is_held_to_the_comment_rules(
    revenue_writeoff, admin_actor, comments, code
):
    error = refusal(
        lambda: writeoff_correct(
            writeoff_id=revenue_writeoff.pk,
            actor=admin_actor,
            comments=comments,
            reason="Entered in error",
        )
    )
    assert error.code == code
    assert error.field == "comments"
    assert WriteOff.objects.get().comments == "Customer bankrupt"


def test_a_revenue_impacting_writeoffs_code_cannot_be_corrected_on_its_own(
    revenue_writeoff, admin_actor, expense_code
):
    error = refusal(
        lambda: writeoff_correct(
            writeoff_id=revenue_writeoff.pk,
            actor=admin_actor,
            accounting_code_id=expense_code.pk,
            reason="Entered in error",
        )
    )
    assert error.code == INVALID_ACCOUNTING_CODE
    assert "invoice's revenue code" in error.message
    assert WriteOff.objects.get().accounting_code == Invoice.objects.get().revenue_code


def test_an_expense_writeoff_moves_to_another_active_expense_code(
    expense_writeoff, admin_actor, other_expense_code, admin_user
):
    writeoff_correct(
        writeoff_id=expense_writeoff.pk,
        actor=admin_actor,
        accounting_code_id=other_expense_code.pk,
        reason="Entered in error",
    )
    assert WriteOff.objects.get().accounting_code == other_expense_code
    latest = expense_writeoff.history.order_by("-history_id").first()
    assert latest.accounting_code_id == other_expense_code.pk
    assert latest.history_actor == admin_user.username


@pytest.mark.parametrize("target", ["revenue", "inactive_expense", "missing"])
def test_an_expense_writeoff_refuses_any_code_but_an_active_expense_code(
    expense_writeoff, admin_actor, expense_code, target
):
    code_id = {
        "revenue": lambda: Invoice.objects.get().revenue_code_id,
        "inactive_expense": lambda: (
            AccountingCodeFactory(code="6900", kind=AccountingCode.Kind.EXPENSE, active=False).pk
        ),
        "missing": lambda: 999_999,
    }[target]()
    error = refusal(
        lambda: writeoff_correct(
            writeoff_id=expense_writeoff.pk,
            actor=admin_actor,
            accounting_code_id=code_id,
            reason="Entered in error",
        )
    )
    assert error.code == INVALID_ACCOUNTING_CODE
    assert WriteOff.objects.get().accounting_code == expense_code


def test_a_correction_that_changes_nothing_adds_no_history_row(revenue_writeoff, admin_actor):
    before = revenue_writeoff.history.count()
    writeoff_correct(
        writeoff_id=revenue_writeoff.pk,
        actor=admin_actor,
        comments="Customer bankrupt",
        reason="Entered in error",
    )
    assert revenue_writeoff.history.count() == before


def test_corrections_need_the_change_permission(revenue_writeoff, supervisor_actor):
    error = refusal(
        lambda: writeoff_correct(
            writeoff_id=revenue_writeoff.pk,
            actor=supervisor_actor,
            comments="Not mine to edit",
            reason="Entered in error",
        )
    )
    assert error.code == PERMISSION_DENIED
    assert WriteOff.objects.get().comments == "Customer bankrupt"


def test_invoice_revenue_code_correction_moves_its_revenue_impacting_writeoffs(
    invoice,
    revenue_writeoff,
    expense_writeoff,
    expense_code,
    new_revenue_code,
    admin_actor,
    supervisor_actor,
    admin_user,
):
    reversed_one = writeoff_create(
        invoice_id=invoice.pk, amount="5.00", reason_code=2, comments="Typo", actor=supervisor_actor
    )
    writeoff_reverse(writeoff_id=reversed_one.pk, reason="Wrong invoice", actor=supervisor_actor)

    invoice_revenue_code_correct(
        invoice_id=invoice.pk,
        revenue_code_id=new_revenue_code.pk,
        actor=admin_actor,
        reason="Mapped to the services ledger",
    )

    assert Invoice.objects.get().revenue_code == new_revenue_code
    codes = dict(WriteOff.objects.values_list("pk", "accounting_code"))
    assert codes == {
        revenue_writeoff.pk: new_revenue_code.pk,
        reversed_one.pk: new_revenue_code.pk,
        expense_writeoff.pk: expense_code.pk,
    }
    latest = invoice.history.order_by("-history_id").first()
    assert latest.history_actor == admin_user.username
    assert latest.history_change_reason == "Mapped to the services ledger"
    moved = revenue_writeoff.history.order_by("-history_id").first()
    assert moved.accounting_code_id == new_revenue_code.pk
    assert moved.history_actor == admin_user.username


@pytest.mark.parametrize("target", ["expense", "inactive_revenue", "missing"])
def test_invoice_revenue_code_correction_refuses_any_code_but_an_active_revenue_code(
    invoice, revenue_writeoff, expense_code, admin_actor, target
):
    original = invoice.revenue_code_id
    code_id = {
        "expense": lambda: expense_code.pk,
        "inactive_revenue": lambda: AccountingCodeFactory(code="4900", active=False).pk,
        "missing": lambda: "not a number",
    }[target]()
    error = refusal(
        lambda: invoice_revenue_code_correct(
            invoice_id=invoice.pk,
            revenue_code_id=code_id,
            actor=admin_actor,
            reason="Entered in error",
        )
    )
    assert (error.code, error.field) == (INVALID_ACCOUNTING_CODE, "revenue_code")
    assert Invoice.objects.get().revenue_code_id == original
    assert WriteOff.objects.get().accounting_code_id == original


def test_dispute_hold_comment_correction_is_in_history_and_keeps_the_rules(
    invoice, supervisor_actor, admin_actor, admin_user
):
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="20.00", comments="Disputed", actor=supervisor_actor
    )
    dispute_hold_correct(
        dispute_hold_id=hold.pk,
        actor=admin_actor,
        comments="Duplicate charge",
        reason="Entered in error",
    )
    assert hold.history.order_by("-history_id").first().history_actor == admin_user.username
    error = refusal(
        lambda: dispute_hold_correct(
            dispute_hold_id=hold.pk, actor=admin_actor, comments=" ", reason="Entered in error"
        )
    )
    assert error.code == INVALID_COMMENTS
    assert DisputeHold.objects.get().comments == "Duplicate charge"


def test_payment_reference_correction_is_in_history_and_keeps_the_length_limit(
    invoice, supervisor_actor, admin_actor, admin_user
):
    payment = payment_record(invoice_id=invoice.pk, amount="10.00", actor=supervisor_actor)
    payment_correct(
        payment_id=payment.pk, actor=admin_actor, reference="CHK-2291", reason="Entered in error"
    )
    latest = payment.history.order_by("-history_id").first()
    assert (latest.reference, latest.history_actor) == ("CHK-2291", admin_user.username)
    error = refusal(
        lambda: payment_correct(
            payment_id=payment.pk, actor=admin_actor, reference="x" * 101, reason="Entered in error"
        )
    )
    assert (error.code, error.field) == (INVALID_INPUT, "reference")
    payment.refresh_from_db()
    assert payment.reference == "CHK-2291"
    assert payment.amount_minor == 1000


def _net_by_code(invoice) -> dict[str, int]:
    net: dict[str, int] = {}
    for code, debit, credit in JournalLine.objects.filter(entry__invoice=invoice).values_list(
        "accounting_code__code", "debit_minor", "credit_minor"
    ):
        net[code] = net.get(code, 0) + debit - credit
    return {code: amount for code, amount in net.items() if amount}


def test_invoice_revenue_code_correction_posts_reclassifications_and_keeps_the_books_whole(
    invoice, revenue_writeoff, expense_writeoff, expense_code, new_revenue_code, admin_actor
):
    old_code = invoice.revenue_code.code
    invoice_revenue_code_correct(
        invoice_id=invoice.pk,
        revenue_code_id=new_revenue_code.pk,
        actor=admin_actor,
        reason="Entered in error",
    )

    # 120.00 billed less 30.00 written off against revenue now sits on the new code;
    # nothing is left on the old one, and the expense write-off did not move.
    net = _net_by_code(invoice)
    assert old_code not in net
    assert net[new_revenue_code.code] == -(12000 - 3000)
    assert net[expense_code.code] == 1000
    reclassified = JournalEntry.objects.filter(event=JournalEvent.RECLASSIFICATION)
    assert reclassified.count() == 2  # the invoice's sent posting and the write-off
    call_command("verify_ledger", stdout=StringIO())


def test_expense_code_correction_posts_a_reclassification_dated_today(
    expense_writeoff, expense_code, other_expense_code, admin_actor
):
    writeoff_correct(
        writeoff_id=expense_writeoff.pk,
        actor=admin_actor,
        accounting_code_id=other_expense_code.pk,
        reason="Entered in error",
    )

    entry = JournalEntry.objects.get(event=JournalEvent.RECLASSIFICATION)
    assert entry.entry_date == today()
    net = _net_by_code(expense_writeoff.invoice)
    assert expense_code.code not in net
    assert net[other_expense_code.code] == 1000
    call_command("verify_ledger", stdout=StringIO())
