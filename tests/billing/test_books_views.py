"""The books' pages: the lock date (Finance controller), the trial balance and the
journal export (supervisor and controller)."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from billing.ledger.periods import lock_date
from billing.models import AccountingPeriodLock
from billing.receivables.payments import payment_record
from billing.rules import today
from writeoffs.lifecycle.create import writeoff_create

HTMX = {"HTTP_HX_REQUEST": "true"}
DAY = datetime.timedelta(days=1)

pytestmark = pytest.mark.django_db


def test_the_controller_closes_the_books_after_a_confirm_step(client, controller, invoice):
    client.force_login(controller)
    through = (today() - DAY).isoformat()
    first = client.post(reverse("lock_date"), {"locked_through": through, "reason": "Month end"})
    assert first.status_code == 200
    assert b"Confirm: close the books" in first.content
    assert lock_date() is None

    done = client.post(
        reverse("lock_date"),
        {"locked_through": through, "reason": "Month end", "confirmed": "on"},
    )
    assert done.status_code == 302
    assert lock_date() == today() - DAY
    page = client.get(reverse("lock_date"))
    assert b"Month end" in page.content
    assert b"Ledger verified" in page.content


def test_the_lock_date_page_shows_what_a_close_over_a_drifting_ledger_found(
    client, controller, controller_actor, invoice
):
    from billing.ledger.close import lock_date_move
    from billing.models import Invoice

    Invoice.objects.filter(pk=invoice.pk).update(total_minor=11000)
    lock_date_move(locked_through=today() - DAY, reason="Month end", actor=controller_actor)
    client.force_login(controller)
    page = client.get(reverse("lock_date")).content.decode()
    assert "Ledger drift" in page
    assert "Checked 1 invoice and 1 journal entry: 3 problems" in page
    assert "AR control lines add up to 12000 but its balance due is 11000" in page
    assert 'data-kind="currency_ar_control"' in page


def test_a_close_kept_before_the_checks_result_was_structured_still_shows(client, controller):
    AccountingPeriodLock.objects.create(
        locked_through=today() - DAY,
        reason="Old close",
        snapshot={"verify_ledger": {"ok": False, "report": "Invoice 1 (id 1): paid drifted"}},
    )
    client.force_login(controller)
    page = client.get(reverse("lock_date")).content.decode()
    assert "Ledger drift" in page
    assert "Invoice 1 (id 1): paid drifted" in page


def test_a_lock_date_of_today_is_refused_next_to_the_date_in_the_htmx_fragment(client, controller):
    client.force_login(controller)
    response = client.post(
        reverse("lock_date"),
        {"locked_through": today().isoformat(), "reason": "Too soon", "confirmed": "on"},
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="lock-form"' in body
    assert "must be before today" in body
    assert "invalid-feedback" in body
    assert not AccountingPeriodLock.objects.exists()


def test_moving_the_lock_date_back_is_refused_next_to_the_date_for_the_controller(
    client, controller
):
    """Not a 403 page telling the controller to ask a billing supervisor: the
    controller is the one who moves it; the date says what is in the way."""
    AccountingPeriodLock.objects.create(locked_through=today() - DAY, reason="Closed")
    client.force_login(controller)
    response = client.post(
        reverse("lock_date"),
        {"locked_through": (today() - 9 * DAY).isoformat(), "reason": "Back", "confirmed": "on"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Only a superuser may move the lock date back" in body
    assert "invalid-feedback" in body
    assert "billing supervisor" not in body.lower()
    assert lock_date() == today() - DAY


@pytest.mark.parametrize(
    ("days_back", "message"),
    [(0, "must be before today"), (-3, "must be before today"), (9, "may move the lock date back")],
)
def test_the_lock_date_is_checked_before_the_confirm_step(client, controller, days_back, message):
    AccountingPeriodLock.objects.create(locked_through=today() - DAY, reason="Closed")
    client.force_login(controller)
    through = (today() - days_back * DAY).isoformat()
    response = client.post(
        reverse("lock_date"), {"locked_through": through, "reason": "Month end"}, **HTMX
    )
    body = response.content.decode()
    assert "Confirm: close the books" not in body
    assert message in body
    assert "invalid-feedback" in body


def test_a_pending_writeoff_in_the_way_is_named_before_the_confirm_step(
    client, controller, clerk_actor, invoice
):
    from writeoffs.models import ApprovalLimit

    ApprovalLimit.objects.filter(role="clerk", currency=invoice.currency).update(limit_minor=0)
    pending = writeoff_create(
        invoice_id=invoice.pk,
        amount="100.00",
        reason_code=0,
        comments="Waits for approval",
        actor=clerk_actor,
        writeoff_date=today() - 2 * DAY,
    )
    assert pending.is_pending
    client.force_login(controller)
    response = client.post(
        reverse("lock_date"),
        {"locked_through": (today() - DAY).isoformat(), "reason": "Month end"},
        **HTMX,
    )
    body = response.content.decode()
    assert "Confirm: close the books" not in body
    assert f"Write-off {pending.pk}" in body and "is pending approval" in body


@pytest.mark.parametrize("name", ["trial_balance", "journal_export_page", "lock_date"])
def test_the_controller_reaches_every_books_page(client, controller, name):
    client.force_login(controller)
    assert client.get(reverse(name)).status_code == 200


def test_the_controller_may_not_create_a_writeoff_or_record_a_payment(
    client, controller, account, invoice
):
    client.force_login(controller)
    for name in ("writeoff_entry", "payment_new"):
        url = reverse(name, args=[account.acct_no, invoice.invoice_no])
        assert client.get(url).status_code == 403


def test_the_supervisor_may_not_open_the_lock_date(client, supervisor):
    client.force_login(supervisor)
    assert client.get(reverse("lock_date")).status_code == 403


def test_trial_balance_shows_debits_equal_credits_per_currency(
    client, supervisor, invoice, clerk_actor
):
    payment_record(invoice_id=invoice.pk, amount="20.00", actor=clerk_actor)
    client.force_login(supervisor)
    response = client.get(
        reverse("trial_balance"),
        {"start": today().isoformat(), "end": today().isoformat()},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Debits = credits" in body
    balance = response.context["balance"]
    by_code = {row.code: row for row in balance.rows}
    # The invoice was sent 40 days ago: its posting is in the opening balance.
    assert by_code["1200"].opening_minor == 12000
    assert by_code["1200"].credit_minor == 2000
    assert by_code["1200"].closing_minor == 10000
    assert by_code["1000"].debit_minor == 2000
    assert by_code["4000"].opening_minor == -12000
    assert balance.totals["USD"].debit_minor == balance.totals["USD"].credit_minor == 2000


def test_trial_balance_for_htmx_is_the_table_only(client, supervisor, invoice):
    client.force_login(supervisor)
    response = client.get(reverse("trial_balance"), {"end": today().isoformat()}, **HTMX)
    assert 'id="trial-balance"' in response.content.decode()
    assert "<html" not in response.content.decode()
    assert response["Vary"] == "HX-Request" or "HX-Request" in response["Vary"]


def test_the_export_streams_one_row_per_line_with_the_spec_columns(
    client, supervisor, invoice, clerk_actor
):
    writeoff = writeoff_create(
        invoice_id=invoice.pk, amount="7.50", reason_code=0, comments="Small", actor=clerk_actor
    )
    client.force_login(supervisor)
    response = client.get(
        reverse("journal_export"), {"start": today().isoformat(), "end": today().isoformat()}
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "Date",
        "Entry number",
        "Code",
        "Code name",
        "Debit",
        "Credit",
        "Currency",
        "Memo",
        "Source document",
        "Posted at",
        "Approver",
    ]
    assert [row[2:7] for row in rows[1:]] == [
        ["4000", "Subscription revenue", "7.50", "", "USD"],
        ["1200", "Accounts receivable control", "", "7.50", "USD"],
    ]
    assert rows[1][0] == today().isoformat()
    assert rows[1][8] == f"writeoffs.writeoff:{writeoff.pk}"


def test_the_export_by_entry_number_range(client, supervisor, invoice, clerk_actor):
    from billing.models import JournalEntry

    payment_record(invoice_id=invoice.pk, amount="1.00", actor=clerk_actor)
    sent = JournalEntry.objects.get(invoice=invoice, event="invoice_sent").pk
    client.force_login(supervisor)
    response = client.get(reverse("journal_export"), {"first_entry": sent, "last_entry": sent})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row[1] for row in rows[1:]} == {str(sent)}
    assert len(rows) == 3


def test_the_export_without_a_range_is_400_with_the_form(client, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("journal_export"))
    assert response.status_code == 400
    assert b"Choose a date range or an entry-number range" in response.content


def test_the_clerk_may_not_export_the_journal(client, clerk):
    client.force_login(clerk)
    assert client.get(reverse("journal_export"), {"end": today().isoformat()}).status_code == 403


def test_admin_shows_journal_entries_read_only(client, invoice):
    from billing.factories import UserFactory
    from billing.models import JournalEntry

    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    entry = JournalEntry.objects.get(invoice=invoice)
    listing = client.get(reverse("admin:billing_journalentry_changelist"))
    assert listing.status_code == 200
    assert b"Add journal entry" not in listing.content
    page = client.get(reverse("admin:billing_journalentry_change", args=[entry.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b"120.00" in page.content
    assert (
        client.post(reverse("admin:billing_journalentry_delete", args=[entry.pk])).status_code
        == 403
    )
    assert (
        client.post(
            reverse("admin:billing_journalentry_change", args=[entry.pk]), {"memo": "edited"}
        ).status_code
        == 403
    )
    assert JournalEntry.objects.get(pk=entry.pk).memo == entry.memo
