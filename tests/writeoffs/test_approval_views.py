"""The Approvals queue, its confirm pop-outs, the top bar count and pending rows."""

import datetime
import json
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from billing.actors import Actor
from billing.factories import InvoiceFactory, UserFactory
from billing.roles import CLERK, CONTROLLER, SUPERVISOR
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.models import WriteOff

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def pending(account, clerk):
    invoice = InvoiceFactory(account=account, invoice_no=40001, total_minor=200_000)
    return writeoff_create(
        invoice_id=invoice.pk,
        amount="600.00",
        reason_code=0,
        comments="Customer went bust",
        actor=Actor.for_user(clerk),
    )


def test_queue_lists_pending_writeoffs_oldest_first_with_balances(client, supervisor, pending):
    older = writeoff_create(
        invoice_id=InvoiceFactory(account=pending.account, total_minor=200_000).pk,
        amount="700.00",
        reason_code=1,
        comments="Older",
        actor=Actor.for_user(pending.requested_by),
    )
    WriteOff.objects.filter(pk=older.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    client.force_login(supervisor)
    response = client.get(reverse("approval_queue"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1" in html
    assert html.index(f'data-entry-id="{older.pk}"') < html.index(f'data-entry-id="{pending.pk}"')
    assert "600.00" in html and "clerk" in html and "Customer went bust" in html
    assert "2,000.00" in html  # the invoice's balance due
    assert "1,400.00" in html  # and what stays available


def test_queue_htmx_request_gets_only_the_table(client, supervisor, pending):
    client.force_login(supervisor)
    response = client.get(reverse("approval_queue"), headers=HTMX)
    assert "<h1" not in response.content.decode()
    assert 'id="approval-queue"' in response.content.decode()
    assert response["Vary"].count("HX-Request") == 1


def test_queue_is_empty_when_nothing_waits(client, supervisor):
    client.force_login(supervisor)
    assert (
        "Nothing is waiting for approval" in client.get(reverse("approval_queue")).content.decode()
    )


def test_clerk_gets_403_on_the_queue_and_the_pop_outs(client, clerk, pending):
    client.force_login(clerk)
    assert client.get(reverse("approval_queue")).status_code == 403
    assert client.post(reverse("approval_approve", args=[pending.pk])).status_code == 403
    assert client.post(reverse("approval_reject", args=[pending.pk])).status_code == 403


def test_anonymous_is_sent_to_sign_in(client, pending):
    response = client.get(reverse("approval_queue"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_wrong_method_is_405(client, supervisor, pending):
    client.force_login(supervisor)
    assert client.delete(reverse("approval_approve", args=[pending.pk])).status_code == 405
    assert client.post(reverse("approval_queue")).status_code == 405


def test_unknown_writeoff_is_404(client, supervisor):
    client.force_login(supervisor)
    assert client.get(reverse("approval_approve", args=[999999])).status_code == 404


def test_approve_pop_out_then_confirm_with_htmx(client, supervisor, pending):
    client.force_login(supervisor)
    url = reverse("approval_approve", args=[pending.pk])
    popout = client.get(url, headers=HTMX).content.decode()
    assert f"Approve write-off {pending.pk}?" in popout and "600.00" in popout
    response = client.post(url, headers=HTMX)
    assert response.status_code == 204
    trigger = json.loads(response["HX-Trigger"])
    assert trigger["ledgerChanged"] == {"kind": "writeoff", "id": pending.pk}
    assert WriteOff.objects.get(pk=pending.pk).status == WriteOff.Status.ACTIVE


def test_approve_without_js_redirects_to_the_queue(client, supervisor, pending):
    client.force_login(supervisor)
    response = client.post(reverse("approval_approve", args=[pending.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("approval_queue")


def test_the_requester_is_refused_in_the_pop_out(client, pending):
    requester = pending.requested_by
    requester.groups.add(Group.objects.get(name=SUPERVISOR))
    client.force_login(requester)
    response = client.post(reverse("approval_approve", args=[pending.pk]), headers=HTMX)
    assert response.status_code == 200
    assert "someone else must approve it" in response.content.decode()
    assert WriteOff.objects.get(pk=pending.pk).is_pending


def test_reject_needs_a_reason_next_to_the_field(client, supervisor, pending):
    client.force_login(supervisor)
    url = reverse("approval_reject", args=[pending.pk])
    response = client.post(url, {"reason": ""}, headers=HTMX)
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    response = client.post(url, {"reason": "No evidence"}, headers=HTMX)
    assert response.status_code == 204
    assert WriteOff.objects.get(pk=pending.pk).rejection_reason == "No evidence"


def test_top_bar_counts_waiting_approvals_for_approvers_only(client, pending, clerk):
    controller = UserFactory(username="ctl", groups=[CONTROLLER])
    client.force_login(controller)
    page = client.get(reverse("account_list")).content.decode()
    assert 'aria-label="1 waiting"' in page
    client.force_login(clerk)
    assert "waiting" not in client.get(reverse("account_list")).content.decode()


def test_pending_row_shows_pending_approval_and_approve_buttons_for_approvers(
    client, supervisor, clerk, pending
):
    url = reverse("writeoff_page", args=[pending.account.acct_no])
    client.force_login(supervisor)
    html = client.get(url).content.decode()
    assert "Pending approval" in html
    assert f'aria-label="Approve write-off {pending.pk}"' in html
    client.force_login(clerk)
    html = client.get(url).content.decode()
    assert "Pending approval" in html
    assert f'aria-label="Approve write-off {pending.pk}"' not in html


def test_invoice_page_shows_a_pending_writeoff(client, clerk, pending):
    client.force_login(clerk)
    url = reverse("invoice_detail", args=[pending.account.acct_no, pending.invoice.invoice_no])
    assert "Pending approval" in client.get(url).content.decode()


def test_the_requester_withdraws_from_their_pending_row(client, clerk, pending):
    page_url = reverse("writeoff_page", args=[pending.account.acct_no])
    client.force_login(clerk)
    assert f'aria-label="Withdraw write-off {pending.pk}"' in client.get(page_url).content.decode()
    url = reverse("writeoff_withdraw", args=[pending.account.acct_no, pending.pk])
    popout = client.get(url, headers=HTMX).content.decode()
    assert f"Withdraw write-off {pending.pk}?" in popout
    response = client.post(url, headers=HTMX)
    assert response.status_code == 204
    assert WriteOff.objects.get(pk=pending.pk).withdrawn
    assert "Withdrawn" in client.get(page_url).content.decode()


def test_someone_else_cannot_withdraw(client, pending):
    other = UserFactory(username="other-clerk", groups=[SUPERVISOR])
    client.force_login(other)
    page_url = reverse("writeoff_page", args=[pending.account.acct_no])
    assert (
        f'aria-label="Withdraw write-off {pending.pk}"' not in client.get(page_url).content.decode()
    )
    url = reverse("writeoff_withdraw", args=[pending.account.acct_no, pending.pk])
    response = client.post(url, headers=HTMX)
    assert response.status_code == 200
    assert "may withdraw" in response.content.decode()
    assert WriteOff.objects.get(pk=pending.pk).is_pending


def test_a_conversion_over_the_limit_says_it_waits_for_approval(client, account, clerk):
    invoice = InvoiceFactory(account=account, invoice_no=40002, total_minor=2_000_000)
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="6000.00", comments="x", actor=Actor.for_user(clerk)
    )
    client.force_login(UserFactory(username="conv-sup", groups=[SUPERVISOR]))
    url = reverse("dispute_settle", args=[account.acct_no, hold.pk, "convert"])
    response = client.post(url, {"reason_code": "0", "comments": "", "revenue_impacting": "on"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "waits for approval" in page
    assert "Conversion pending" in page


def test_the_convert_popout_over_the_limit_says_it_goes_for_approval_naming_the_limit(
    client, account, clerk
):
    invoice = InvoiceFactory(account=account, invoice_no=40002, total_minor=2_000_000)
    big = dispute_hold_create(
        invoice_id=invoice.pk, amount="6000.00", comments="x", actor=Actor.for_user(clerk)
    )
    small = dispute_hold_create(
        invoice_id=invoice.pk, amount="100.00", comments="y", actor=Actor.for_user(clerk)
    )
    client.force_login(UserFactory(username="conv-sup", groups=[SUPERVISOR]))
    over = client.get(
        reverse("dispute_settle", args=[account.acct_no, big.pk, "convert"]), headers=HTMX
    ).content.decode()
    assert "This is over your limit of 5,000.00 USD: it will be sent for approval." in over
    within = client.get(
        reverse("dispute_settle", args=[account.acct_no, small.pk, "convert"]), headers=HTMX
    ).content.decode()
    assert "sent for approval" not in within


def test_approve_and_reject_are_not_offered_on_ones_own_request_and_the_page_says_why(
    client, pending
):
    requester = pending.requested_by
    requester.groups.add(Group.objects.get(name=SUPERVISOR))
    client.force_login(requester)
    for url in (
        reverse("approval_queue"),
        reverse("writeoff_page", args=[pending.account.acct_no]),
    ):
        html = client.get(url).content.decode()
        assert f'aria-label="Approve write-off {pending.pk}"' not in html
        assert f'aria-label="Reject write-off {pending.pk}"' not in html
        assert "Your own request: another approver must decide." in html
    for name in ("approval_approve", "approval_reject"):
        popout = client.get(reverse(name, args=[pending.pk]), headers=HTMX).content.decode()
        assert "Your own request: another approver must decide." in popout
        assert 'type="submit"' not in popout


def test_another_approver_is_still_offered_approve_and_reject(client, supervisor, pending):
    client.force_login(supervisor)
    html = client.get(reverse("approval_queue")).content.decode()
    assert f'aria-label="Approve write-off {pending.pk}"' in html
    assert "Your own request" not in html


def test_an_htmx_approval_sends_the_new_count_for_the_top_bar_badge(client, supervisor, pending):
    client.force_login(supervisor)
    page = client.get(reverse("approval_queue")).content.decode()
    assert 'data-approvals-count aria-label="1 waiting"' in page
    response = client.post(reverse("approval_approve", args=[pending.pk]), headers=HTMX)
    assert response.status_code == 204
    events = json.loads(response["HX-Trigger"])
    assert events["approvalsChanged"] == {"count": 0}


def test_an_htmx_rejection_sends_the_new_count_for_the_top_bar_badge(client, supervisor, pending):
    client.force_login(supervisor)
    response = client.post(
        reverse("approval_reject", args=[pending.pk]), {"reason": "No evidence"}, headers=HTMX
    )
    assert json.loads(response["HX-Trigger"])["approvalsChanged"] == {"count": 0}


def test_a_write_off_that_goes_pending_sends_the_count_to_an_approver(client, supervisor, pending):
    """A supervisor's own write-off over their limit: their badge counts it too."""
    invoice = InvoiceFactory(account=pending.account, invoice_no=40002, total_minor=900_000)
    client.force_login(supervisor)
    entry_url = reverse("writeoff_entry", args=[pending.account.acct_no, invoice.invoice_no])
    fields = {
        "amount": "6000.00",
        "reason_code": "0",
        "writeoff_date": timezone.localdate().isoformat(),
        "revenue_impacting": "on",
        "comments": "Over the supervisor's limit",
    }
    entry = client.post(entry_url, fields, headers=HTMX).content.decode()
    token = re.search(r'name="idempotency_token" value="([^"]+)"', entry).group(1)
    frozen = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', entry))
    frozen["idempotency_token"] = token
    response = client.post(
        reverse("writeoff_confirm", args=[pending.account.acct_no, invoice.invoice_no]),
        frozen,
        headers=HTMX,
    )
    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"])["approvalsChanged"] == {"count": 2}


def test_my_requests_shows_the_requesters_pending_approved_and_rejected_writeoffs(
    client, account, clerk, supervisor
):
    clerk_actor = Actor.for_user(clerk)
    invoice = InvoiceFactory(account=account, invoice_no=40009, total_minor=900_000)

    def request(amount):
        return writeoff_create(
            invoice_id=invoice.pk,
            amount=amount,
            reason_code=0,
            comments="Over the limit",
            actor=clerk_actor,
        )

    waiting, approved, rejected = request("600.00"), request("700.00"), request("800.00")
    from writeoffs.approvals.decisions import writeoff_approve, writeoff_reject

    writeoff_approve(writeoff_id=approved.pk, actor=Actor.for_user(supervisor))
    writeoff_reject(writeoff_id=rejected.pk, reason="No proof", actor=Actor.for_user(supervisor))
    other = UserFactory(username="clerk-2", groups=[CLERK])
    other_invoice = InvoiceFactory(account=account, invoice_no=40010, total_minor=900_000)
    someone_elses = writeoff_create(
        invoice_id=other_invoice.pk,
        amount="650.00",
        reason_code=0,
        comments="Not mine",
        actor=Actor.for_user(other),
    )

    client.force_login(clerk)
    page = client.get(reverse("account_list")).content.decode()
    assert f'href="{reverse("my_requests")}"' in page  # linked from the top bar
    html = client.get(reverse("my_requests")).content.decode()
    for row in (waiting, approved, rejected):
        assert f'data-entry-id="{row.pk}"' in html
    assert f'data-entry-id="{someone_elses.pk}"' not in html
    assert "Waiting for approval" in html and "No proof" in html and "Approved" in html
    only_pending = client.get(reverse("my_requests"), {"status": "pending"}).content.decode()
    assert f'data-entry-id="{waiting.pk}"' in only_pending
    assert f'data-entry-id="{approved.pk}"' not in only_pending
    only_rejected = client.get(reverse("my_requests"), {"status": "rejected"}).content.decode()
    assert f'data-entry-id="{rejected.pk}"' in only_rejected
    assert f'data-entry-id="{waiting.pk}"' not in only_rejected


def test_my_requests_is_for_requesters(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("my_requests")).status_code == 403
