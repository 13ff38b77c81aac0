"""A conversion refused (rejected, withdrawn or lapsed) is asked for once.

Issue 26: with the expiry action "convert", a hold whose conversion over its
creator's limit was rejected or lapsed was converted again by every expiry run,
so the approvers were asked the same question every day. The hold now shows as
"Conversion refused" until a person settles it, and expiry leaves it alone.
"""

from __future__ import annotations

import datetime
import json

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from billing.actors import Actor
from billing.api.keys import api_key_create
from billing.factories import InvoiceFactory, UserFactory
from billing.models import Invoice
from billing.roles import CONTROLLER, SUPERVISOR
from tests.ledger import assert_ledger_consistent, expired_days_ago, made_days_earlier
from writeoffs.approvals.decisions import (
    writeoff_approve,
    writeoff_reject,
    writeoff_withdraw,
    writeoffs_lapse,
)
from writeoffs.lifecycle.expiry import dispute_holds_expire
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.models import ApprovalLimit, DisputeHold, WriteOff

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def person(*groups) -> Actor:
    return Actor.for_user(UserFactory(groups=list(groups)))


@pytest.fixture
def expiry_converts(settings):
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "convert"


@pytest.fixture
def big(account):
    return InvoiceFactory(account=account, invoice_no=40001, total_minor=2_000_000)


def refuse(writeoff: WriteOff, how: str, requester: Actor) -> None:
    if how == "reject":
        writeoff_reject(writeoff_id=writeoff.pk, reason="Collect it", actor=person(CONTROLLER))
    elif how == "withdraw":
        writeoff_withdraw(writeoff_id=writeoff.pk, actor=requester)
    else:
        # Lapse takes no future run date: the request is made old enough instead.
        made_days_earlier(writeoff, settings.WRITEOFF_APPROVAL_DAYS + 1)
        writeoffs_lapse()


def expired_over_the_limit(big, clerk_actor) -> tuple[DisputeHold, datetime.date]:
    """A clerk's hold of 600.00 (over their 500.00), converted by expiry: pending."""
    hold = dispute_hold_create(invoice_id=big.pk, amount="600.00", comments="x", actor=clerk_actor)
    # Its last day three days ago: expiry runs for two days ago, then for the days since.
    hold = expired_days_ago(hold, 3)
    run_date = hold.expires_on + DAY
    assert dispute_holds_expire(run_date=run_date).conversion_pending == [hold.pk]
    return hold, run_date


@pytest.mark.parametrize("how", ["reject", "withdraw", "lapse"])
def test_expiry_does_not_ask_again_for_a_refused_conversion(big, clerk_actor, expiry_converts, how):
    hold, run_date = expired_over_the_limit(big, clerk_actor)
    refuse(WriteOff.objects.get(origin_dispute=hold), how, clerk_actor)
    hold.refresh_from_db()
    assert hold.is_open and hold.conversion_refused and not hold.conversion_pending
    assert hold.status_label == "Conversion refused"

    for later in (run_date + DAY, run_date + 2 * DAY):
        result = dispute_holds_expire(run_date=later)
        assert (result.settled, result.conversion_pending) == ([], [])
        assert result.refused == [hold.pk]
        assert "1 dispute hold(s) past expiry whose conversion was refused" in result.summary()
    assert WriteOff.objects.filter(origin_dispute=hold).count() == 1
    assert Invoice.objects.get(pk=big.pk).held_minor == 600_00
    assert_ledger_consistent(big.pk)


def test_a_person_releases_a_hold_whose_conversion_was_refused(big, clerk_actor, expiry_converts):
    hold, _ = expired_over_the_limit(big, clerk_actor)
    refuse(WriteOff.objects.get(origin_dispute=hold), "reject", clerk_actor)
    settled = dispute_hold_settle(
        dispute_hold_id=hold.pk, action="release", actor=person(SUPERVISOR)
    )
    assert settled.status == DisputeHold.Status.RELEASED
    assert not settled.conversion_refused
    assert_ledger_consistent(big.pk)


def test_a_person_may_ask_again_and_an_approval_settles_it(big, clerk_actor, expiry_converts):
    """Asking again is a person's decision: a pending conversion clears the refusal, and
    its approval settles the hold."""
    hold, _ = expired_over_the_limit(big, clerk_actor)
    refuse(WriteOff.objects.get(origin_dispute=hold), "reject", clerk_actor)
    low = person(SUPERVISOR)
    ApprovalLimit.objects.filter(role="supervisor", currency="USD").update(limit_minor=100_00)
    again = dispute_hold_settle(dispute_hold_id=hold.pk, action="convert", actor=low)
    assert again.conversion_pending and not again.conversion_refused
    assert again.status_label == "Conversion pending"
    second = WriteOff.objects.get(origin_dispute=hold, status=WriteOff.Status.PENDING)
    writeoff_approve(writeoff_id=second.pk, actor=person(CONTROLLER))
    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.WRITTEN_OFF and not hold.conversion_refused
    assert_ledger_consistent(big.pk)


def test_a_refused_persons_conversion_is_not_converted_by_expiry_either(
    big, clerk_actor, expiry_converts
):
    supervisor = person(SUPERVISOR)
    hold = dispute_hold_create(invoice_id=big.pk, amount="6000.00", comments="x", actor=clerk_actor)
    dispute_hold_settle(dispute_hold_id=hold.pk, action="convert", actor=supervisor)
    refuse(WriteOff.objects.get(origin_dispute=hold), "reject", supervisor)
    hold = expired_days_ago(hold, 1)
    result = dispute_holds_expire(run_date=hold.expires_on + DAY)
    assert result.refused == [hold.pk]
    assert WriteOff.objects.filter(origin_dispute=hold).count() == 1


def test_expiry_that_releases_still_releases_a_refused_hold(big, clerk_actor, settings):
    """The refusal is of a conversion: an expiry that releases asks nobody anything."""
    hold = dispute_hold_create(invoice_id=big.pk, amount="6000.00", comments="x", actor=clerk_actor)
    dispute_hold_settle(dispute_hold_id=hold.pk, action="convert", actor=person(SUPERVISOR))
    refuse(WriteOff.objects.get(origin_dispute=hold), "reject", clerk_actor)
    settings.DISPUTE_HOLD_EXPIRATION_ACTION = "release"
    hold = expired_days_ago(hold, 1)
    assert dispute_holds_expire(run_date=hold.expires_on + DAY).settled == [hold.pk]


def test_the_database_keeps_refused_for_open_holds_without_a_pending_conversion(big, clerk_actor):
    hold = dispute_hold_create(invoice_id=big.pk, amount="10.00", comments="x", actor=clerk_actor)
    for fields in ({"conversion_pending": True}, {"status": "released"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            DisputeHold.objects.filter(pk=hold.pk).update(conversion_refused=True, **fields)


def test_the_tables_and_the_api_show_a_refused_conversion(
    client, big, clerk, clerk_actor, expiry_converts
):
    hold, _ = expired_over_the_limit(big, clerk_actor)
    refuse(WriteOff.objects.get(origin_dispute=hold), "reject", clerk_actor)
    client.force_login(clerk)
    account = big.account
    page = client.get(
        reverse("writeoff_page", args=[account.acct_no]) + "?tab=disputes"
    ).content.decode()
    assert "Conversion refused" in page
    overview = client.get(reverse("account_overview", args=[account.acct_no])).content.decode()
    assert "Conversion refused" in overview
    invoice_page = client.get(
        reverse("invoice_detail", args=[account.acct_no, big.invoice_no])
    ).content.decode()
    assert "Conversion refused" in invoice_page

    _, secret = api_key_create("erp", role="clerk")
    body = client.post(
        "/api/get_acct_writeoff_or_disputes_m",
        json.dumps({"client_no": 1000, "auth_key": secret, "acct_no": account.acct_no}),
        content_type="application/json",
    ).json()
    assert body["error_code"] == 0, body
    [row] = body["disputes"]
    assert row["status"] == "open"
    assert (row["conversion_pending"], row["conversion_refused"]) == (False, True)
