"""The audit trail in words (SPEC Part 3, "Audit trail"): every event on the invoice's
History and in admin history is named as a person would say it, never by an internal
field or model name, with dates in the app's format and times in TIME_ZONE."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.actors import Actor
from billing.factories import AccountingCodeFactory, InvoiceFactory
from billing.models import AccountingCode
from billing.receivables.invoices import invoice_revenue_code_correct, invoice_void
from billing.receivables.payments import payment_correct, payment_record, payment_remove
from billing.receivables.timeline import shown_date
from billing.rules import today
from tests.ledger import made_days_earlier
from writeoffs.approvals.decisions import (
    writeoff_approve,
    writeoff_reject,
    writeoff_withdraw,
    writeoffs_lapse,
)
from writeoffs.lifecycle.corrections import writeoff_correct
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.recovery import recovery_record
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.timeline import invoice_timeline

pytestmark = pytest.mark.django_db

SYSTEM = Actor.for_system()
# What no event may read as: an internal name, or the old catch-all wordings.
INTERNAL = re.compile(r"_minor|_id\b|_code\b|_at\b|edited|writeoffs\.|billing\.")


@pytest.fixture
def big(account):
    """A sent USD invoice of 2,000.00."""
    return InvoiceFactory(account=account, invoice_no=30001, total_minor=200_000)


def described(invoice) -> list[tuple[str, str, str]]:
    entries = [(e.actor, e.subject, e.description) for e in invoice_timeline(invoice)]
    for _actor, _subject, description in entries:
        assert not INTERNAL.search(description), description
    return entries


def descriptions(invoice) -> list[str]:
    return [description for _, _, description in described(invoice)]


def write_off(invoice, actor, amount, **kwargs):
    kwargs.setdefault("reason_code", 0)
    kwargs.setdefault("comments", "Uncollectable")
    return writeoff_create(invoice_id=invoice.pk, amount=amount, actor=actor, **kwargs)


# --- write-offs and approvals ---------------------------------------------------------


def test_a_request_over_the_limit_and_its_approval_are_named_with_who(
    big, clerk_actor, supervisor_actor
):
    pending = write_off(big, clerk_actor, "600.00")
    writeoff_approve(writeoff_id=pending.pk, actor=supervisor_actor)

    entries = described(big)
    assert (
        "clerk",
        f"Write-off {pending.pk}",
        f"Write-off {pending.pk} of 600.00 USD (Bad Debt), dated {shown_date(today())} "
        "requested by clerk: over their limit, it waits for approval.",
    ) in entries
    approval = next(e for e in invoice_timeline(big) if "approved" in e.description)
    assert (approval.actor, approval.description) == (
        "supervisor",
        f"Write-off {pending.pk} approved by supervisor (600.00 USD).",
    )
    # The approval posted the write-off: its journal entry sits beside it.
    assert approval.entry_number is not None
    assert [p.code for p in approval.postings] == ["4000", "1200"]


def test_a_rejection_names_who_and_why(big, clerk_actor, supervisor_actor):
    pending = write_off(big, clerk_actor, "600.00")
    writeoff_reject(writeoff_id=pending.pk, reason="No evidence", actor=supervisor_actor)
    assert f"Write-off {pending.pk} rejected by supervisor: No evidence" in descriptions(big)


def test_a_withdrawal_names_the_requester(big, clerk_actor):
    pending = write_off(big, clerk_actor, "600.00")
    writeoff_withdraw(writeoff_id=pending.pk, actor=clerk_actor, reason="Paid after all")
    assert (
        f"Write-off {pending.pk} withdrawn by clerk, who requested it: Paid after all"
        in descriptions(big)
    )


def test_a_lapse_says_nothing_was_written_off(big, clerk_actor, settings):
    settings.WRITEOFF_APPROVAL_DAYS = 14
    pending = made_days_earlier(write_off(big, clerk_actor, "600.00"), 15)
    writeoffs_lapse(run_date=timezone.localdate(pending.created_at) + datetime.timedelta(days=15))
    assert (
        f"Write-off {pending.pk} lapsed: no one approved it in time, and nothing was "
        "written off." in descriptions(big)
    )


def test_a_reversal_names_the_amount_and_reason(invoice, clerk_actor, supervisor_actor):
    writeoff = write_off(invoice, clerk_actor, "5.00")
    writeoff_reverse(writeoff_id=writeoff.pk, reason="Wrong invoice", actor=supervisor_actor)
    assert "Write-off of 5.00 USD reversed: Wrong invoice" in descriptions(invoice)


def test_an_accounting_code_correction_names_both_codes_and_the_reason(
    invoice, clerk_actor, expense_code
):
    goodwill = AccountingCodeFactory(
        code="6200", name="Goodwill expense", kind=AccountingCode.Kind.EXPENSE
    )
    writeoff = write_off(
        invoice, clerk_actor, "5.00", revenue_impacting=False, accounting_code_id=expense_code.pk
    )
    writeoff_correct(
        writeoff_id=writeoff.pk,
        accounting_code_id=goodwill.pk,
        reason="Agreed as goodwill",
        actor=SYSTEM,
    )
    assert (
        "Accounting code changed from 6100 to 6200 (reason: Agreed as goodwill)."
        in descriptions(invoice)
    )


def test_a_comment_correction_shows_old_and_new_and_the_reason(invoice, clerk_actor):
    writeoff = write_off(invoice, clerk_actor, "5.00")
    writeoff_correct(
        writeoff_id=writeoff.pk, comments="Bankrupt, case 7", reason="Case number", actor=SYSTEM
    )
    assert (
        "Comments changed from Uncollectable to Bankrupt, case 7 (reason: Case number)."
        in descriptions(invoice)
    )


def test_a_revenue_code_correction_names_both_codes_on_the_invoice_and_its_writeoffs(
    invoice, clerk_actor
):
    writeoff = write_off(invoice, clerk_actor, "5.00", reason_code=1)
    services = AccountingCodeFactory(code="4100", name="Services")
    invoice_revenue_code_correct(
        invoice_id=invoice.pk, revenue_code_id=services.pk, actor=SYSTEM, reason="Wrong line"
    )
    entries = described(invoice)
    change = "Revenue code changed from 4000 to 4100 (reason: Wrong line)."
    assert ("system", "Invoice 10023", change) in entries
    assert (
        "system",
        f"Write-off {writeoff.pk}",
        "Accounting code changed from 4000 to 4100 (reason: Wrong line).",
    ) in entries


# --- recoveries -------------------------------------------------------------------------


def test_a_recovery_names_its_amount_and_payment_and_its_void(
    invoice, clerk_actor, supervisor_actor
):
    writeoff = write_off(invoice, clerk_actor, "120.00")
    payment = recovery_record(invoice_id=invoice.pk, amount="40.00", actor=clerk_actor)
    timeline = invoice_timeline(invoice)
    recovery = next(e for e in timeline if e.subject.startswith("Recovery"))
    assert recovery.description == (
        f"Recovery of 40.00 USD on payment {payment.pk}: written-off money of write-off "
        f"{writeoff.pk} paid after all."
    )
    assert recovery.entry_number is not None  # the recovery payment's entry
    assert not any("Write-off" in e.subject and "ecover" in e.description for e in timeline)

    payment_remove(payment_id=payment.pk, reason="Bounced", actor=supervisor_actor)
    assert (
        f"Recovery of 40.00 USD on payment {payment.pk} voided: the payment was removed, so "
        "it is written off again." in descriptions(invoice)
    )


# --- the invoice, its payments and holds ---------------------------------------------


def test_sending_and_voiding_the_invoice_are_named_with_the_reason(invoice, supervisor_actor):
    invoice_void(invoice_id=invoice.pk, reason="Duplicate of 10024", actor=supervisor_actor)
    timeline = invoice_timeline(invoice)
    words = [e.description for e in timeline]
    assert f"Invoice sent: 120.00 USD billed on {shown_date(invoice.bill_date)}." in words
    voided = next(e for e in timeline if e.description.startswith("Invoice voided"))
    assert (voided.actor, voided.description) == (
        "supervisor",
        "Invoice voided: its 120.00 USD reversed out of the books, nothing due on it "
        "(reason: Duplicate of 10024).",
    )
    assert [p.code for p in voided.postings] == ["4000", "1200"]


def test_a_payment_reference_correction_is_named(invoice, clerk_actor):
    payment = payment_record(invoice_id=invoice.pk, amount="20.00", actor=clerk_actor)
    payment_correct(payment_id=payment.pk, reference="CHK-2291", reason="Typo", actor=SYSTEM)
    words = descriptions(invoice)
    assert f"Payment of 20.00 USD recorded (paid {shown_date(payment.paid_on)} by check)." in words
    assert "Reference changed from none to CHK-2291 (reason: Typo)." in words


def test_hold_events_are_named_with_dates_in_the_apps_format(
    invoice, clerk_actor, supervisor_actor
):
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="10.00", comments="Disputed", actor=clerk_actor
    )
    dispute_hold_settle(dispute_hold_id=hold.pk, action="release", actor=supervisor_actor)
    words = descriptions(invoice)
    assert f"Put 10.00 USD on dispute hold, expiring {shown_date(hold.expires_on)}." in words
    assert "Dispute hold of 10.00 USD released." in words


def test_the_history_shows_local_time_not_utc(client, viewer, invoice, settings):
    settings.TIME_ZONE = "Asia/Tokyo"  # far from UTC: 09:00 apart
    client.force_login(viewer)
    html = client.get(reverse("invoice_detail", args=[5001, 10023])).content.decode()
    created = invoice.history.order_by("history_id").first().history_date
    local = timezone.localtime(created, timezone.get_fixed_timezone(9 * 60))
    assert local.strftime("%H:%M") in html
    assert f'datetime="{local.isoformat()}"' in html


# --- admin history -----------------------------------------------------------------------


def test_admin_history_shows_field_names_in_words_labels_and_local_times(
    admin_client, invoice, supervisor_actor, settings
):
    settings.TIME_ZONE = "Asia/Tokyo"
    invoice_void(invoice_id=invoice.pk, reason="Duplicate", actor=supervisor_actor)
    invoice.refresh_from_db()
    url = reverse("admin:billing_invoice_history", args=[invoice.pk])
    html = admin_client.get(url).content.decode()

    assert "<strong>Status</strong>: Sent → Void" in html
    voided_at = timezone.localtime(invoice.voided_at, timezone.get_fixed_timezone(9 * 60))
    assert f"<strong>Voided at</strong>: — → {voided_at:%b %-d, %Y %H:%M}" in html
    assert "<strong>Void reason</strong>: — → Duplicate" in html
    assert "minor</strong>" not in html
    assert "+00:00" not in html
