"""The write-off and dispute-hold services: one test per money rule."""

import datetime
from contextlib import contextmanager
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from billing.actors import Actor
from billing.errors import (
    DISPUTE_NOT_FOUND,
    IDEMPOTENCY_CLASH,
    ILLEGAL_CHARACTERS,
    INVALID_ACCOUNTING_CODE,
    INVALID_AMOUNT,
    INVALID_COMMENTS,
    INVALID_DISPUTE_SETTINGS,
    INVALID_EXPIRE_HOLD_DAYS,
    INVALID_INPUT,
    INVALID_REASON_CODE,
    INVALID_SETTLEMENT_ACTION,
    INVALID_STATE,
    INVALID_WRITEOFF_DATE,
    INVOICE_NOT_FOUND,
    INVOICE_NOT_OPEN,
    INVOICE_VOID,
    MALFORMED_AMOUNT,
    OVER_AVAILABLE,
    PERMISSION_DENIED,
    BillingError,
)
from billing.factories import AccountFactory, AccountingCodeFactory, InvoiceFactory, UserFactory
from billing.models import AccountingCode, ApiKey, Invoice
from billing.receivables.payments import payment_record
from billing.roles import CLERK
from tests.ledger import expired_days_ago
from writeoffs.lifecycle.create import writeoff_create, writeoff_plan
from writeoffs.lifecycle.expiry import dispute_holds_expire
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import ApprovalLimit, DisputeHold, ReasonCode, Source, WriteOff

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
CONTROL_CHARACTERS = ["\x00", "\x07", "\x08", "\x0b", "\x0c", "\r", "\x1b", "\x7f", "\x85", "\x9f"]
BIDI_OVERRIDES = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
# Zero and too large are 3120; text that is not an amount in the currency is 1016.
NOT_AN_AMOUNT = {
    "0": INVALID_AMOUNT,
    "0.00": INVALID_AMOUNT,
    "99999999999999999999": INVALID_AMOUNT,
    0: INVALID_AMOUNT,
    "-10.00": MALFORMED_AMOUNT,
    "10.001": MALFORMED_AMOUNT,
    "abc": MALFORMED_AMOUNT,
    "NaN": MALFORMED_AMOUNT,
    "Infinity": MALFORMED_AMOUNT,
    "-Infinity": MALFORMED_AMOUNT,
    "1e13": MALFORMED_AMOUNT,
    "1,50": MALFORMED_AMOUNT,
    1.5: MALFORMED_AMOUNT,
    Decimal("NaN"): MALFORMED_AMOUNT,
}


@contextmanager
def refused(code):
    """Assert a BillingError with ``code`` is raised; yields the pytest ExceptionInfo."""
    with pytest.raises(BillingError) as info:
        yield info
    assert info.value.code == code, info.value


def write_off(invoice, actor, amount="10.00", **kwargs):
    kwargs.setdefault("reason_code", ReasonCode.BAD_DEBT)
    kwargs.setdefault("comments", "Customer went out of business")
    return writeoff_create(invoice_id=invoice.pk, amount=amount, actor=actor, **kwargs)


def hold(invoice, actor, amount="10.00", **kwargs):
    kwargs.setdefault("comments", "Customer disputes the March charge")
    return dispute_hold_create(invoice_id=invoice.pk, amount=amount, actor=actor, **kwargs)


def totals(invoice):
    invoice = Invoice.objects.get(pk=invoice.pk)
    return {
        "total": invoice.total,
        "paid": invoice.paid,
        "written_off": invoice.written_off,
        "held": invoice.held,
        "balance_due": invoice.balance_due,
        "available": invoice.available,
    }


def money(**values):
    """Expected invoice totals of the 120.00 fixture invoice, with overrides."""
    expected = dict(total="120.00", paid="0.00", written_off="0.00", held="0.00")
    expected.update(values)
    result = {key: Decimal(value) for key, value in expected.items()}
    result["balance_due"] = result["total"] - result["paid"] - result["written_off"]
    result["available"] = result["balance_due"] - result["held"]
    return result


@pytest.fixture(params=["write-off", "dispute"])
def create_entry(request):
    """Either create service, for the rules that write-offs and dispute holds share."""
    return write_off if request.param == "write-off" else hold


@pytest.fixture
def api_key(db):
    return ApiKey.objects.create(name="erp", role=ApiKey.Role.SUPERVISOR, prefix="p", key_hash="h")


# --- over available -----------------------------------------------------------


def test_writeoff_above_balance_due_is_refused_with_balance_in_message(invoice, clerk_actor):
    with refused(OVER_AVAILABLE) as info:
        write_off(invoice, clerk_actor, "150.00")
    assert info.value.message == (
        "Write-off amount 150.00 is more than the balance due of 120.00 on invoice 10023."
    )
    assert info.value.field == "amount"
    assert not WriteOff.objects.exists()
    assert totals(invoice) == money()


def test_writeoff_above_available_names_the_held_part(invoice, clerk_actor):
    hold(invoice, clerk_actor, "30.00")
    with refused(OVER_AVAILABLE) as info:
        write_off(invoice, clerk_actor, "100.00")
    assert info.value.message == (
        "Write-off amount 100.00 is more than the 90.00 available on invoice 10023 "
        "(balance due 120.00, of which 30.00 on hold)."
    )
    assert totals(invoice) == money(held="30.00")


def test_writeoff_above_balance_after_a_payment_names_the_remaining_balance(invoice, clerk_actor):
    payment_record(invoice_id=invoice.pk, amount="50.00", actor=clerk_actor)
    with refused(OVER_AVAILABLE) as info:
        write_off(invoice, clerk_actor, "70.01")
    assert "balance due of 70.00 on invoice 10023" in info.value.message


def test_dispute_above_available_is_refused_with_balance_and_hold_in_message(invoice, clerk_actor):
    hold(invoice, clerk_actor, "30.00")
    with refused(OVER_AVAILABLE) as info:
        hold(invoice, clerk_actor, "90.01")
    assert info.value.message == (
        "Dispute amount 90.01 is more than the 90.00 available on invoice 10023 "
        "(balance due 120.00, of which 30.00 on hold)."
    )
    assert DisputeHold.objects.count() == 1


def test_entry_of_exactly_the_available_amount_is_accepted(invoice, clerk_actor, create_entry):
    payment_record(invoice_id=invoice.pk, amount="20.00", actor=clerk_actor)
    entry = create_entry(invoice, clerk_actor, "100.00")
    assert entry.amount == Decimal("100.00")
    assert totals(invoice)["available"] == Decimal("0.00")


# --- amounts ------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "code"), NOT_AN_AMOUNT.items(), ids=repr)
def test_entry_amount_that_is_not_a_positive_two_place_number_is_refused(
    invoice, clerk_actor, create_entry, amount, code
):
    with refused(code) as info:
        create_entry(invoice, clerk_actor, amount)
    assert info.value.field == "amount"
    assert not WriteOff.objects.exists()
    assert not DisputeHold.objects.exists()
    assert totals(invoice) == money()


def test_thirty_cents_written_off_in_ten_and_twenty_leaves_exactly_zero(clerk_actor, account):
    invoice = InvoiceFactory(account=account, total_minor=30)
    write_off(invoice, clerk_actor, "0.10")
    write_off(invoice, clerk_actor, "0.20")
    invoice.refresh_from_db()
    assert invoice.balance_due == Decimal("0.00")
    assert invoice.balance_due_minor == 0
    with refused(OVER_AVAILABLE):
        write_off(invoice, clerk_actor, "0.01")


def test_yen_invoice_takes_whole_yen_and_refuses_fractions(clerk_actor):
    invoice = InvoiceFactory(account=AccountFactory(currency="JPY"), total_minor=1500)
    assert invoice.currency == "JPY"
    # Without a JPY limit row the clerk's limit is 0 and the write-off would be pending.
    ApprovalLimit.objects.create(role="clerk", currency="JPY", limit_minor=100_000)
    entry = write_off(invoice, clerk_actor, "500")
    assert entry.amount_minor == 500
    assert entry.amount == Decimal("500")
    with refused(MALFORMED_AMOUNT):
        write_off(invoice, clerk_actor, "0.5")
    with refused(OVER_AVAILABLE) as info:
        hold(invoice, clerk_actor, "1001")
    assert "balance due of 1,000 on invoice" in info.value.message


def test_dinar_invoice_takes_three_places_and_refuses_four(clerk_actor):
    invoice = InvoiceFactory(account=AccountFactory(currency="KWD"), total_minor=12345)
    entry = hold(invoice, clerk_actor, "1.005")
    assert entry.amount_minor == 1005
    assert entry.amount == Decimal("1.005")
    with refused(MALFORMED_AMOUNT):
        write_off(invoice, clerk_actor, "1.0005")
    with refused(OVER_AVAILABLE) as info:
        write_off(invoice, clerk_actor, "20")
    assert info.value.message == (
        f"Write-off amount 20.000 is more than the 11.340 available on invoice "
        f"{invoice.invoice_no} (balance due 12.345, of which 1.005 on hold)."
    )


# --- empty amount means the full available amount ------------------------------


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_empty_writeoff_amount_writes_off_the_full_available_amount(invoice, clerk_actor, empty):
    payment_record(invoice_id=invoice.pk, amount="20.00", actor=clerk_actor)
    hold(invoice, clerk_actor, "30.00")
    entry = write_off(invoice, clerk_actor, empty)
    assert entry.amount == Decimal("70.00")
    assert totals(invoice) == money(paid="20.00", written_off="70.00", held="30.00")


def test_empty_dispute_amount_holds_the_full_available_amount(invoice, clerk_actor):
    write_off(invoice, clerk_actor, "20.00")
    entry = hold(invoice, clerk_actor, "")
    assert entry.amount == Decimal("100.00")
    assert totals(invoice)["available"] == Decimal("0.00")


def test_empty_amount_is_refused_when_nothing_is_available(invoice, clerk_actor, create_entry):
    hold(invoice, clerk_actor, "")
    with refused(OVER_AVAILABLE) as info:
        create_entry(invoice, clerk_actor, "")
    assert "nothing available" in info.value.message
    assert "of which 120.00 on hold" in info.value.message


def test_writeoff_plan_freezes_the_full_amount_and_writes_nothing(invoice, clerk_actor):
    plan = writeoff_plan(
        invoice=invoice,
        amount="",
        reason_code=ReasonCode.GOOD_WILL,
        comments="Loyal customer",
        actor=clerk_actor,
    )
    assert plan.amount == Decimal("120.00")
    assert plan.writeoff_date == timezone.localdate()
    assert not WriteOff.objects.exists()
    assert totals(invoice) == money()


# --- invoice status -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [(Invoice.Status.DRAFT, INVOICE_NOT_OPEN), (Invoice.Status.VOID, INVOICE_VOID)],
)
def test_draft_and_void_invoices_cannot_be_written_off_or_disputed(
    account, clerk_actor, create_entry, status, code
):
    invoice = InvoiceFactory(account=account, status=status)
    with refused(code) as info:
        create_entry(invoice, clerk_actor, "10.00")
    assert f"is {status}" in info.value.message
    assert not WriteOff.objects.exists()
    assert not DisputeHold.objects.exists()


def test_unknown_invoice_is_refused(clerk_actor, create_entry, db):
    with refused(INVOICE_NOT_FOUND):
        create_entry(Invoice(pk=987654), clerk_actor, "10.00")


# --- dates ----------------------------------------------------------------------


def test_writeoff_date_defaults_to_today_in_the_configured_time_zone(invoice, clerk_actor):
    assert write_off(invoice, clerk_actor).writeoff_date == timezone.localdate()


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12"])
def test_today_follows_the_configured_time_zone_not_the_server(
    invoice, clerk_actor, settings, zone
):
    # These zones are 26 hours apart, so at any moment their dates differ.
    settings.TIME_ZONE = zone
    expected = datetime.datetime.now(ZoneInfo(zone)).date()
    assert write_off(invoice, clerk_actor).writeoff_date == expected == timezone.localdate()


def test_writeoff_dated_on_the_bill_date_is_accepted(invoice, clerk_actor):
    entry = write_off(invoice, clerk_actor, writeoff_date=invoice.bill_date)
    assert entry.writeoff_date == invoice.bill_date


def test_writeoff_dated_before_the_bill_date_is_refused(invoice, clerk_actor):
    with refused(INVALID_WRITEOFF_DATE) as info:
        write_off(invoice, clerk_actor, writeoff_date=invoice.bill_date - DAY)
    assert info.value.field == "writeoff_date"
    # The app's one date format (issue 15), e.g. "Oct 22, 2026".
    assert f"{invoice.bill_date:%b %-d, %Y}" in info.value.message
    assert not WriteOff.objects.exists()


def test_writeoff_dated_in_the_future_is_refused(invoice, clerk_actor):
    with refused(INVALID_WRITEOFF_DATE) as info:
        write_off(invoice, clerk_actor, writeoff_date=timezone.localdate() + DAY)
    assert "future" in info.value.message


def test_writeoff_dated_today_is_accepted(invoice, clerk_actor):
    entry = write_off(invoice, clerk_actor, writeoff_date=timezone.localdate())
    assert entry.writeoff_date == timezone.localdate()


# --- comments -------------------------------------------------------------------


@pytest.mark.parametrize("comments", ["", "   ", "\n\t\n", None])
def test_empty_comments_are_refused(invoice, clerk_actor, create_entry, comments):
    with refused(INVALID_COMMENTS) as info:
        create_entry(invoice, clerk_actor, comments=comments)
    assert info.value.field == "comments"


def test_comments_of_3001_characters_are_refused(invoice, clerk_actor, create_entry):
    with refused(INVALID_COMMENTS) as info:
        create_entry(invoice, clerk_actor, comments="x" * 3001)
    assert "3000" in info.value.message


def test_comments_of_exactly_3000_characters_are_accepted(invoice, clerk_actor, create_entry):
    entry = create_entry(invoice, clerk_actor, comments="x" * 3000)
    assert len(entry.comments) == 3000


def test_crlf_in_comments_is_stored_as_lf(invoice, clerk_actor, create_entry):
    entry = create_entry(invoice, clerk_actor, comments="Line one\r\nLine two")
    assert entry.comments == "Line one\nLine two"


def test_3000_characters_with_crlf_pairs_are_accepted_and_stored_with_lf(
    invoice, clerk_actor, create_entry
):
    comments = "abcd\r\n" * 600  # 3600 raw, 3000 after normalising
    entry = create_entry(invoice, clerk_actor, comments=comments)
    assert len(entry.comments) == 3000
    assert "\r" not in entry.comments


def test_3001_characters_after_normalising_crlf_are_refused(invoice, clerk_actor, create_entry):
    with refused(INVALID_COMMENTS):
        create_entry(invoice, clerk_actor, comments="abcd\r\n" * 600 + "x")


def test_tab_and_newline_in_comments_are_accepted(invoice, clerk_actor, create_entry):
    entry = create_entry(invoice, clerk_actor, comments="Line one\n\tindented line two")
    assert entry.comments == "Line one\n\tindented line two"


@pytest.mark.parametrize("char", CONTROL_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_in_comments_are_refused(invoice, clerk_actor, create_entry, char):
    with refused(ILLEGAL_CHARACTERS) as info:
        create_entry(invoice, clerk_actor, comments=f"Customer{char} disputes")
    assert f"U+{ord(char):04X}" in info.value.message
    assert info.value.field == "comments"
    assert not WriteOff.objects.exists()
    assert not DisputeHold.objects.exists()


@pytest.mark.parametrize("char", BIDI_OVERRIDES, ids=lambda c: f"U+{ord(c):04X}")
def test_bidi_override_characters_in_comments_are_refused(invoice, clerk_actor, create_entry, char):
    with refused(ILLEGAL_CHARACTERS):
        create_entry(invoice, clerk_actor, comments=f"refund {char}0001{chr(0x202C)} only")


def test_ordinary_unicode_in_comments_is_accepted(invoice, clerk_actor, create_entry):
    text = "Müller GmbH — réclamation 請求 \u200f"  # an RLM mark is not an override
    assert create_entry(invoice, clerk_actor, comments=text).comments == text


# --- reason codes ---------------------------------------------------------------


@pytest.mark.parametrize("reason_code", [0, 1, 2, 3, 4, 5, "3"])
def test_each_writeoff_reason_a_person_may_give_is_accepted(invoice, clerk_actor, reason_code):
    assert write_off(invoice, clerk_actor, reason_code=reason_code).reason_code == int(reason_code)


def test_reason_9999_is_refused_from_people(invoice, supervisor_actor):
    with refused(INVALID_REASON_CODE) as info:
        write_off(invoice, supervisor_actor, reason_code=ReasonCode.SYSTEM_CONVERSION)
    assert info.value.field == "reason_code"
    assert not WriteOff.objects.exists()


def test_reason_9999_is_refused_from_api_keys(invoice, api_key):
    with refused(INVALID_REASON_CODE):
        write_off(invoice, Actor.for_api_key(api_key), reason_code="9999")


def test_reason_9001_is_refused_for_a_writeoff(invoice, clerk_actor):
    with refused(INVALID_REASON_CODE):
        write_off(invoice, clerk_actor, reason_code=ReasonCode.CHARGE_DISPUTE_HOLD)


@pytest.mark.parametrize("reason_code", [6, -1, 42, "abc", "", None, "1.0", 1.0, True, "²"])
def test_unknown_writeoff_reason_is_refused(invoice, clerk_actor, reason_code):
    with refused(INVALID_REASON_CODE):
        write_off(invoice, clerk_actor, reason_code=reason_code)


@pytest.mark.parametrize("reason_code", [0, 5, 9999, "x"])
def test_dispute_requires_reason_9001(invoice, clerk_actor, reason_code):
    with refused(INVALID_REASON_CODE):
        hold(invoice, clerk_actor, reason_code=reason_code)
    assert hold(invoice, clerk_actor, reason_code="9001").reason_code == 9001


# --- accounting codes -----------------------------------------------------------


def test_revenue_impacting_writeoff_posts_to_the_invoice_revenue_code(invoice, clerk_actor):
    entry = write_off(invoice, clerk_actor, revenue_impacting=True)
    assert entry.revenue_impacting is True
    assert entry.accounting_code == invoice.revenue_code


def test_other_writeoff_posts_to_the_chosen_expense_code(invoice, clerk_actor, expense_code):
    entry = write_off(
        invoice, clerk_actor, revenue_impacting=False, accounting_code_id=expense_code.pk
    )
    assert entry.revenue_impacting is False
    assert entry.accounting_code == expense_code


def test_other_writeoff_without_an_accounting_code_is_refused(invoice, clerk_actor):
    with refused(INVALID_ACCOUNTING_CODE) as info:
        write_off(invoice, clerk_actor, revenue_impacting=False)
    assert info.value.field == "accounting_code"


@pytest.mark.parametrize("code_id", ["abc", "²", "--1", -1, 10**30])
def test_other_writeoff_to_a_code_that_is_not_an_id_is_refused(invoice, clerk_actor, code_id):
    with refused(INVALID_ACCOUNTING_CODE):
        write_off(invoice, clerk_actor, revenue_impacting=False, accounting_code_id=code_id)


def test_other_writeoff_to_an_inactive_expense_code_is_refused(invoice, clerk_actor):
    inactive = AccountingCodeFactory(code="6900", kind=AccountingCode.Kind.EXPENSE, active=False)
    with refused(INVALID_ACCOUNTING_CODE):
        write_off(invoice, clerk_actor, revenue_impacting=False, accounting_code_id=inactive.pk)


def test_other_writeoff_to_a_revenue_code_is_refused(invoice, clerk_actor):
    with refused(INVALID_ACCOUNTING_CODE):
        write_off(
            invoice,
            clerk_actor,
            revenue_impacting=False,
            accounting_code_id=invoice.revenue_code_id,
        )
    assert not WriteOff.objects.exists()


# --- permissions ----------------------------------------------------------------


def test_viewer_may_not_write_off_or_dispute(invoice, viewer, create_entry):
    with refused(PERMISSION_DENIED):
        create_entry(invoice, Actor.for_user(viewer))
    assert not WriteOff.objects.exists()
    assert not DisputeHold.objects.exists()


def test_viewer_may_not_reverse_or_settle(invoice, viewer, clerk_actor):
    entry = write_off(invoice, clerk_actor)
    dispute = hold(invoice, clerk_actor)
    with refused(PERMISSION_DENIED):
        writeoff_reverse(writeoff_id=entry.pk, reason="Mistake", actor=Actor.for_user(viewer))
    with refused(PERMISSION_DENIED):
        dispute_hold_settle(
            dispute_hold_id=dispute.pk, action="release", actor=Actor.for_user(viewer)
        )


def test_clerk_may_not_reverse_a_writeoff(invoice, clerk_actor):
    entry = write_off(invoice, clerk_actor)
    with refused(PERMISSION_DENIED):
        writeoff_reverse(writeoff_id=entry.pk, reason="Mistake", actor=clerk_actor)
    assert WriteOff.objects.get().status == WriteOff.Status.ACTIVE


@pytest.mark.parametrize("action", ["convert", "release", "release_reage"])
def test_clerk_may_not_settle_a_dispute(invoice, clerk_actor, action):
    dispute = hold(invoice, clerk_actor)
    with refused(PERMISSION_DENIED):
        dispute_hold_settle(dispute_hold_id=dispute.pk, action=action, actor=clerk_actor)
    assert DisputeHold.objects.get().is_open


def test_inactive_user_may_not_write_off(invoice, clerk):
    clerk.is_active = False
    clerk.save()
    with refused(PERMISSION_DENIED):
        write_off(invoice, Actor.for_user(clerk))


def test_revoked_api_key_may_not_write_off(invoice, api_key):
    api_key.revoked = True
    api_key.save()
    with refused(PERMISSION_DENIED):
        write_off(invoice, Actor.for_api_key(api_key))


def test_clerk_api_key_may_create_but_not_settle(invoice, api_key):
    api_key.role = ApiKey.Role.CLERK
    api_key.save()
    actor = Actor.for_api_key(api_key)
    dispute = hold(invoice, actor)
    with refused(PERMISSION_DENIED):
        dispute_hold_settle(dispute_hold_id=dispute.pk, action="release", actor=actor)


def test_supervisor_api_key_may_settle(invoice, api_key):
    actor = Actor.for_api_key(api_key)
    dispute = hold(invoice, actor)
    settled = dispute_hold_settle(dispute_hold_id=dispute.pk, action="release", actor=actor)
    assert settled.status == DisputeHold.Status.RELEASED
    assert settled.settled_by is None
    assert settled.settled_by_label == "API key erp"


# --- idempotency ----------------------------------------------------------------


def test_writeoff_replay_returns_the_first_record_and_creates_nothing(invoice, clerk_actor):
    first = write_off(invoice, clerk_actor, "", idempotency_key="tok-1")
    replay = write_off(invoice, clerk_actor, "", idempotency_key="tok-1")
    assert replay.pk == first.pk
    assert WriteOff.objects.count() == 1
    assert WriteOff.history.count() == 1
    assert totals(invoice) == money(written_off="120.00")


def test_dispute_replay_returns_the_first_record_and_creates_nothing(invoice, clerk_actor):
    first = hold(invoice, clerk_actor, "30.00", idempotency_key="tok-1")
    replay = hold(invoice, clerk_actor, "30.00", idempotency_key="tok-1")
    assert replay.pk == first.pk
    assert DisputeHold.objects.count() == 1
    assert totals(invoice) == money(held="30.00")


def test_same_key_with_different_content_is_refused(invoice, clerk_actor, create_entry):
    create_entry(invoice, clerk_actor, "30.00", idempotency_key="tok-1")
    with refused(IDEMPOTENCY_CLASH):
        create_entry(invoice, clerk_actor, "31.00", idempotency_key="tok-1")
    with refused(IDEMPOTENCY_CLASH):
        create_entry(invoice, clerk_actor, "30.00", idempotency_key="tok-1", comments="Other")
    assert WriteOff.objects.count() + DisputeHold.objects.count() == 1


def test_same_key_on_another_invoice_is_refused(invoice, account, clerk_actor, create_entry):
    create_entry(invoice, clerk_actor, "30.00", idempotency_key="tok-1")
    with refused(IDEMPOTENCY_CLASH):
        create_entry(InvoiceFactory(account=account), clerk_actor, "30.00", idempotency_key="tok-1")


def test_same_key_from_another_user_is_independent(invoice, clerk_actor, create_entry):
    other = Actor.for_user(UserFactory(username="clerk2", groups=[CLERK]))
    first = create_entry(invoice, clerk_actor, "30.00", idempotency_key="tok-1")
    second = create_entry(invoice, other, "30.00", idempotency_key="tok-1")
    assert first.pk != second.pk
    assert WriteOff.objects.count() + DisputeHold.objects.count() == 2


def test_same_key_for_a_writeoff_and_a_dispute_is_independent(invoice, clerk_actor):
    write_off(invoice, clerk_actor, "30.00", idempotency_key="tok-1")
    hold(invoice, clerk_actor, "30.00", idempotency_key="tok-1")
    assert totals(invoice) == money(written_off="30.00", held="30.00")


def test_overlong_idempotency_key_is_refused(invoice, clerk_actor, create_entry):
    with refused(INVALID_INPUT):
        create_entry(invoice, clerk_actor, idempotency_key="k" * 101)


def test_entries_without_a_key_are_never_replays(invoice, clerk_actor, create_entry):
    create_entry(invoice, clerk_actor, "10.00")
    create_entry(invoice, clerk_actor, "10.00")
    assert WriteOff.objects.count() + DisputeHold.objects.count() == 2


# --- reversal -------------------------------------------------------------------


def test_reversal_restores_the_balance_and_keeps_the_row(invoice, clerk_actor, supervisor_actor):
    entry = write_off(invoice, clerk_actor, "45.00")
    reversed_entry = writeoff_reverse(
        writeoff_id=entry.pk, reason="Wrong invoice", actor=supervisor_actor
    )
    assert totals(invoice) == money()
    assert reversed_entry.status == WriteOff.Status.REVERSED
    stored = WriteOff.objects.get(pk=entry.pk)
    assert stored.status == WriteOff.Status.REVERSED
    assert stored.amount == Decimal("45.00")
    assert stored.reversal_reason == "Wrong invoice"
    assert stored.reversed_by.username == "supervisor"
    assert stored.reversed_by_label == "supervisor"
    assert stored.reversed_at is not None


def test_reversing_twice_is_refused(invoice, clerk_actor, supervisor_actor):
    entry = write_off(invoice, clerk_actor, "45.00")
    writeoff_reverse(writeoff_id=entry.pk, reason="Wrong invoice", actor=supervisor_actor)
    with refused(INVALID_STATE):
        writeoff_reverse(writeoff_id=entry.pk, reason="Again", actor=supervisor_actor)
    assert totals(invoice) == money()


@pytest.mark.parametrize("reason", ["", "  ", "x" * 3001, "bad\x00"])
def test_reversal_needs_a_clean_reason(invoice, clerk_actor, supervisor_actor, reason):
    entry = write_off(invoice, clerk_actor, "45.00")
    with pytest.raises(BillingError) as info:
        writeoff_reverse(writeoff_id=entry.pk, reason=reason, actor=supervisor_actor)
    assert info.value.code in (INVALID_COMMENTS, ILLEGAL_CHARACTERS)
    assert info.value.field == "reason"
    assert WriteOff.objects.get().status == WriteOff.Status.ACTIVE


@pytest.mark.parametrize("writeoff_id", [424242, "424242", "abc", "²", None])
def test_reversing_an_unknown_writeoff_is_refused(supervisor_actor, writeoff_id, db):
    with refused(INVALID_INPUT):
        writeoff_reverse(writeoff_id=writeoff_id, reason="Mistake", actor=supervisor_actor)


def test_reversed_amount_is_available_to_write_off_again(invoice, clerk_actor, supervisor_actor):
    entry = write_off(invoice, clerk_actor, "")
    writeoff_reverse(writeoff_id=entry.pk, reason="Mistake", actor=supervisor_actor)
    assert write_off(invoice, clerk_actor, "").amount == Decimal("120.00")


# --- dispute expiry days --------------------------------------------------------


def test_dispute_expiry_defaults_to_the_setting(invoice, clerk_actor, settings):
    settings.DISPUTE_HOLD_EXPIRATION_DAYS = 45
    dispute = hold(invoice, clerk_actor)
    assert dispute.expire_hold_days == 45
    assert dispute.expires_on == timezone.localdate() + datetime.timedelta(days=45)


@pytest.mark.parametrize("days", [2, "2", 30, 90, " 90 "])
def test_dispute_expiry_override_within_range_is_accepted(invoice, clerk_actor, days):
    dispute = hold(invoice, clerk_actor, expire_hold_days=days)
    assert dispute.expire_hold_days == int(days)
    assert dispute.expires_on == timezone.localdate() + datetime.timedelta(days=int(days))


def test_dispute_expiry_override_up_to_a_raised_maximum_is_accepted(invoice, clerk_actor, settings):
    settings.DISPUTE_HOLD_OVERRIDE_MAX_DAYS = 540
    assert hold(invoice, clerk_actor, expire_hold_days=540).expire_hold_days == 540


@pytest.mark.parametrize(
    "days", [1, 0, -5, 91, 10**12, "abc", "5.5", 5.5, True, "²", "٣", "--5", "-"]
)
def test_dispute_expiry_override_outside_range_is_refused(invoice, clerk_actor, days):
    with refused(INVALID_EXPIRE_HOLD_DAYS) as info:
        hold(invoice, clerk_actor, expire_hold_days=days)
    assert info.value.field == "expire_hold_days"
    assert "from 2 to 90" in info.value.message
    assert not DisputeHold.objects.exists()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("DISPUTE_HOLD_EXPIRATION_DAYS", 1),
        ("DISPUTE_HOLD_EXPIRATION_DAYS", 181),
        ("DISPUTE_HOLD_EXPIRATION_DAYS", "30"),
        ("DISPUTE_HOLD_EXPIRATION_DAYS", None),
        ("DISPUTE_HOLD_OVERRIDE_MAX_DAYS", 1),
        ("DISPUTE_HOLD_OVERRIDE_MAX_DAYS", 541),
        ("DISPUTE_HOLD_OVERRIDE_MAX_DAYS", 90.0),
        ("DISPUTE_HOLD_EXPIRATION_ACTION", "delete"),
    ],
)
def test_out_of_range_dispute_setting_makes_dispute_creation_fail(
    invoice, clerk_actor, settings, setting, value
):
    setattr(settings, setting, value)
    with refused(INVALID_DISPUTE_SETTINGS):
        hold(invoice, clerk_actor)
    assert not DisputeHold.objects.exists()
    # Write-offs do not depend on the dispute settings.
    write_off(invoice, clerk_actor)


# --- settlement -----------------------------------------------------------------


def settle(dispute, actor, action, **kwargs):
    return dispute_hold_settle(dispute_hold_id=dispute.pk, action=action, actor=actor, **kwargs)


def test_convert_moves_the_held_amount_into_a_writeoff_with_the_chosen_reason(
    invoice, clerk_actor, supervisor_actor
):
    aging_date = invoice.aging_date
    dispute = hold(invoice, clerk_actor, "30.00")
    settled = settle(
        dispute, supervisor_actor, "convert", reason_code=ReasonCode.BILLING_ERROR, comments="Ok"
    )
    assert totals(invoice) == money(written_off="30.00")
    assert settled.status == DisputeHold.Status.WRITTEN_OFF
    assert settled.can_unsettle is False
    assert settled.settled_by.username == "supervisor"
    assert settled.settled_by_label == "supervisor"
    assert settled.settled_at is not None
    assert settled.settlement_comments == "Ok"
    writeoff = WriteOff.objects.get()
    assert writeoff.origin_dispute == settled
    assert writeoff.amount == Decimal("30.00")
    assert writeoff.reason_code == ReasonCode.BILLING_ERROR
    assert writeoff.writeoff_date == timezone.localdate()
    assert writeoff.accounting_code == invoice.revenue_code
    assert writeoff.created_by_label == "supervisor"
    assert Invoice.objects.get(pk=invoice.pk).aging_date == aging_date


def test_convert_without_a_reason_is_bad_debt(invoice, clerk_actor, supervisor_actor):
    settle(hold(invoice, clerk_actor, "30.00"), supervisor_actor, "convert")
    assert WriteOff.objects.get().reason_code == ReasonCode.BAD_DEBT


def test_convert_to_an_expense_code_is_not_revenue_impacting(
    invoice, clerk_actor, supervisor_actor, expense_code
):
    dispute = hold(invoice, clerk_actor, "30.00")
    settle(dispute, supervisor_actor, "convert", accounting_code_id=expense_code.pk)
    writeoff = WriteOff.objects.get()
    assert writeoff.revenue_impacting is False
    assert writeoff.accounting_code == expense_code


@pytest.mark.parametrize("reason_code", [9999, 9001, 42])
def test_convert_with_a_reason_a_person_may_not_give_is_refused(
    invoice, clerk_actor, supervisor_actor, reason_code
):
    dispute = hold(invoice, clerk_actor, "30.00")
    with refused(INVALID_REASON_CODE):
        settle(dispute, supervisor_actor, "convert", reason_code=reason_code)
    assert DisputeHold.objects.get().is_open
    assert not WriteOff.objects.exists()


def test_convert_needs_no_available_amount_because_it_was_already_held(
    invoice, clerk_actor, supervisor_actor
):
    hold_ = hold(invoice, clerk_actor, "30.00")
    # The rest held too (a payment of it would release the hold: SPEC Part 3, auto-resolve).
    hold(invoice, clerk_actor, "90.00")
    assert totals(invoice)["available"] == Decimal("0.00")
    settle(hold_, supervisor_actor, "convert")
    assert totals(invoice) == money(written_off="30.00", held="90.00")


def test_release_keeps_the_balance_due(invoice, clerk_actor, supervisor_actor):
    aging_date = invoice.aging_date
    settled = settle(hold(invoice, clerk_actor, "30.00"), supervisor_actor, "release")
    assert settled.status == DisputeHold.Status.RELEASED
    assert settled.settled_by_label == "supervisor"
    assert totals(invoice) == money()
    assert Invoice.objects.get(pk=invoice.pk).aging_date == aging_date
    assert not WriteOff.objects.exists()


def test_release_and_reage_moves_the_aging_date_to_today(invoice, clerk_actor, supervisor_actor):
    settled = settle(hold(invoice, clerk_actor, "30.00"), supervisor_actor, "release_reage")
    assert settled.status == DisputeHold.Status.RELEASED_REAGED
    assert totals(invoice) == money()
    assert Invoice.objects.get(pk=invoice.pk).aging_date == timezone.localdate()
    assert not WriteOff.objects.exists()


def test_reversing_a_converted_writeoff_does_not_reopen_the_dispute(
    invoice, clerk_actor, supervisor_actor
):
    dispute = settle(hold(invoice, clerk_actor, "30.00"), supervisor_actor, "convert")
    writeoff = dispute.conversion_writeoff
    writeoff_reverse(writeoff_id=writeoff.pk, reason="Customer paid", actor=supervisor_actor)
    assert DisputeHold.objects.get().status == DisputeHold.Status.WRITTEN_OFF
    assert totals(invoice) == money()


@pytest.mark.parametrize("first", ["convert", "release", "release_reage"])
@pytest.mark.parametrize("second", ["convert", "release", "release_reage"])
def test_settling_twice_is_refused(invoice, clerk_actor, supervisor_actor, first, second):
    dispute = hold(invoice, clerk_actor, "30.00")
    settle(dispute, supervisor_actor, first)
    before = totals(invoice)
    with refused(INVALID_STATE) as info:
        settle(dispute, supervisor_actor, second)
    assert "already settled" in info.value.message
    assert totals(invoice) == before
    assert WriteOff.objects.count() == (1 if first == "convert" else 0)


@pytest.mark.parametrize("action", ["", "delete", "CONVERT", None, 1])
def test_unknown_settlement_action_is_refused(invoice, clerk_actor, supervisor_actor, action):
    dispute = hold(invoice, clerk_actor, "30.00")
    with refused(INVALID_SETTLEMENT_ACTION):
        settle(dispute, supervisor_actor, action)
    assert DisputeHold.objects.get().is_open


@pytest.mark.parametrize("dispute_id", [424242, "abc", "²", None])
def test_settling_an_unknown_dispute_is_refused(supervisor_actor, dispute_id, db):
    with refused(DISPUTE_NOT_FOUND):
        dispute_hold_settle(dispute_hold_id=dispute_id, action="release", actor=supervisor_actor)


def test_settlement_comments_with_illegal_characters_are_refused(
    invoice, clerk_actor, supervisor_actor
):
    dispute = hold(invoice, clerk_actor, "30.00")
    with refused(ILLEGAL_CHARACTERS):
        settle(dispute, supervisor_actor, "release", comments="ok\u202e")


def test_can_unsettle_only_while_the_dispute_is_open(invoice, clerk_actor, supervisor_actor):
    dispute = hold(invoice, clerk_actor, "30.00")
    assert dispute.can_unsettle is True
    settle(dispute, supervisor_actor, "release")
    assert DisputeHold.objects.get().can_unsettle is False


# --- expiry ---------------------------------------------------------------------


@pytest.fixture
def due_hold(invoice, clerk_actor):
    """A 30.00 hold of two days whose last day was a week ago (no run date is in the
    future, so the hold is made to have expired)."""
    return expired_days_ago(hold(invoice, clerk_actor, "30.00", expire_hold_days=2), 7)


def after_expiry(dispute):
    return dispute.expires_on + DAY


def test_hold_does_not_expire_on_its_expiry_date(due_hold, settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release"
    result = dispute_holds_expire(run_date=due_hold.expires_on)
    assert result.settled == []
    assert DisputeHold.objects.get().is_open
    assert not DisputeHold.objects.get().is_expired(due_hold.expires_on)


def test_expiry_action_none_leaves_the_hold_open_and_shown_as_expired(due_hold, invoice, settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "none"
    run_date = after_expiry(due_hold)
    result = dispute_holds_expire(run_date=run_date)
    assert result.left_open == [due_hold.pk]
    assert result.settled == []
    stored = DisputeHold.objects.get()
    assert stored.is_open
    assert stored.can_unsettle is True
    assert stored.is_expired(run_date)
    assert totals(invoice) == money(held="30.00")


def test_expiry_action_convert_writes_off_with_reason_9999_as_the_system(
    due_hold, invoice, settings
):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "convert"
    run_date = after_expiry(due_hold)
    result = dispute_holds_expire(run_date=run_date)
    assert result.settled == [due_hold.pk]
    assert totals(invoice) == money(written_off="30.00")
    stored = DisputeHold.objects.get()
    assert stored.status == DisputeHold.Status.WRITTEN_OFF
    assert stored.settled_by is None
    assert stored.settled_by_label == "system"
    writeoff = WriteOff.objects.get()
    assert writeoff.reason_code == ReasonCode.SYSTEM_CONVERSION
    assert writeoff.origin_dispute == stored
    assert writeoff.source == Source.SYSTEM
    assert writeoff.created_by_label == "system"
    assert writeoff.writeoff_date == run_date


def test_expiry_action_release_removes_the_hold_and_keeps_the_balance(due_hold, invoice, settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release"
    aging_date = invoice.aging_date
    dispute_holds_expire(run_date=after_expiry(due_hold))
    assert DisputeHold.objects.get().status == DisputeHold.Status.RELEASED
    assert totals(invoice) == money()
    assert Invoice.objects.get(pk=invoice.pk).aging_date == aging_date


def test_expiry_action_release_reage_ages_the_invoice_from_the_run_date(
    invoice, clerk_actor, settings
):
    # Expiry re-ages only a hold of the invoice's whole balance due (120.00).
    whole = expired_days_ago(hold(invoice, clerk_actor, "120.00", expire_hold_days=2), 7)
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release_reage"
    run_date = after_expiry(whole) + datetime.timedelta(days=5)
    dispute_holds_expire(run_date=run_date)
    assert DisputeHold.objects.get().status == DisputeHold.Status.RELEASED_REAGED
    assert totals(invoice) == money()
    assert Invoice.objects.get(pk=invoice.pk).aging_date == run_date


@pytest.mark.parametrize("action", ["none", "convert", "release", "release_reage"])
def test_running_expiry_twice_changes_nothing(due_hold, invoice, settings, action):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = action
    run_date = after_expiry(due_hold)
    dispute_holds_expire(run_date=run_date)
    after_first = (totals(invoice), list(DisputeHold.objects.values()), WriteOff.objects.count())
    second = dispute_holds_expire(run_date=run_date)
    assert second.settled == []
    after_second = (totals(invoice), list(DisputeHold.objects.values()), WriteOff.objects.count())
    assert after_second == after_first


def test_expiry_leaves_settled_and_unexpired_holds_alone(
    invoice, clerk_actor, supervisor_actor, settings
):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release"
    settled = hold(invoice, clerk_actor, "10.00", expire_hold_days=2)
    settle(settled, supervisor_actor, "convert")
    later = hold(invoice, clerk_actor, "10.00", expire_hold_days=10)
    due = expired_days_ago(hold(invoice, clerk_actor, "10.00", expire_hold_days=2), 1)
    result = dispute_holds_expire(run_date=after_expiry(due))
    assert result.settled == [due.pk]
    assert DisputeHold.objects.get(pk=later.pk).is_open
    assert DisputeHold.objects.get(pk=settled.pk).status == DisputeHold.Status.WRITTEN_OFF
    assert totals(invoice) == money(written_off="10.00", held="10.00")


def test_expiry_with_an_unknown_action_is_refused_and_changes_nothing(due_hold, invoice, settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "delete"
    before = totals(invoice)
    with refused(INVALID_DISPUTE_SETTINGS):
        dispute_holds_expire(run_date=after_expiry(due_hold))
    assert DisputeHold.objects.get().is_open
    assert totals(invoice) == before


def test_expiry_summary_says_what_it_did(due_hold, settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release"
    run_date = after_expiry(due_hold)
    assert dispute_holds_expire(run_date=run_date).summary() == (
        f"1 dispute hold(s) expired on {run_date}: release."
    )


# --- history --------------------------------------------------------------------


def latest_actor(model, pk):
    return model.history.filter(id=pk).order_by("-history_id").first().history_actor


def test_writeoff_history_records_the_user(invoice, clerk_actor, clerk):
    entry = write_off(invoice, clerk_actor)
    row = WriteOff.history.get(id=entry.pk)
    assert row.history_actor == "clerk"
    assert row.history_user == clerk
    assert row.history_type == "+"
    assert latest_actor(Invoice, invoice.pk) == "clerk"


def test_writeoff_history_records_the_api_key(invoice, api_key):
    entry = write_off(invoice, Actor.for_api_key(api_key), source=Source.API)
    row = WriteOff.history.get(id=entry.pk)
    assert row.history_actor == "API key erp"
    assert row.history_user is None
    assert latest_actor(Invoice, invoice.pk) == "API key erp"


def test_reversal_history_records_the_supervisor(invoice, clerk_actor, supervisor_actor):
    entry = write_off(invoice, clerk_actor)
    writeoff_reverse(writeoff_id=entry.pk, reason="Mistake", actor=supervisor_actor)
    rows = WriteOff.history.filter(id=entry.pk).order_by("history_id")
    assert [(r.status, r.history_actor) for r in rows] == [
        ("active", "clerk"),
        ("reversed", "supervisor"),
    ]
    assert latest_actor(Invoice, invoice.pk) == "supervisor"


def test_dispute_and_settlement_history_record_each_actor(invoice, clerk_actor, supervisor_actor):
    dispute = hold(invoice, clerk_actor)
    assert latest_actor(Invoice, invoice.pk) == "clerk"
    settle(dispute, supervisor_actor, "convert")
    rows = DisputeHold.history.filter(id=dispute.pk).order_by("history_id")
    assert [(r.status, r.history_actor) for r in rows] == [
        ("open", "clerk"),
        ("written_off", "supervisor"),
    ]
    assert WriteOff.history.get().history_actor == "supervisor"
    assert latest_actor(Invoice, invoice.pk) == "supervisor"


def test_expiry_history_records_the_system(due_hold, invoice, settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "convert"
    dispute_holds_expire(run_date=after_expiry(due_hold))
    assert latest_actor(DisputeHold, due_hold.pk) == "system"
    assert WriteOff.history.get().history_actor == "system"
    assert latest_actor(Invoice, invoice.pk) == "system"


# --- rollback -------------------------------------------------------------------


class Boom(Exception):
    pass


def snapshot(invoice):
    """Everything a failed service must leave as it was."""
    stored = Invoice.objects.get(pk=invoice.pk)
    return {
        "invoice": (
            stored.paid_minor,
            stored.written_off_minor,
            stored.held_minor,
            stored.aging_date,
        ),
        "writeoffs": list(WriteOff.objects.order_by("pk").values()),
        "disputes": list(DisputeHold.objects.order_by("pk").values()),
        "history": (
            Invoice.history.count(),
            WriteOff.history.count(),
            DisputeHold.history.count(),
        ),
    }


def fail_on_invoice_save():
    """Raise when the invoice's totals are saved: after the entry row and its history."""
    return mock.patch.object(Invoice, "save", side_effect=Boom("injected"), autospec=True)


def fail_on_dispute_save():
    return mock.patch.object(DisputeHold, "save", side_effect=Boom("injected"), autospec=True)


def test_failed_writeoff_create_leaves_no_rows(invoice, clerk_actor):
    before = snapshot(invoice)
    with fail_on_invoice_save(), pytest.raises(Boom):
        write_off(invoice, clerk_actor, "10.00", idempotency_key="tok-1")
    assert snapshot(invoice) == before
    assert not WriteOff.objects.exists()
    assert not WriteOff.history.exists()
    # The key was not spent: a retry succeeds.
    assert write_off(invoice, clerk_actor, "10.00", idempotency_key="tok-1").amount == 10


def test_failed_dispute_create_leaves_no_rows(invoice, clerk_actor):
    before = snapshot(invoice)
    with fail_on_invoice_save(), pytest.raises(Boom):
        hold(invoice, clerk_actor, "10.00")
    assert snapshot(invoice) == before
    assert not DisputeHold.history.exists()


def test_failed_reversal_leaves_the_writeoff_active(invoice, clerk_actor, supervisor_actor):
    entry = write_off(invoice, clerk_actor, "10.00")
    before = snapshot(invoice)
    with fail_on_invoice_save(), pytest.raises(Boom):
        writeoff_reverse(writeoff_id=entry.pk, reason="Mistake", actor=supervisor_actor)
    assert snapshot(invoice) == before


@pytest.mark.parametrize("action", ["convert", "release", "release_reage"])
def test_failed_settlement_leaves_the_dispute_open(invoice, clerk_actor, supervisor_actor, action):
    dispute = hold(invoice, clerk_actor, "10.00")
    before = snapshot(invoice)
    with fail_on_dispute_save(), pytest.raises(Boom):
        settle(dispute, supervisor_actor, action)
    assert snapshot(invoice) == before


@pytest.mark.parametrize("action", ["convert", "release", "release_reage"])
def test_failed_expiry_leaves_the_dispute_open(due_hold, invoice, settings, action):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = action
    before = snapshot(invoice)
    with fail_on_dispute_save(), pytest.raises(Boom):
        dispute_holds_expire(run_date=after_expiry(due_hold))
    assert snapshot(invoice) == before


def test_settlement_comments_over_3000_characters_are_refused_like_any_comment(
    invoice, clerk_actor, supervisor_actor
):
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="10.00", comments="disputed", actor=clerk_actor
    )
    with pytest.raises(BillingError) as refused:
        dispute_hold_settle(
            dispute_hold_id=hold.pk, action="release", comments="x" * 3001, actor=supervisor_actor
        )
    assert refused.value.code == 3127
    hold.refresh_from_db()
    assert hold.status == "open"


# --- issue 15: a plan reports every independent refusal at once ----------------------


def test_writeoff_plan_raises_every_independent_refusal_together_first_one_leading(
    invoice, clerk_actor
):
    from billing.errors import BillingErrors
    from writeoffs.lifecycle.create import writeoff_plan

    with pytest.raises(BillingErrors) as info:
        writeoff_plan(
            invoice=invoice,
            amount="500",
            reason_code=77,
            comments="",
            actor=clerk_actor,
            writeoff_date=invoice.bill_date - datetime.timedelta(days=1),
            revenue_impacting=False,
        )
    fields = [error.field for error in info.value.errors]
    assert fields == ["reason_code", "comments", "amount", "writeoff_date", "accounting_code"]
    # One-error callers (the API, create under the lock) see the first refusal.
    assert (info.value.code, info.value.field) == (INVALID_REASON_CODE, "reason_code")


def test_writeoff_create_still_refuses_with_the_first_error_and_writes_nothing(
    invoice, clerk_actor
):
    with refused(INVALID_REASON_CODE):
        writeoff_create(
            invoice_id=invoice.pk, amount="500", reason_code=77, comments="", actor=clerk_actor
        )
    assert WriteOff.objects.count() == 0


def test_dispute_plan_raises_comments_days_and_amount_together(invoice, clerk_actor):
    from billing.errors import BillingErrors
    from writeoffs.lifecycle.holds import dispute_hold_plan

    with pytest.raises(BillingErrors) as info:
        dispute_hold_plan(
            invoice=invoice, amount="500", comments="", actor=clerk_actor, expire_hold_days=1
        )
    assert [e.field for e in info.value.errors] == ["comments", "expire_hold_days", "amount"]
