"""The daily ``expire_dispute_holds`` command: what it settles, what it prints, and
that a second run changes nothing.

No daily job takes a future ``--date``, so the holds here are made to have expired
five days ago and the runs are on past dates (catch-up runs) or today."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils.formats import date_format

from billing.factories import InvoiceFactory
from billing.models import AccountingPeriodLock, Invoice
from billing.rules import today
from tests.ledger import assert_ledger_consistent, expired_days_ago
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.models import DisputeHold, ReasonCode, WriteOff

DAY = datetime.timedelta(days=1)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("expire_dispute_holds", *args, stdout=out)
    return out.getvalue()


def expired_hold(invoice, actor, amount: str = "") -> DisputeHold:
    """A hold (of ``amount``, or all that is available) whose last day was five days ago."""
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount=amount, comments="Customer disputes", actor=actor
    )
    return expired_days_ago(hold, 5)


@pytest.fixture
def hold(invoice, clerk_actor):
    """50.00 of the invoice's 120.00."""
    return expired_hold(invoice, clerk_actor, "50.00")


@pytest.fixture
def whole_hold(invoice, clerk_actor):
    """All of the invoice's 120.00: the hold covers its whole balance due."""
    return expired_hold(invoice, clerk_actor)


def day_after(hold: DisputeHold) -> str:
    return (hold.expires_on + datetime.timedelta(days=1)).isoformat()


def snapshot() -> tuple:
    """Everything an expiry run could change."""
    return (
        list(Invoice.objects.values_list("pk", "held_minor", "written_off_minor", "aging_date")),
        list(DisputeHold.objects.values_list("pk", "status", "settled_at")),
        list(WriteOff.objects.values_list("pk", "amount_minor", "status")),
        DisputeHold.history.count() + WriteOff.history.count() + Invoice.history.count(),
    )


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("convert", DisputeHold.Status.WRITTEN_OFF),
        ("release", DisputeHold.Status.RELEASED),
        ("release_reage", DisputeHold.Status.RELEASED_REAGED),
    ],
)
def test_second_run_changes_nothing(request, settings, action, status):
    # Expiry re-ages only a hold of the whole balance due.
    hold = request.getfixturevalue("whole_hold" if action == "release_reage" else "hold")
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = action
    first = run("--date", day_after(hold))
    after_first = snapshot()

    second = run("--date", day_after(hold))

    assert snapshot() == after_first
    hold.refresh_from_db()
    assert hold.status == status
    assert f"Dispute hold {hold.pk} on invoice 10023" in first
    assert "1 dispute hold(s) expired" in first
    assert "0 dispute hold(s) expired" in second
    assert f"Dispute hold {hold.pk}" not in second
    assert_ledger_consistent(hold.invoice_id)


def test_convert_makes_a_system_writeoff_with_reason_9999(settings, hold):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "convert"

    output = run("--date", day_after(hold))

    writeoff = WriteOff.objects.get(origin_dispute=hold)
    assert writeoff.reason_code == ReasonCode.SYSTEM_CONVERSION
    assert writeoff.amount_minor == 5000
    assert writeoff.created_by_label == "system"
    invoice = Invoice.objects.get(pk=hold.invoice_id)
    assert (invoice.held_minor, invoice.written_off_minor) == (0, 5000)
    assert "converted to a permanent write-off (reason 9999)" in output
    hold.refresh_from_db()
    assert hold.settled_by_label == "system"
    assert hold.history.latest().history_actor == "system"


def test_release_reage_moves_aging_date_to_the_run_date(settings, whole_hold):
    hold = whole_hold
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release_reage"
    run_date = hold.expires_on + datetime.timedelta(days=1)
    assert hold.invoice.aging_date < run_date

    output = run("--date", run_date.isoformat())

    invoice = Invoice.objects.get(pk=hold.invoice_id)
    assert invoice.aging_date == run_date
    assert invoice.held_minor == 0
    assert f"released and re-aged to {run_date}" in output


def test_release_keeps_the_balance_due_and_the_aging_date(settings, hold):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release"
    aging_before = hold.invoice.aging_date

    run("--date", day_after(hold))

    invoice = Invoice.objects.get(pk=hold.invoice_id)
    assert (invoice.held_minor, invoice.balance_due_minor) == (0, 12000)
    assert invoice.aging_date == aging_before


def test_hold_is_not_expired_on_its_expiry_date(settings, hold):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release"

    output = run("--date", hold.expires_on.isoformat())

    hold.refresh_from_db()
    assert hold.is_open
    assert "0 dispute hold(s) expired" in output


def test_action_none_leaves_holds_open_and_lists_them_as_expired(settings, hold):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "none"
    before = snapshot()

    output = run("--date", day_after(hold))

    assert snapshot() == before
    assert f"Dispute hold {hold.pk} on invoice 10023" in output
    assert "left open, shown as expired" in output
    assert "1 dispute hold(s) past expiry" in output


def test_settled_holds_are_not_touched(settings, hold, supervisor_actor):
    dispute_hold_settle(dispute_hold_id=hold.pk, action="release", actor=supervisor_actor)
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "convert"

    output = run("--date", day_after(hold))

    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.RELEASED
    assert hold.settled_by_label == "supervisor"
    assert not WriteOff.objects.exists()
    assert "0 dispute hold(s) expired" in output


def test_a_malformed_date_is_refused():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("--date", "21/11/2026")


def test_an_unknown_action_is_refused(settings, hold):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "delete"

    with pytest.raises(CommandError, match="not valid"):
        run("--date", day_after(hold))

    hold.refresh_from_db()
    assert hold.is_open


@pytest.mark.django_db
def test_a_closed_run_date_converts_nothing_and_says_so_per_hold(hold, settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "convert"
    run_date = hold.expires_on + datetime.timedelta(days=1)
    AccountingPeriodLock.objects.create(locked_through=run_date, reason="Closed")
    before = snapshot()
    out = run("--date", run_date.isoformat())
    assert f"left open, the books are closed through {run_date}" in out
    assert "converted to a permanent write-off" not in out
    assert f"converted nothing on {run_date}" in out
    assert snapshot() == before


# --- re-aging (SPEC Part 3, "Re-aging") -------------------------------------------


@pytest.fixture
def old_invoice(account):
    """5,000.00 billed 160 days ago, due 130 days ago: all of it "Over 90"."""
    return InvoiceFactory(
        account=account,
        invoice_no=20001,
        bill_date=today() - 160 * DAY,
        due_date=today() - 130 * DAY,
        aging_date=today() - 130 * DAY,
        total_minor=500_000,
    )


def test_a_clerks_hold_of_part_of_the_balance_is_released_without_reaging_and_says_so(
    settings, old_invoice, clerk_actor
):
    """Finding 5: a clerk's own 0.01 hold of two days must not, at expiry, move all
    5,000.00 from "Over 90" to "Current": no supervisor confirmed it."""
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release_reage"
    hold = dispute_hold_create(
        invoice_id=old_invoice.pk,
        amount="0.01",
        comments="Tiny dispute",
        expire_hold_days=2,
        actor=clerk_actor,
    )
    hold = expired_days_ago(hold, 1)
    aging_before = old_invoice.aging_date

    output = run()

    invoice = Invoice.objects.get(pk=old_invoice.pk)
    assert invoice.aging_date == aging_before
    assert invoice.held_minor == 0
    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.RELEASED
    assert (
        f"Dispute hold {hold.pk} on invoice 20001 (0.01 USD, expired {hold.expires_on}): "
        "released without re-aging (the hold of 0.01 USD covered only part of the "
        "invoice's balance due of 5,000.00 USD)"
    ) in output
    assert "released and re-aged" not in output
    assert "1 dispute hold(s) expired" in output
    assert "1 of them released without re-aging." in output
    assert "Released without re-aging" in hold.settlement_comments
    assert_ledger_consistent(old_invoice.pk)


def test_a_hold_of_the_whole_balance_due_is_reaged_by_expiry(settings, old_invoice, clerk_actor):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release_reage"
    hold = expired_hold(old_invoice, clerk_actor)
    assert hold.amount_minor == old_invoice.balance_due_minor

    output = run()

    assert Invoice.objects.get(pk=old_invoice.pk).aging_date == today()
    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.RELEASED_REAGED
    assert f"released and re-aged to {today()}" in output
    assert "without re-aging" not in output


def test_a_catch_up_run_never_moves_an_aging_date_backwards(
    settings, invoice, clerk_actor, supervisor_actor
):
    """Finding 10: a supervisor re-aged the invoice today; a catch-up run for an
    earlier date must not move its aging date back to that date."""
    first = dispute_hold_create(
        invoice_id=invoice.pk, amount="10.00", comments="First", actor=clerk_actor
    )
    dispute_hold_settle(dispute_hold_id=first.pk, action="release_reage", actor=supervisor_actor)
    assert Invoice.objects.get(pk=invoice.pk).aging_date == today()
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release_reage"
    hold = expired_hold(invoice, clerk_actor)
    run_date = hold.expires_on + DAY

    output = run("--date", run_date.isoformat())

    assert Invoice.objects.get(pk=invoice.pk).aging_date == today()
    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.RELEASED
    aging, after = date_format(today()), date_format(run_date)
    assert f"the invoice's aging date, {aging}, is after {after}" in output
    assert "never moves backwards" in output


def test_a_catch_up_run_never_reages_inside_a_closed_period(settings, invoice, clerk_actor):
    """Finding 10: a re-age dated on or before the lock date would change a closed
    month's aging after its close."""
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release_reage"
    hold = expired_hold(invoice, clerk_actor)
    run_date = hold.expires_on + DAY
    AccountingPeriodLock.objects.create(locked_through=run_date, reason="Closed")
    aging_before = invoice.aging_date

    output = run("--date", run_date.isoformat())

    assert Invoice.objects.get(pk=invoice.pk).aging_date == aging_before
    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.RELEASED
    closed = date_format(run_date)
    assert f"released without re-aging (the books are closed through {closed}" in output
    assert "never moves inside a closed period" in output


# --- dates and exit status -------------------------------------------------------


@pytest.mark.parametrize("action", ["convert", "release", "release_reage"])
def test_a_future_date_is_refused_and_changes_nothing(settings, hold, action):
    """Finding 8: a future run date would post conversions and move aging dates into
    the future."""
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = action
    before = snapshot()
    tomorrow = (today() + DAY).isoformat()

    with pytest.raises(CommandError, match=f"--date {tomorrow} is in the future"):
        run("--date", tomorrow)

    assert snapshot() == before
    assert DisputeHold.objects.get(pk=hold.pk).is_open


@pytest.mark.django_db
def test_a_future_date_exits_with_a_non_zero_status(capsys):
    from django.core.management import execute_from_command_line

    tomorrow = (today() + DAY).isoformat()
    with pytest.raises(SystemExit) as exit_status:
        execute_from_command_line(["manage.py", "expire_dispute_holds", "--date", tomorrow])
    assert exit_status.value.code == 1
    assert "is in the future" in capsys.readouterr().err


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["none", "convert", "release", "release_reage"])
def test_a_run_with_nothing_to_do_says_so_and_succeeds(settings, action):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = action

    output = run()

    assert "0 dispute hold(s)" in output
    assert "Dispute hold " not in output
