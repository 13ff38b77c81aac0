"""Bad-debt recovery: a payment after a write-off reinstates written-off money."""

import datetime
import io
import json
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from billing.actors import Actor
from billing.errors import (
    INVALID_RECOVERY_CHOICE,
    NOTHING_RECOVERABLE,
    OVER_RECOVERABLE,
    PERMISSION_DENIED,
    WRITEOFF_HAS_RECOVERIES,
    BillingError,
)
from billing.factories import InvoiceFactory
from billing.models import Invoice, Payment
from billing.receivables.payments import payment_record, payment_remove
from tests.ledger import assert_ledger_consistent
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.recovery import recovery_record
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import WriteOff, WriteOffRecovery

pytestmark = pytest.mark.django_db


@contextmanager
def refused(code):
    with pytest.raises(BillingError) as info:
        yield info
    assert info.value.code == code, info.value


@pytest.fixture
def written_off(account, clerk_actor):
    """A 300.00 invoice: 100.00 paid, then 120.00 (older) and 80.00 (newer) bad debt."""
    invoice = InvoiceFactory(account=account, invoice_no=50001, total_minor=300_00)
    payment_record(invoice_id=invoice.pk, amount="100.00", actor=clerk_actor)
    older = writeoff_create(
        invoice_id=invoice.pk,
        amount="120.00",
        reason_code=0,
        comments="Bad debt",
        actor=clerk_actor,
        writeoff_date=timezone.localdate() - datetime.timedelta(days=3),
    )
    newer = writeoff_create(
        invoice_id=invoice.pk, amount="80.00", reason_code=0, comments="Bad debt", actor=clerk_actor
    )
    return invoice, older, newer


def recover(invoice, actor, amount, **kwargs):
    return recovery_record(invoice_id=invoice.pk, amount=amount, actor=actor, **kwargs)


def state(invoice):
    invoice = Invoice.objects.get(pk=invoice.pk)
    return invoice.paid_minor, invoice.written_off_minor, invoice.available_minor


def test_a_partial_recovery_reinstates_the_newest_writeoff_first(written_off, clerk_actor):
    invoice, older, newer = written_off
    payment = recover(invoice, clerk_actor, "50.00")
    assert payment.amount_minor == 50_00
    assert state(invoice) == (150_00, 150_00, 0)
    newer.refresh_from_db()
    older.refresh_from_db()
    assert (newer.recovered_minor, older.recovered_minor) == (50_00, 0)
    recovery = WriteOffRecovery.objects.get()
    assert (recovery.writeoff, recovery.payment, recovery.amount_minor) == (newer, payment, 50_00)
    assert recovery.created_by == clerk_actor.user
    assert_ledger_consistent(invoice.pk)


def test_an_exact_recovery_of_everything_written_off(written_off, clerk_actor):
    invoice, _, _ = written_off
    recover(invoice, clerk_actor, "200.00")
    assert state(invoice) == (300_00, 0, 0)
    assert [w.recovered_minor for w in WriteOff.objects.order_by("id")] == [120_00, 80_00]
    assert_ledger_consistent(invoice.pk)


def test_a_recovery_across_several_writeoffs_in_the_clerks_order(written_off, clerk_actor):
    invoice, older, newer = written_off
    recover(invoice, clerk_actor, "150.00", writeoff_ids=[older.pk, newer.pk])
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.recovered_minor, newer.recovered_minor) == (120_00, 30_00)
    assert WriteOffRecovery.objects.count() == 2
    assert_ledger_consistent(invoice.pk)


def test_the_available_part_is_paid_before_anything_is_reinstated(account, clerk_actor):
    invoice = InvoiceFactory(account=account, total_minor=100_00)
    writeoff_create(
        invoice_id=invoice.pk, amount="60.00", reason_code=0, comments="x", actor=clerk_actor
    )
    recover(invoice, clerk_actor, "50.00")
    assert state(invoice) == (50_00, 50_00, 0)
    assert WriteOff.objects.get().recovered_minor == 10_00


def test_over_the_maximum_is_refused_naming_the_recoverable_amount(written_off, clerk_actor):
    invoice, _, _ = written_off
    with refused(OVER_RECOVERABLE) as info:
        recover(invoice, clerk_actor, "200.01")
    assert "200.00 USD that can be recovered" in info.value.message
    assert info.value.field == "amount"
    assert state(invoice) == (100_00, 200_00, 0)
    assert not Payment.objects.filter(amount_minor=200_01).exists()


def test_a_non_recoverable_reason_is_refused(account, clerk_actor):
    invoice = InvoiceFactory(account=account, total_minor=100_00)
    writeoff_create(
        invoice_id=invoice.pk,
        amount="100.00",
        reason_code=1,
        comments="Good will",
        actor=clerk_actor,
    )
    with refused(NOTHING_RECOVERABLE):
        recover(invoice, clerk_actor, "10.00")


def test_choosing_a_non_recoverable_writeoff_is_refused(written_off, clerk_actor):
    invoice, _, newer = written_off
    goodwill = writeoff_create(
        invoice_id=InvoiceFactory(account=invoice.account).pk,
        amount="1.00",
        reason_code=0,
        comments="x",
        actor=clerk_actor,
    )
    with refused(INVALID_RECOVERY_CHOICE):
        recover(invoice, clerk_actor, "10.00", writeoff_ids=[goodwill.pk])
    with refused(INVALID_RECOVERY_CHOICE) as info:
        recover(invoice, clerk_actor, "100.00", writeoff_ids=[newer.pk])
    assert "choose more" in info.value.message


def test_a_recovery_dated_before_the_writeoff_it_reinstates_is_refused(written_off, clerk_actor):
    invoice, older, _ = written_off
    with refused(INVALID_RECOVERY_CHOICE):
        recover(
            invoice,
            clerk_actor,
            "10.00",
            writeoff_ids=[older.pk],
            paid_on=older.writeoff_date - datetime.timedelta(days=1),
        )


def test_a_viewer_cannot_record_a_recovery(written_off, viewer):
    with refused(PERMISSION_DENIED):
        recover(written_off[0], Actor.for_user(viewer), "10.00")


def test_a_writeoff_with_recoveries_cannot_be_reversed_until_the_payment_is_voided(
    written_off, clerk_actor, supervisor_actor
):
    invoice, _, newer = written_off
    payment = recover(invoice, clerk_actor, "50.00")
    with refused(WRITEOFF_HAS_RECOVERIES):
        writeoff_reverse(writeoff_id=newer.pk, reason="Mistake", actor=supervisor_actor)
    payment_remove(payment_id=payment.pk, reason="Bounced", actor=supervisor_actor)
    writeoff_reverse(writeoff_id=newer.pk, reason="Mistake", actor=supervisor_actor)
    assert_ledger_consistent(invoice.pk)


def test_voiding_the_recovery_payment_restores_the_writeoffs(
    written_off, clerk_actor, supervisor_actor
):
    invoice, _, _ = written_off
    before = state(invoice)
    payment = recover(invoice, clerk_actor, "150.00")
    payment_remove(payment_id=payment.pk, reason="Cheque bounced", actor=supervisor_actor)
    assert state(invoice) == before
    assert [w.recovered_minor for w in WriteOff.objects.order_by("id")] == [0, 0]
    assert set(WriteOffRecovery.objects.values_list("status", flat=True)) == {"voided"}
    assert_ledger_consistent(invoice.pk)


def test_idempotent_retry_records_one_recovery(written_off, clerk_actor):
    invoice, _, _ = written_off
    first = recover(invoice, clerk_actor, "50.00", idempotency_key="r1")
    assert recover(invoice, clerk_actor, "50.00", idempotency_key="r1").pk == first.pk
    assert WriteOffRecovery.objects.count() == 1


def test_verify_ledger_agrees_after_a_recovery(written_off, clerk_actor):
    recover(written_off[0], clerk_actor, "120.00")
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert "every stored total agrees" in out.getvalue()


# --- the Record Recovery drawer, the Recovered filter, the CSV ----------------------


def recovery_url(invoice):
    return reverse("recovery_new", args=[invoice.account.acct_no, invoice.invoice_no])


def test_recovery_drawer_for_htmx_and_a_page_without_js(client, clerk, written_off):
    invoice = written_off[0]
    client.force_login(clerk)
    drawer = client.get(recovery_url(invoice), headers={"HX-Request": "true"}).content.decode()
    page = client.get(recovery_url(invoice)).content.decode()
    assert "Record Recovery" in drawer and "<html" not in drawer
    assert "<html" in page
    assert "200.00 USD" in drawer  # the most that can be recorded


def test_recovery_from_the_drawer_and_the_invoice_shows_recovered_x_of_y(
    client, clerk, written_off
):
    invoice = written_off[0]
    client.force_login(clerk)
    response = client.post(
        recovery_url(invoice),
        {
            "paid_on": timezone.localdate().isoformat(),
            "amount": "30.00",
            "method": "check",
            "reference": "",
            "idempotency_key": "k1",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"])["ledgerChanged"]["kind"] == "payment"
    detail = client.get(
        reverse("invoice_detail", args=[invoice.account.acct_no, invoice.invoice_no])
    ).content.decode()
    assert "recovered 30.00 of 80.00" in detail


def test_recovery_over_the_maximum_shows_the_message_next_to_the_amount(client, clerk, written_off):
    invoice = written_off[0]
    client.force_login(clerk)
    response = client.post(
        recovery_url(invoice),
        {
            "paid_on": timezone.localdate().isoformat(),
            "amount": "999.00",
            "method": "check",
            "idempotency_key": "k2",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "that can be recovered on invoice" in response.content.decode()


def test_the_recovered_filter_lists_only_invoices_with_recoveries(
    client, clerk, clerk_actor, written_off
):
    invoice = written_off[0]
    InvoiceFactory(account=invoice.account, invoice_no=50002, total_minor=100_00)
    recover(invoice, clerk_actor, "10.00")
    client.force_login(clerk)
    url = reverse("invoice_list", args=[invoice.account.acct_no])
    html = client.get(url, {"recovered": "1"}).content.decode()
    assert "50001" in html and "50002" not in html
    assert "50002" in client.get(url).content.decode()


def test_the_writeoff_csv_includes_recovered_amounts(client, clerk, clerk_actor, written_off):
    invoice = written_off[0]
    recover(invoice, clerk_actor, "30.00")
    client.force_login(clerk)
    response = client.get(reverse("writeoff_csv", args=[invoice.account.acct_no]))
    lines = b"".join(response.streaming_content).decode().splitlines()
    header = lines[0].split(",")
    assert "Recovered" in header
    recovered = [line.split(",")[header.index("Recovered")] for line in lines[1:]]
    assert sorted(recovered) == ["0.00", "30.00"]


def test_the_writeoffs_footer_shows_gross_recovered_and_net_labelled(
    client, clerk, written_off, clerk_actor, supervisor_actor
):
    """Issue 26: the footer was gross of recoveries while the invoices are net, so the
    two disagreed after any recovery; it now shows all three, labelled, and the net is
    what the invoices' written-off totals add up to."""
    invoice, _, _ = written_off
    recover(invoice, clerk_actor, "50.00")
    # A voided recovery no longer counts.
    voided = recover(invoice, clerk_actor, "10.00")
    payment_remove(payment_id=voided.pk, reason="Bounced", actor=supervisor_actor)
    client.force_login(clerk)
    url = reverse("writeoff_page", args=[invoice.account.acct_no]) + "?tab=writeoffs"
    footer = client.get(url).content.decode().split("<tfoot>")[1].split("</tfoot>")[0]
    assert 'data-label="Written off">200.00</td>' in footer
    assert 'data-label="Recovered">50.00</td>' in footer
    assert 'data-label="Net written off">150.00</td>' in footer
    assert Invoice.objects.get(pk=invoice.pk).written_off_minor == 150_00


def test_reverse_is_not_offered_on_a_writeoff_with_recoveries_and_the_page_says_why(
    client, supervisor, written_off, clerk_actor
):
    invoice, older, newer = written_off
    recover(invoice, clerk_actor, "50.00")  # newest first: all from the newer write-off
    client.force_login(supervisor)
    html = client.get(reverse("writeoff_page", args=[invoice.account.acct_no])).content.decode()
    assert f'aria-label="Reverse write-off {newer.pk}"' not in html
    assert f'aria-label="Reverse write-off {older.pk}"' in html
    assert "Has recoveries: remove the recovery payment first." in html
    popout = client.get(
        reverse("writeoff_reverse", args=[invoice.account.acct_no, newer.pk]),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "remove the recovery payment first" in popout
    assert "Reverse write-off</button>" not in popout
