"""``writeoff_small_balances``: the bulk run in the foreground, and its dry run."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from billing.factories import AccountFactory, UserFactory
from billing.roles import CLERK, SUPERVISOR
from tests.writeoffs.bulk_support import small_invoice
from writeoffs.models import BulkRun, WriteOff

pytestmark = pytest.mark.django_db

BASE = ["--max-balance", "USD=5.00", "EUR=3.00", "--older-than-days", "90"]
REASON = ["--reason-code", "0", "--comments", "Month-end clean-up"]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("writeoff_small_balances", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def ledger(db):
    UserFactory(username="cmd-clerk", groups=[CLERK])
    UserFactory(username="cmd-supervisor", groups=[SUPERVISOR])
    usd = AccountFactory(acct_no=8001, currency="USD")
    eur = AccountFactory(acct_no=8002, currency="EUR")
    small_invoice(usd, 150)
    small_invoice(usd, 350)
    small_invoice(usd, 600)  # above USD=5.00
    small_invoice(eur, 300)
    small_invoice(eur, 100, days_past_aging=30)  # too young


def test_dry_run_prints_the_preview_figures_and_writes_nothing(ledger):
    output = run("--as-user", "cmd-clerk", *BASE, *REASON, "--dry-run")
    assert "USD: 2 invoice(s), 5.00 USD" in output
    assert "EUR: 1 invoice(s), 3.00 EUR" in output
    assert "Dry run: 3 invoice(s) would be written off; nothing written." in output
    assert not BulkRun.objects.exists()
    assert not WriteOff.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_the_command_runs_the_bulk_run_in_the_foreground_with_a_bar_and_a_summary(ledger):
    output = run("--as-user", "cmd-clerk", *BASE, *REASON)
    run_ = BulkRun.objects.get()
    assert run_.status == BulkRun.Status.COMPLETED
    assert run_.approved_by.username == "cmd-clerk"
    assert f"[{'#' * 30}] 100% 3/3" in output
    assert (
        f"Bulk run {run_.pk} completed: 3 written (3.00 EUR, 5.00 USD), 0 skipped, 0 failed."
        in output
    )
    assert WriteOff.objects.filter(bulk_run=run_).count() == 3
    assert not DBTaskResult.objects.exists()  # the foreground run enqueues no task


def test_a_total_above_the_creators_limit_needs_approved_by(ledger):
    account = AccountFactory(acct_no=8003, currency="USD")
    for _ in range(3):
        small_invoice(account, 20000)
    args = ["--max-balance", "USD=200.00", "--older-than-days", "90", *REASON]
    with pytest.raises(CommandError, match=r"above your limit of 500\.00 USD"):
        run("--as-user", "cmd-clerk", *args)
    assert not WriteOff.objects.exists()
    assert not BulkRun.objects.exists()
    output = run("--as-user", "cmd-clerk", "--approved-by", "cmd-supervisor", *args)
    assert "approved by cmd-supervisor" in output
    assert WriteOff.objects.count() == 6  # 1.50, 3.50 and three 200.00 and the 6.00


def test_the_creator_cannot_approve_their_own_run_with_approved_by(ledger):
    account = AccountFactory(acct_no=8003, currency="USD")
    for _ in range(3):
        small_invoice(account, 20000)
    args = ["--max-balance", "USD=200.00", "--older-than-days", "90", *REASON]
    with pytest.raises(CommandError, match="above your limit"):
        run("--as-user", "cmd-clerk", "--approved-by", "cmd-clerk", *args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-user", "nobody", *BASE, *REASON], "no active user 'nobody'"),
        (["--as-user", "cmd-clerk", *BASE, *REASON, "--expense-code", "9x"], "no accounting code"),
        (
            [
                "--as-user",
                "cmd-clerk",
                "--max-balance",
                "USD=600",
                "--older-than-days",
                "9",
                *REASON,
            ],
            "above your approval limit",
        ),
        (["--as-user", "cmd-clerk", *BASE, "--reason-code", "9999", "--comments", "x"], "reason"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(ledger, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not BulkRun.objects.exists()


def test_a_malformed_max_balance_is_a_usage_error(ledger):
    with pytest.raises(CommandError, match="CURRENCY=AMOUNT"):
        run("--as-user", "cmd-clerk", "--max-balance", "USD5", "--older-than-days", "9", *REASON)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("5,00", "Use a point for decimals and no thousands separators"),
        ("1,000", "Use a point for decimals and no thousands separators"),
        ("5.001", "at most 2 decimal places"),
        ("5e0", "exponent"),
        ("-5", "without a sign"),
    ],
)
def test_a_max_balance_is_read_in_the_plain_form_only(ledger, amount, message):
    """USD=5,00 was read as 500.00: the command takes plain 1234.56, as the API does."""
    args = ["--max-balance", f"USD={amount}", "--older-than-days", "90", *REASON]
    with pytest.raises(CommandError, match=f"USD: .*{message}.*\\(error 3150\\)"):
        run("--as-user", "cmd-clerk", *args)
    assert not BulkRun.objects.exists()
    assert not WriteOff.objects.exists()


def test_a_second_run_with_nothing_left_says_so_and_exits_0_naming_no_run(ledger):
    run("--as-user", "cmd-clerk", *BASE, *REASON)
    runs_before = BulkRun.objects.count()
    output = run("--as-user", "cmd-clerk", *BASE, *REASON)  # no CommandError
    assert "Nothing to write off: no invoice matches these criteria today." in output
    assert "Bulk run" not in output
    assert BulkRun.objects.count() == runs_before


def test_nothing_matching_at_all_exits_0(db):
    UserFactory(username="cmd-clerk", groups=[CLERK])
    output = run("--as-user", "cmd-clerk", *BASE, *REASON)
    assert "Nothing to write off" in output
    assert not BulkRun.objects.exists()


def test_a_run_with_a_failed_invoice_exits_non_zero_after_its_summary(ledger, monkeypatch):
    from billing.errors import INVALID_STATE, BillingError
    from writeoffs.bulk import execute

    real = execute.writeoff_create_in_run
    refused = []

    def fail_the_first(**kwargs):
        # The first invoice asked for is refused every time: a refusal's redo (the
        # item's second try, see write_next_item) is refused again, as it would be.
        if not refused:
            refused.append(kwargs["invoice"].pk)
        if kwargs["invoice"].pk == refused[0]:
            raise BillingError(INVALID_STATE, "Refused for the test.")
        return real(**kwargs)

    monkeypatch.setattr(execute, "writeoff_create_in_run", fail_the_first)
    with pytest.raises(CommandError, match=r"2 written .*1 failed\. See the run's log"):
        run("--as-user", "cmd-clerk", *BASE, *REASON)
