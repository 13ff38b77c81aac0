"""The journal: one test per posting rule and event (both lines, the entry date), the
posting service's refusals, the lock date, and reclassification."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils.formats import date_format

from billing.actors import Actor
from billing.errors import (
    INVALID_ACCOUNTING_CODE,
    INVALID_INPUT,
    INVALID_STATE,
    PERIOD_CLOSED,
    PERMISSION_DENIED,
    BillingError,
)
from billing.factories import AccountFactory, AccountingCodeFactory, InvoiceFactory, UserFactory
from billing.ledger.close import lock_date_move
from billing.ledger.codes import control_codes
from billing.ledger.periods import lock_date, lock_date_read_once
from billing.ledger.posting import (
    Line,
    credit,
    debit,
    post_entry,
    post_reclassification,
)
from billing.models import (
    AccountingCode,
    AccountingPeriodLock,
    Invoice,
    JournalEntry,
    JournalEvent,
    JournalLine,
)
from billing.receivables.invoices import invoice_revenue_code_correct, invoice_send
from billing.receivables.payments import payment_record, payment_remove
from billing.rules import today
from tests.ledger import expired_days_ago
from writeoffs.lifecycle.create import writeoff_create, writeoff_plan
from writeoffs.lifecycle.expiry import dispute_holds_expire
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.recovery import recovery_record
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import ReasonCode, WriteOff

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
SYSTEM = Actor.for_system()


def lines_of(entry: JournalEntry) -> list[tuple[str, int, int]]:
    """(code, debit, credit) per line, debits first."""
    return sorted(
        (
            (line.accounting_code.code, line.debit_minor, line.credit_minor)
            for line in entry.lines.select_related("accounting_code")
        ),
        key=lambda line: (-line[1], line[0]),
    )


def only_entry(**filters) -> JournalEntry:
    entries = list(JournalEntry.objects.filter(**filters))
    assert len(entries) == 1, entries
    return entries[0]


def close_books(through: datetime.date) -> None:
    AccountingPeriodLock.objects.create(locked_through=through, reason="Month end")


def verify() -> str:
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    return out.getvalue()


# --- posting rules, per event ------------------------------------------------------


def test_sending_an_invoice_debits_ar_control_and_credits_its_revenue_code_on_the_bill_date(
    account,
):
    bill_date = today() - 12 * DAY
    invoice = InvoiceFactory(account=account, total_minor=12345, bill_date=bill_date)
    entry = only_entry(event=JournalEvent.INVOICE_SENT, source_id=invoice.pk)
    assert entry.entry_date == bill_date
    assert entry.source_type == "billing.invoice"
    assert entry.currency == invoice.currency
    assert lines_of(entry) == [("1200", 12345, 0), ("4000", 0, 12345)]


def test_a_draft_invoice_posts_nothing(account):
    invoice = InvoiceFactory(account=account, status=Invoice.Status.DRAFT)
    assert not JournalEntry.objects.filter(invoice=invoice).exists()


def test_invoice_send_needs_an_active_revenue_code(account):
    retired = AccountingCodeFactory(code="4900", name="Retired revenue", active=False)
    invoice = InvoiceFactory(account=account, status=Invoice.Status.DRAFT, revenue_code=retired)
    with pytest.raises(BillingError) as error:
        invoice_send(invoice_id=invoice.pk, actor=SYSTEM)
    assert error.value.code == INVALID_ACCOUNTING_CODE
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.DRAFT
    assert not JournalEntry.objects.exists()


def test_invoice_send_refuses_an_invoice_already_sent(invoice):
    with pytest.raises(BillingError) as error:
        invoice_send(invoice_id=invoice.pk, actor=SYSTEM)
    assert error.value.code == INVALID_STATE
    assert JournalEntry.objects.filter(invoice=invoice).count() == 1


def test_invoice_send_refuses_a_person_without_the_send_permission(account, clerk_actor):
    invoice = InvoiceFactory(account=account, status=Invoice.Status.DRAFT)
    with pytest.raises(BillingError) as error:
        invoice_send(invoice_id=invoice.pk, actor=clerk_actor)
    assert error.value.code == PERMISSION_DENIED


def test_invoice_send_refuses_a_bill_date_on_the_lock_date(account):
    invoice = InvoiceFactory(
        account=account, status=Invoice.Status.DRAFT, bill_date=today() - 5 * DAY
    )
    close_books(today() - 5 * DAY)
    with pytest.raises(BillingError) as error:
        invoice_send(invoice_id=invoice.pk, actor=SYSTEM)
    assert error.value.code == PERIOD_CLOSED
    assert error.value.field == "bill_date"
    assert date_format(today() - 5 * DAY) in error.value.message
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.DRAFT


def test_invoice_send_refuses_a_future_bill_date(account):
    """Finding 9: sent with tomorrow's bill date, the invoice would post tomorrow, and a
    hold on it would convert into a write-off dated tomorrow."""
    invoice = InvoiceFactory(account=account, status=Invoice.Status.DRAFT, bill_date=today() + DAY)
    with pytest.raises(BillingError) as error:
        invoice_send(invoice_id=invoice.pk, actor=SYSTEM)
    assert error.value.code == INVALID_INPUT
    assert error.value.field == "bill_date"
    tomorrow = date_format(today() + DAY)
    assert f"bill date, {tomorrow}, is in the future" in error.value.message
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.DRAFT
    assert not JournalEntry.objects.filter(invoice=invoice).exists()


def test_invoice_send_takes_a_bill_date_of_today(account):
    invoice = InvoiceFactory(account=account, bill_date=today())
    assert invoice.status == Invoice.Status.SENT
    assert only_entry(event=JournalEvent.INVOICE_SENT, source_id=invoice.pk).entry_date == today()


def test_a_payment_debits_cash_and_credits_ar_control_on_its_paid_on_date(invoice, clerk_actor):
    paid_on = today() - 3 * DAY
    payment = payment_record(
        invoice_id=invoice.pk, amount="40.00", paid_on=paid_on, actor=clerk_actor
    )
    entry = only_entry(event=JournalEvent.PAYMENT, source_id=payment.pk)
    assert entry.entry_date == paid_on
    assert entry.created_by_label == "clerk"
    assert lines_of(entry) == [("1000", 4000, 0), ("1200", 0, 4000)]


def test_a_payment_dated_before_the_bill_date_is_refused(invoice, clerk_actor):
    with pytest.raises(BillingError) as error:
        payment_record(
            invoice_id=invoice.pk,
            amount="1.00",
            paid_on=invoice.bill_date - DAY,
            actor=clerk_actor,
        )
    assert error.value.code == INVALID_INPUT
    assert error.value.field == "paid_on"


def test_a_payment_void_reverses_its_lines_today(invoice, clerk_actor, supervisor_actor):
    payment = payment_record(
        invoice_id=invoice.pk, amount="40.00", paid_on=invoice.bill_date, actor=clerk_actor
    )
    payment_remove(payment_id=payment.pk, reason="Wrong invoice", actor=supervisor_actor)
    entry = only_entry(event=JournalEvent.PAYMENT_VOID, source_id=payment.pk)
    assert entry.entry_date == today()
    assert lines_of(entry) == [("1200", 4000, 0), ("1000", 0, 4000)]


def test_a_recovery_posts_one_entry_reinstating_each_code_then_the_payment_on_its_paid_on_date(
    invoice, clerk_actor, supervisor_actor, expense_code
):
    for amount, impacting in (("50.00", True), ("30.00", False)):
        writeoff_create(
            invoice_id=invoice.pk,
            amount=amount,
            reason_code=0,
            comments="Bad debt",
            revenue_impacting=impacting,
            accounting_code_id=None if impacting else expense_code.pk,
            writeoff_date=today() - 2 * DAY,
            actor=clerk_actor,
        )
    # 40.00 was still available: the other 60.00 reinstates the newest write-off first.
    paid_on = today() - DAY
    payment = recovery_record(
        invoice_id=invoice.pk, amount="100.00", paid_on=paid_on, actor=clerk_actor
    )
    entry = only_entry(event=JournalEvent.RECOVERY, source_id=payment.pk)
    assert entry.entry_date == paid_on
    assert entry.memo == f"Recovery payment {payment.pk} on invoice {invoice.invoice_no}"
    in_order = [
        (line.accounting_code.code, line.debit_minor, line.credit_minor)
        for line in entry.lines.select_related("accounting_code").order_by("id")
    ]
    # AR control / each write-off's code (by code id), then cash / AR control.
    assert in_order[0] == ("1200", 6000, 0)
    assert sorted(in_order[1:3]) == [("4000", 0, 3000), ("6100", 0, 3000)]
    assert in_order[3:] == [("1000", 10000, 0), ("1200", 0, 10000)]
    assert not JournalEntry.objects.filter(event=JournalEvent.PAYMENT, source_id=payment.pk)

    payment_remove(payment_id=payment.pk, reason="Bounced", actor=supervisor_actor)
    void = only_entry(event=JournalEvent.PAYMENT_VOID, source_id=payment.pk)
    assert void.entry_date == today()
    assert void.memo == f"Payment {payment.pk} on invoice {invoice.invoice_no} voided"
    assert lines_of(void) == [
        ("1200", 4000, 0),
        ("4000", 3000, 0),
        ("6100", 3000, 0),
        ("1000", 0, 10000),
    ]
    assert "the journal agrees" in verify()


def test_a_revenue_impacting_writeoff_debits_the_revenue_code_on_its_date(invoice, clerk_actor):
    date = today() - 2 * DAY
    writeoff = writeoff_create(
        invoice_id=invoice.pk,
        amount="25.00",
        reason_code=0,
        comments="Uncollectible",
        writeoff_date=date,
        actor=clerk_actor,
    )
    entry = only_entry(event=JournalEvent.WRITEOFF, source_id=writeoff.pk)
    assert entry.source_type == "writeoffs.writeoff"
    assert entry.entry_date == date
    assert lines_of(entry) == [("4000", 2500, 0), ("1200", 0, 2500)]


def test_a_writeoff_not_revenue_impacting_debits_the_chosen_expense_code(invoice, clerk_actor, db):
    goodwill = AccountingCodeFactory(code="6200", name="Goodwill", kind=AccountingCode.Kind.EXPENSE)
    writeoff = writeoff_create(
        invoice_id=invoice.pk,
        amount="25.00",
        reason_code=1,
        comments="Goodwill",
        revenue_impacting=False,
        accounting_code_id=goodwill.pk,
        actor=clerk_actor,
    )
    entry = only_entry(event=JournalEvent.WRITEOFF, source_id=writeoff.pk)
    assert entry.entry_date == today()
    assert lines_of(entry) == [("6200", 2500, 0), ("1200", 0, 2500)]


def test_a_writeoff_reversal_reverses_its_lines_today(invoice, clerk_actor, supervisor_actor):
    writeoff = writeoff_create(
        invoice_id=invoice.pk,
        amount="25.00",
        reason_code=0,
        comments="Uncollectible",
        writeoff_date=invoice.bill_date,
        actor=clerk_actor,
    )
    writeoff_reverse(writeoff_id=writeoff.pk, reason="In error", actor=supervisor_actor)
    entry = only_entry(event=JournalEvent.WRITEOFF_REVERSAL, source_id=writeoff.pk)
    assert entry.entry_date == today()
    assert lines_of(entry) == [("1200", 2500, 0), ("4000", 0, 2500)]


def test_a_persons_conversion_to_an_expense_code_posts_like_a_writeoff_on_the_settlement_date(
    invoice, clerk_actor, supervisor_actor, expense_code
):
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="30.00", comments="Disputed", actor=clerk_actor
    )
    dispute_hold_settle(
        dispute_hold_id=hold.pk,
        action="convert",
        accounting_code_id=expense_code.pk,
        actor=supervisor_actor,
    )
    writeoff = WriteOff.objects.get(origin_dispute=hold)
    entry = only_entry(event=JournalEvent.DISPUTE_CONVERSION, source_id=writeoff.pk)
    assert entry.entry_date == today()
    assert lines_of(entry) == [("6100", 3000, 0), ("1200", 0, 3000)]


def test_a_persons_revenue_impacting_conversion_debits_the_revenue_code(
    invoice, clerk_actor, supervisor_actor
):
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="30.00", comments="Disputed", actor=clerk_actor
    )
    dispute_hold_settle(dispute_hold_id=hold.pk, action="convert", actor=supervisor_actor)
    writeoff = WriteOff.objects.get(origin_dispute=hold)
    entry = only_entry(event=JournalEvent.DISPUTE_CONVERSION, source_id=writeoff.pk)
    assert lines_of(entry) == [("4000", 3000, 0), ("1200", 0, 3000)]


def test_an_expiry_conversion_posts_to_the_dispute_conversion_code_on_the_run_date(
    invoice, clerk_actor, settings
):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "convert"
    hold = dispute_hold_create(
        invoice_id=invoice.pk,
        amount="30.00",
        comments="Disputed",
        expire_hold_days=2,
        actor=clerk_actor,
    )
    hold = expired_days_ago(hold, 5)
    run_date = hold.expires_on + DAY
    dispute_holds_expire(run_date=run_date)
    writeoff = WriteOff.objects.get(origin_dispute=hold)
    assert writeoff.reason_code == ReasonCode.SYSTEM_CONVERSION
    assert not writeoff.revenue_impacting
    entry = only_entry(event=JournalEvent.DISPUTE_CONVERSION, source_id=writeoff.pk)
    assert entry.entry_date == run_date
    assert lines_of(entry) == [("6100", 3000, 0), ("1200", 0, 3000)]


def test_holds_and_their_release_post_nothing(invoice, clerk_actor, supervisor_actor):
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="30.00", comments="Disputed", actor=clerk_actor
    )
    dispute_hold_settle(dispute_hold_id=hold.pk, action="release_reage", actor=supervisor_actor)
    assert list(JournalEntry.objects.values_list("event", flat=True)) == ["invoice_sent"]


# --- the posting service -----------------------------------------------------------


def test_post_entry_refuses_an_unbalanced_entry(invoice):
    codes = control_codes()
    with pytest.raises(ValueError, match="unbalanced"):
        post_entry(
            event=JournalEvent.PAYMENT,
            source=invoice,
            entry_date=today(),
            invoice=invoice,
            lines=[debit(codes.cash_id, 100), credit(codes.ar_control_id, 99)],
            actor=SYSTEM,
        )
    assert JournalEntry.objects.filter(event=JournalEvent.PAYMENT).count() == 0


def test_post_entry_refuses_a_line_with_both_a_debit_and_a_credit(invoice):
    codes = control_codes()
    with pytest.raises(ValueError, match="one positive"):
        post_entry(
            event=JournalEvent.PAYMENT,
            source=invoice,
            entry_date=today(),
            invoice=invoice,
            lines=[Line(codes.cash_id, debit_minor=100, credit_minor=100)],
            actor=SYSTEM,
        )


def test_a_line_with_both_debit_and_credit_is_refused_by_the_database(invoice):
    entry = JournalEntry.objects.get(invoice=invoice)
    with pytest.raises(IntegrityError), transaction.atomic():
        JournalLine.objects.create(
            entry=entry,
            accounting_code_id=control_codes().cash_id,
            debit_minor=5,
            credit_minor=5,
            entry_date=entry.entry_date,
            currency="USD",
            invoice=invoice,
        )


def test_a_line_of_zero_is_refused_by_the_database(invoice):
    entry = JournalEntry.objects.get(invoice=invoice)
    with pytest.raises(IntegrityError), transaction.atomic():
        JournalLine.objects.create(
            entry=entry,
            accounting_code_id=control_codes().cash_id,
            entry_date=entry.entry_date,
            currency="USD",
            invoice=invoice,
        )


def test_an_event_posts_once_per_source(invoice):
    codes = control_codes()
    with pytest.raises(IntegrityError), transaction.atomic():
        post_entry(
            event=JournalEvent.INVOICE_SENT,
            source=invoice,
            entry_date=invoice.bill_date,
            invoice=invoice,
            lines=[debit(codes.ar_control_id, 1), credit(invoice.revenue_code_id, 1)],
            actor=SYSTEM,
        )


# --- the lock date -------------------------------------------------------------


def test_a_writeoff_dated_on_the_lock_date_is_refused_beside_the_date_naming_it(
    invoice, clerk_actor
):
    locked = today() - 10 * DAY
    close_books(locked)
    with pytest.raises(BillingError) as error:
        writeoff_create(
            invoice_id=invoice.pk,
            amount="10.00",
            reason_code=0,
            comments="Late",
            writeoff_date=locked,
            actor=clerk_actor,
        )
    assert error.value.code == PERIOD_CLOSED
    assert error.value.field == "writeoff_date"
    assert date_format(locked) in error.value.message
    assert not WriteOff.objects.exists()
    assert Invoice.objects.get(pk=invoice.pk).written_off_minor == 0


def test_the_writeoff_plan_refuses_a_closed_date_so_the_drawer_shows_it(invoice, clerk_actor):
    close_books(today() - 10 * DAY)
    with pytest.raises(BillingError) as error:
        writeoff_plan(
            invoice=invoice,
            amount="10.00",
            reason_code=0,
            comments="Late",
            writeoff_date=today() - 11 * DAY,
            actor=clerk_actor,
        )
    assert error.value.code == PERIOD_CLOSED


def test_a_writeoff_dated_the_day_after_the_lock_date_posts(invoice, clerk_actor):
    close_books(today() - 10 * DAY)
    writeoff = writeoff_create(
        invoice_id=invoice.pk,
        amount="10.00",
        reason_code=0,
        comments="Just open",
        writeoff_date=today() - 9 * DAY,
        actor=clerk_actor,
    )
    assert only_entry(source_id=writeoff.pk, event="writeoff").entry_date == today() - 9 * DAY


def test_a_writeoff_create_reads_the_lock_date_once_for_its_plan_and_its_posting(
    invoice, clerk_actor
):
    close_books(today() - 10 * DAY)
    lock_table = AccountingPeriodLock._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        writeoff_create(
            invoice_id=invoice.pk,
            amount="10.00",
            reason_code=0,
            comments="One read",
            writeoff_date=today() - 9 * DAY,
            actor=clerk_actor,
        )
    lock_reads = [q["sql"] for q in queries if f'FROM "{lock_table}"' in q["sql"]]
    assert len(lock_reads) == 1, lock_reads
    assert only_entry(event="writeoff").entry_date == today() - 9 * DAY


def test_the_lock_date_read_once_ends_with_its_block(invoice):
    close_books(today() - 10 * DAY)
    with transaction.atomic():
        with lock_date_read_once():
            assert lock_date() == today() - 10 * DAY
            AccountingPeriodLock.objects.update(locked_through=today() - 5 * DAY)
            assert lock_date() == today() - 10 * DAY  # the block's one read
        assert lock_date() == today() - 5 * DAY


@pytest.mark.django_db(transaction=True)  # a test case's own transaction would count
def test_the_lock_date_read_once_refuses_to_run_outside_a_transaction():
    with (
        pytest.raises(RuntimeError, match="inside the service's transaction"),
        lock_date_read_once(),
    ):
        pass  # pragma: no cover


def test_a_payment_dated_in_a_closed_period_is_refused_beside_paid_on(invoice, clerk_actor):
    close_books(today() - 10 * DAY)
    with pytest.raises(BillingError) as error:
        payment_record(
            invoice_id=invoice.pk, amount="10.00", paid_on=today() - 20 * DAY, actor=clerk_actor
        )
    assert error.value.code == PERIOD_CLOSED
    assert error.value.field == "paid_on"
    assert Invoice.objects.get(pk=invoice.pk).paid_minor == 0


def test_reversing_a_writeoff_of_a_closed_period_posts_today(
    invoice, clerk_actor, supervisor_actor
):
    writeoff = writeoff_create(
        invoice_id=invoice.pk,
        amount="10.00",
        reason_code=0,
        comments="Old",
        writeoff_date=today() - 20 * DAY,
        actor=clerk_actor,
    )
    close_books(today() - 10 * DAY)
    writeoff_reverse(writeoff_id=writeoff.pk, reason="In error", actor=supervisor_actor)
    assert only_entry(event="writeoff_reversal").entry_date == today()
    verify()


def test_voiding_a_payment_of_a_closed_period_posts_today(invoice, clerk_actor, supervisor_actor):
    payment = payment_record(
        invoice_id=invoice.pk, amount="10.00", paid_on=today() - 20 * DAY, actor=clerk_actor
    )
    close_books(today() - 10 * DAY)
    payment_remove(payment_id=payment.pk, reason="Bounced", actor=supervisor_actor)
    assert only_entry(event="payment_void").entry_date == today()
    verify()


def test_expiry_for_a_closed_run_date_converts_nothing_and_says_so(invoice, clerk_actor, settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "convert"
    hold = dispute_hold_create(
        invoice_id=invoice.pk,
        amount="30.00",
        comments="Disputed",
        expire_hold_days=2,
        actor=clerk_actor,
    )
    hold = expired_days_ago(hold, 5)
    run_date = hold.expires_on + DAY
    close_books(run_date)
    result = dispute_holds_expire(run_date=run_date)
    assert result.settled == []
    assert f"closed through {run_date}" in result.summary()
    assert "converted nothing" in result.summary()
    hold.refresh_from_db()
    assert hold.is_open
    assert not WriteOff.objects.exists()


def test_expiry_release_on_a_closed_run_date_still_releases(invoice, clerk_actor, settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release"
    hold = dispute_hold_create(
        invoice_id=invoice.pk,
        amount="30.00",
        comments="Disputed",
        expire_hold_days=2,
        actor=clerk_actor,
    )
    hold = expired_days_ago(hold, 5)
    run_date = hold.expires_on + DAY
    close_books(run_date)
    assert dispute_holds_expire(run_date=run_date).settled == [hold.pk]


def test_the_controller_moves_the_lock_date_with_a_reason_and_a_snapshot(invoice, controller_actor):
    through = today() - DAY
    move = lock_date_move(locked_through=through, reason="November closed", actor=controller_actor)
    assert lock_date() == through
    assert move.moved_by_label == "controller"
    assert move.previous is None
    snapshot = move.snapshot
    assert snapshot["verify_ledger"]["ok"] is True
    assert snapshot["trial_balance"]["USD"] == {
        "debit_minor": 12000,
        "credit_minor": 12000,
        "balanced": True,
    }
    assert snapshot["ar_control_check"]["USD"]["agrees"] is True
    assert snapshot["ar_control_check"]["USD"]["ar_control_minor"] == 12000
    assert snapshot["pending_writeoffs"] == 0


def test_the_close_snapshot_stores_the_ledger_checks_result_not_its_printout(
    invoice, controller_actor
):
    move = lock_date_move(locked_through=today() - DAY, reason="Closed", actor=controller_actor)
    stored = move.snapshot["verify_ledger"]
    assert {key: stored[key] for key in ("ok", "failures", "failure_count")} == {
        "ok": True,
        "failures": [],
        "failure_count": 0,
    }
    # What each registered check looked at, by name (the aging check's month ends
    # depend on today's date).
    assert stored["checked"] | {"aging_dates": 0} == {
        "invoices": 1,
        "journal_entries": JournalEntry.objects.count(),
        "writeoff_codes": 0,
        "recovery_currencies": 0,
        "aging_dates": 0,
        "open_holds": 0,
        "cases": 0,
        "writeoff_tax_splits": 0,
    }


def test_a_close_over_a_drifting_ledger_stores_each_failure_with_its_kind_capped(
    account, controller_actor
):
    invoices = [InvoiceFactory(account=account, total_minor=1000) for _ in range(25)]
    # Each invoice's sent posting and AR control now disagree with its total.
    Invoice.objects.filter(pk__in=[i.pk for i in invoices]).update(total_minor=900)

    move = lock_date_move(locked_through=today() - DAY, reason="Closed", actor=controller_actor)

    ledger = move.snapshot["verify_ledger"]
    assert ledger["ok"] is False
    assert ledger["checked"]["invoices"] == 25
    assert ledger["failure_count"] == 25 + 25 + 1  # postings, AR per invoice, AR per currency
    assert len(ledger["failures"]) == 20
    first = ledger["failures"][0]
    assert first["kind"] == "wrong_postings"
    assert first["message"].startswith(f"billing.invoice {invoices[0].pk} posts ")


def test_the_lock_date_is_always_before_today(controller_actor):
    with pytest.raises(BillingError) as error:
        lock_date_move(locked_through=today(), reason="Too soon", actor=controller_actor)
    assert error.value.field == "locked_through"
    assert lock_date() is None


def test_the_lock_date_needs_a_reason(controller_actor):
    with pytest.raises(BillingError) as error:
        lock_date_move(locked_through=today() - DAY, reason="  ", actor=controller_actor)
    assert error.value.field == "reason"


def test_only_a_superuser_moves_the_lock_date_back(controller_actor):
    lock_date_move(locked_through=today() - DAY, reason="Closed", actor=controller_actor)
    with pytest.raises(BillingError) as error:
        lock_date_move(locked_through=today() - 5 * DAY, reason="Oops", actor=controller_actor)
    assert error.value.code == PERMISSION_DENIED
    root = UserFactory(username="root", is_superuser=True)
    lock_date_move(locked_through=today() - 5 * DAY, reason="Reopened", actor=Actor.for_user(root))
    assert lock_date() == today() - 5 * DAY
    assert list(AccountingPeriodLock.objects.values_list("reason", flat=True)) == [
        "Reopened",
        "Closed",
    ]


@pytest.mark.parametrize("actor_fixture", ["clerk_actor", "supervisor_actor"])
def test_only_the_controller_role_moves_the_lock_date(request, actor_fixture):
    actor = request.getfixturevalue(actor_fixture)
    with pytest.raises(BillingError) as error:
        lock_date_move(locked_through=today() - DAY, reason="Closed", actor=actor)
    assert error.value.code == PERMISSION_DENIED


def test_the_controller_creates_nothing(invoice, controller_actor):
    with pytest.raises(BillingError) as error:
        writeoff_create(
            invoice_id=invoice.pk,
            amount="1.00",
            reason_code=0,
            comments="No",
            actor=controller_actor,
        )
    assert error.value.code == PERMISSION_DENIED


# --- reclassification ----------------------------------------------------------------


def test_a_revenue_code_correction_reclassifies_the_invoice_and_its_active_writeoffs_today(
    invoice, clerk_actor, supervisor_actor
):
    kept = writeoff_create(
        invoice_id=invoice.pk,
        amount="10.00",
        reason_code=0,
        comments="Kept",
        writeoff_date=invoice.bill_date,
        actor=clerk_actor,
    )
    undone = writeoff_create(
        invoice_id=invoice.pk,
        amount="5.00",
        reason_code=0,
        comments="Undone",
        writeoff_date=invoice.bill_date,
        actor=clerk_actor,
    )
    writeoff_reverse(writeoff_id=undone.pk, reason="In error", actor=supervisor_actor)
    old = invoice.revenue_code
    new = AccountingCodeFactory(code="4100", name="Services revenue")
    invoice_revenue_code_correct(
        invoice_id=invoice.pk,
        revenue_code_id=new.pk,
        actor=Actor.for_user(UserFactory(username="admin", is_superuser=True, is_staff=True)),
        reason="Mapped to services",
    )
    assert JournalEntry.objects.filter(event="reclassification").count() == 2
    assert old.code == "4000"
    of_invoice = only_entry(event="reclassification", source_type="billing.invoice")
    assert of_invoice.entry_date == today()
    assert lines_of(of_invoice) == [("4000", 12000, 0), ("4100", 0, 12000)]
    of_writeoff = only_entry(
        event="reclassification", source_type="writeoffs.writeoff", source_id=kept.pk
    )
    assert of_writeoff.source_type == "writeoffs.writeoff"
    assert lines_of(of_writeoff) == [("4100", 1000, 0), ("4000", 0, 1000)]
    verify()


def test_a_reclassified_writeoff_reverses_from_its_new_code(
    invoice, clerk_actor, supervisor_actor, expense_code
):
    writeoff = writeoff_create(
        invoice_id=invoice.pk,
        amount="10.00",
        reason_code=0,
        comments="Expense",
        revenue_impacting=False,
        accounting_code_id=expense_code.pk,
        actor=clerk_actor,
    )
    goodwill = AccountingCodeFactory(code="6200", name="Goodwill", kind="expense")
    for old, new in ((expense_code, goodwill), (goodwill, expense_code), (expense_code, goodwill)):
        WriteOff.objects.filter(pk=writeoff.pk).update(accounting_code=new)
        post_reclassification(
            writeoff, invoice=invoice, old_code_id=old.pk, new_code_id=new.pk, actor=SYSTEM
        )
    assert list(
        JournalEntry.objects.filter(event="reclassification").values_list("sequence", flat=True)
    ) == [3, 2, 1]
    writeoff_reverse(writeoff_id=writeoff.pk, reason="In error", actor=supervisor_actor)
    reversal = only_entry(event="writeoff_reversal")
    assert lines_of(reversal) == [("1200", 1000, 0), ("6200", 0, 1000)]
    verify()


def test_reclassifying_a_code_the_source_never_used_posts_nothing(invoice, expense_code):
    other = AccountingCodeFactory(code="6200", name="Goodwill", kind="expense")
    assert (
        post_reclassification(
            invoice,
            invoice=invoice,
            old_code_id=expense_code.pk,
            new_code_id=other.pk,
            actor=SYSTEM,
        )
        is None
    )


# --- verify_ledger -------------------------------------------------------------------


def test_verify_ledger_passes_on_a_ledger_made_by_the_services(
    invoice, clerk_actor, supervisor_actor
):
    payment = payment_record(invoice_id=invoice.pk, amount="20.00", actor=clerk_actor)
    payment_remove(payment_id=payment.pk, reason="Wrong", actor=supervisor_actor)
    writeoff_create(
        invoice_id=invoice.pk, amount="5.00", reason_code=0, comments="Small", actor=clerk_actor
    )
    assert "journal agrees" in verify()


def test_verify_ledger_reports_a_row_without_its_posting(invoice, clerk_actor):
    payment = payment_record(invoice_id=invoice.pk, amount="20.00", actor=clerk_actor)
    JournalLine.objects.filter(entry__source_id=payment.pk, entry__event="payment").delete()
    JournalEntry.objects.filter(source_id=payment.pk, event="payment").delete()
    with pytest.raises(CommandError):
        verify()


def test_verify_ledger_reports_an_unbalanced_entry(invoice):
    JournalLine.objects.filter(invoice=invoice, debit_minor__gt=0).update(debit_minor=11999)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_ledger", stdout=out)
    assert "does not balance" in out.getvalue()


def test_verify_ledger_reports_ar_control_that_disagrees_with_the_balance_due(invoice):
    Invoice.objects.filter(pk=invoice.pk).update(total_minor=11000)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_ledger", stdout=out)
    assert "AR control lines add up to 12000 but its balance due is 11000" in out.getvalue()
    assert "USD: AR control is 12000" in out.getvalue()


def test_verify_ledger_reports_a_posting_for_a_row_that_posts_nothing(invoice, account):
    draft = InvoiceFactory(account=account, status=Invoice.Status.DRAFT, invoice_no=777)
    codes = control_codes()
    post_entry(
        event=JournalEvent.INVOICE_SENT,
        source=draft,
        entry_date=today(),
        invoice=draft,
        lines=[debit(codes.ar_control_id, 5), credit(draft.revenue_code_id, 5)],
        actor=SYSTEM,
    )
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_ledger", stdout=out)
    assert f"billing.invoice {draft.pk} has entries" in out.getvalue()


def test_verify_ledger_lists_up_to_its_limit_and_counts_the_rest(account):
    invoices = [InvoiceFactory(account=account, total_minor=1000) for _ in range(3)]
    Invoice.objects.filter(pk__in=[i.pk for i in invoices[:2]]).update(paid_minor=1)
    Invoice.objects.filter(pk=invoices[2].pk).update(total_minor=900)
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("verify_ledger", "--limit", "1", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"Invoice {invoices[0].invoice_no} (id {invoices[0].pk}): paid ")
    # Journal: the invoice's postings, its AR control, the currency's AR control.
    assert lines[1].startswith(f"billing.invoice {invoices[2].pk} posts ")
    assert lines[2:] == ["... and 1 more.", "... and 4 more journal problems."]
    assert str(failed.value).startswith(
        "2 of 3 invoices have stored totals that disagree with their rows; 5 journal problems"
    )


def test_another_currency_posts_in_its_own_currency(db):
    eur = AccountFactory(currency="EUR")
    invoice = InvoiceFactory(account=eur, total_minor=500)
    assert set(JournalLine.objects.filter(invoice=invoice).values_list("currency", flat=True)) == {
        "EUR"
    }


def test_journal_lines_page_by_keyset_in_date_order_for_the_api(account, clerk_actor):
    from billing.ledger.books import journal_lines
    from billing.web.pagination import keyset_window

    for n in range(3):
        InvoiceFactory(account=account, invoice_no=20000 + n, bill_date=today() - (30 - n) * DAY)
    lines = journal_lines(start=today() - 40 * DAY, end=today())
    first = keyset_window(lines, {}, 4)
    assert first.has_next
    second = keyset_window(lines, {"after": first.next_cursor}, 4)
    seen = [line.pk for line in first] + [line.pk for line in second]
    assert len(seen) == len(set(seen)) == 6
    dates = [line.entry_date for line in (*first, *second)]
    assert dates == sorted(dates)
    assert not second.has_next


def test_the_system_check_reports_a_journal_code_that_is_missing_or_of_the_wrong_kind(settings, db):
    from billing.ops.checks import check_journal_codes

    assert check_journal_codes() == []
    settings.CASH_CODE = "9999"
    settings.DISPUTE_CONVERSION_CODE = "1200"
    messages = check_journal_codes()
    assert [message.id for message in messages] == ["billing.E010", "billing.E010"]
    assert "CASH_CODE is '9999'" in messages[0].msg
    assert "DISPUTE_CONVERSION_CODE is '1200', which is not an active expense" in messages[1].msg


def test_posting_refuses_when_a_control_code_is_missing(invoice, clerk_actor, settings):
    settings.CASH_CODE = "9999"
    with pytest.raises(BillingError) as error:
        payment_record(invoice_id=invoice.pk, amount="1.00", actor=clerk_actor)
    assert error.value.code == INVALID_ACCOUNTING_CODE
    assert Invoice.objects.get(pk=invoice.pk).paid_minor == 0
