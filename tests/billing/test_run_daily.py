"""The daily run: its steps in order, each idempotent, one line per change and a
summary; the purge step removes only what has expired, in bounded batches, and
never a ledger row, its history or the journal."""

import datetime
import io

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing.api.keys import api_key_create
from billing.models import ApiIdempotencyRecord, ApiKey, Invoice
from billing.ops import maintenance
from billing.rules import today
from tests.ledger import expired_days_ago, made_days_earlier
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.management.commands import run_daily
from writeoffs.models import DisputeHold, WriteOff

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("run_daily", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def ago(**delta) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


def idempotency_record(key: str, created_at: datetime.datetime) -> ApiIdempotencyRecord:
    api_key = ApiKey.objects.first()
    if api_key is None:
        api_key_create("erp", "clerk")
        api_key = ApiKey.objects.get()
    return ApiIdempotencyRecord.objects.create(
        api_key=api_key,
        key=key,
        request_sha256="0" * 64,
        response_status=200,
        response_body={"error_code": 0},
        created_at=created_at,
    )


def session(expires: datetime.datetime) -> str:
    store = SessionStore()
    store["x"] = 1
    store.create()
    Session.objects.filter(pk=store.session_key).update(expire_date=expires)
    return store.session_key


def signin_rows(when: datetime.datetime, username: str) -> None:
    common = {"username": username, "ip_address": "10.0.0.1", "user_agent": "t"}
    rows = [
        AccessLog.objects.create(**common),
        AccessFailureLog.objects.create(**common),
        AccessAttempt.objects.create(**common, failures_since_start=1),
    ]
    for row in rows:
        type(row).objects.filter(pk=row.pk).update(attempt_time=when)


def test_the_steps_run_in_order_with_a_summary_each():
    assert [step.name for step in run_daily.STEPS] == [
        "dispute expiry",
        "approval lapse",
        "tax relief",
        "bulk run resume",
        "purge",
        "settled cases",
        "overdue cases digest",
        "tally compaction",
    ]
    out, err = run("--date", "2026-03-01")
    lines = out.splitlines()
    assert lines[0].startswith("[2026-03-01 1/8 dispute expiry] ")
    assert lines[1].startswith("[2026-03-01 2/8 approval lapse] 0 pending write-off(s) lapsed")
    assert lines[2].startswith("[2026-03-01 3/8 tax relief] No bad-debt tax relief due")
    assert lines[3].startswith("[2026-03-01 4/8 bulk run resume] 0 stalled bulk run(s) resumed")
    assert lines[4].startswith("[2026-03-01 5/8 purge] Purged 0 expired API idempotency records")
    assert lines[5] == "[2026-03-01 6/8 settled cases] 0 settled dispute case(s) resolved."
    assert lines[6] == "[2026-03-01 7/8 overdue cases digest] 0 overdue cases digest(s) sent."
    assert lines[7] == "[2026-03-01 8/8 tally compaction] 6 tallies compacted: 0 rows into 0."
    assert lines[-1] == "The daily run for 2026-03-01 finished: all 8 steps ran."
    assert err == ""


def test_dispute_expiry_runs_as_of_the_date_and_a_second_run_changes_nothing(
    settings, invoice, clerk_actor
):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release"
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="50.00", comments="Disputed", actor=clerk_actor
    )
    hold = expired_days_ago(hold, 5)
    day = (hold.expires_on + datetime.timedelta(days=1)).isoformat()

    out, _ = run("--date", day)
    assert f"dispute expiry] Dispute hold {hold.pk} on invoice 10023" in out
    assert "): released" in out
    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.RELEASED

    again, _ = run("--date", day)
    assert f"Dispute hold {hold.pk}" not in again


def test_purge_removes_expired_idempotency_records_and_keeps_the_current_ones():
    old = idempotency_record("old", ago(hours=25))
    fresh = idempotency_record("fresh", ago(hours=23))

    out, _ = run()

    assert "Removed 1 expired API idempotency records" in out
    assert not ApiIdempotencyRecord.objects.filter(pk=old.pk).exists()
    assert ApiIdempotencyRecord.objects.filter(pk=fresh.pk).exists()


def test_purge_removes_webhook_delivery_attempts_older_than_90_days():
    from billing.models import WebhookDelivery
    from billing.sync.webhooks.endpoints import webhook_endpoint_create

    endpoint = webhook_endpoint_create(name="billing", url="https://billing.example.com/hook")

    def attempt(when):
        return WebhookDelivery.objects.create(
            endpoint=endpoint, attempt=1, attempted_at=when, outcome="delivered"
        )

    old = attempt(ago(days=91))
    kept = attempt(ago(days=89))

    out, _ = run()

    assert "Removed 1 webhook delivery log entries" in out
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [kept.pk]
    assert old.pk != kept.pk


def test_purge_removes_expired_sessions_only():
    expired = session(ago(minutes=1))
    live = session(timezone.now() + datetime.timedelta(days=1))

    out, _ = run()

    assert "Removed 1 expired sessions" in out
    assert set(Session.objects.values_list("pk", flat=True)) == {live}
    assert expired != live


def test_purge_removes_signin_logs_older_than_the_setting(settings):
    settings.SIGNIN_LOG_RETENTION_DAYS = 30
    signin_rows(ago(days=31), "old")
    signin_rows(ago(days=29), "recent")

    out, _ = run()

    for model in (AccessLog, AccessFailureLog, AccessAttempt):
        assert list(model.objects.values_list("username", flat=True)) == ["recent"], model
    assert "Removed 1 sign-in log entries" in out
    assert "Removed 1 failed sign-in log entries" in out
    assert "Removed 1 sign-in lockout records" in out


def test_purge_deletes_in_bounded_batches_until_everything_expired_is_gone(monkeypatch):
    for n in range(7):
        idempotency_record(f"k{n}", ago(days=2))
    batches = []
    real = maintenance._delete_in_batches

    def counting(queryset, batch_size):
        batches.append(batch_size)
        return real(queryset, batch_size)

    monkeypatch.setattr(maintenance, "BATCH_SIZE", 3)
    monkeypatch.setattr(maintenance, "_delete_in_batches", counting)
    deletes = []
    original_delete = maintenance.models.QuerySet.delete

    def recording_delete(self):
        result = original_delete(self)
        deletes.append(result[0])
        return result

    monkeypatch.setattr(maintenance.models.QuerySet, "delete", recording_delete)

    run()

    assert set(batches) == {3}
    assert deletes == [3, 3, 1]
    assert not ApiIdempotencyRecord.objects.exists()


def test_purge_never_touches_ledger_rows_or_their_history(invoice, clerk_actor, settings):
    settings.SIGNIN_LOG_RETENTION_DAYS = 1
    writeoff_create(
        invoice_id=invoice.pk, amount="5.00", reason_code=0, comments="Old", actor=clerk_actor
    )
    long_ago = ago(days=4000)
    WriteOff.objects.update(created_at=long_ago)
    WriteOff.history.update(history_date=long_ago)
    Invoice.history.update(history_date=long_ago)
    before = (WriteOff.objects.count(), WriteOff.history.count(), Invoice.history.count())

    run()

    assert (WriteOff.objects.count(), WriteOff.history.count(), Invoice.history.count()) == before
    assert before[1] >= 1


def test_a_failing_step_is_reported_the_others_still_run_and_the_command_fails(monkeypatch):
    def broken(day, report):
        raise RuntimeError("lock timeout")

    steps = [run_daily.DailyStep("broken", broken), *run_daily.STEPS]
    monkeypatch.setattr(run_daily, "STEPS", steps)
    idempotency_record("old", ago(days=2))
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="failed steps: broken"):
        call_command("run_daily", stdout=out, stderr=err)

    assert "[" in err.getvalue() and "broken] FAILED: lock timeout" in err.getvalue()
    assert "purge] Removed 1 expired API idempotency records" in out.getvalue()
    assert not ApiIdempotencyRecord.objects.exists()


def test_a_bad_retention_setting_fails_the_purge_and_purges_nothing(settings):
    settings.SIGNIN_LOG_RETENTION_DAYS = 0
    idempotency_record("old", ago(days=2))
    with pytest.raises(CommandError, match="failed steps: purge"):
        run()
    assert ApiIdempotencyRecord.objects.count() == 1


def test_a_malformed_date_is_refused():
    with pytest.raises(CommandError, match="--date must be YYYY-MM-DD"):
        run("--date", "01/03/2026")


def test_a_future_date_is_refused_before_any_step_runs(settings, invoice, clerk_actor):
    """Finding 8: run for tomorrow, expiry would post conversions dated tomorrow and
    lapse write-offs ahead of time."""
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "convert"
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="50.00", comments="Disputed", actor=clerk_actor
    )
    hold = expired_days_ago(hold, 0)  # its last day is today: tomorrow's run would convert it
    tomorrow = today() + datetime.timedelta(days=1)
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match=f"--date {tomorrow} is in the future"):
        call_command("run_daily", "--date", tomorrow.isoformat(), stdout=out, stderr=err)

    assert out.getvalue() == "" and err.getvalue() == ""
    assert DisputeHold.objects.get(pk=hold.pk).is_open
    assert not WriteOff.objects.exists()


def test_a_run_with_nothing_to_do_says_so_and_exits_0():
    out, err = run()

    lines = out.splitlines()
    assert "0 dispute hold(s)" in lines[0]
    assert "0 pending write-off(s) lapsed" in lines[1]
    assert "nothing to move" in lines[2]
    assert "0 stalled bulk run(s) resumed" in lines[3]
    assert lines[-1] == f"The daily run for {today()} finished: all 8 steps ran."
    assert err == ""


def test_a_write_off_pending_past_the_approval_window_lapses_in_the_daily_run(
    settings, invoice, clerk_actor
):
    from writeoffs.lifecycle.create import writeoff_create
    from writeoffs.models import ApprovalLimit, WriteOff

    settings.WRITEOFF_APPROVAL_DAYS = 14
    ApprovalLimit.objects.filter(role="clerk", currency="USD").update(limit_minor=10_00)
    pending = writeoff_create(
        invoice_id=invoice.pk, amount="50.00", reason_code=0, comments="Big", actor=clerk_actor
    )
    assert pending.status == WriteOff.Status.PENDING
    pending = made_days_earlier(pending, 15)
    day = timezone.localdate(pending.created_at) + datetime.timedelta(days=15)

    out, _ = run("--date", day.isoformat())

    pending.refresh_from_db()
    invoice.refresh_from_db()
    assert pending.status == WriteOff.Status.LAPSED
    assert invoice.pending_minor == 0
    assert f"Write-off {pending.pk} on invoice {invoice.invoice_no}" in out
    again, _ = run("--date", day.isoformat())
    assert "0 pending write-off(s) lapsed" in again


def test_the_tally_step_folds_each_tallys_deltas_into_one_row_per_key(account, clerk_actor):
    from billing import tallies
    from billing.factories import InvoiceFactory
    from billing.models import AgingTally
    from billing.receivables.payments import payment_record

    invoice = InvoiceFactory(account=account, total_minor=12000)
    payment_record(invoice_id=invoice.pk, amount="20.00", actor=clerk_actor)
    figures = {model: tallies.figures(model) for model, _source in tallies.registered()}
    assert AgingTally.objects.count() > 1

    out, _ = run()

    assert "8/8 tally compaction] aging tally: " in out
    assert AgingTally.objects.count() == 1
    assert {model: tallies.figures(model) for model, _source in tallies.registered()} == figures
    again, _ = run()
    assert "aging tally:" not in again
