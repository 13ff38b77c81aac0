"""Settling dispute holds and reversing write-offs from the Write-Offs page, and the
CSV export links: the pop-outs, what each action changes, and who may do it."""

import csv
import datetime
import io
import json
import re

import pytest
from django.urls import reverse

from billing.factories import AccountFactory, AccountingCodeFactory, InvoiceFactory, UserFactory
from billing.models import AccountingCode, Invoice, JournalEntry, JournalEvent
from tests.ledger import assert_ledger_consistent
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.models import DisputeHold, ReasonCode, WriteOff

HTMX = {"HTTP_HX_REQUEST": "true"}
ACTIONS = ["convert", "release", "release_reage"]


@pytest.fixture
def hold(invoice, clerk_actor):
    return dispute_hold_create(
        invoice_id=invoice.pk, amount="50.00", comments="Customer disputes", actor=clerk_actor
    )


@pytest.fixture
def writeoff(invoice, clerk_actor):
    return writeoff_create(
        invoice_id=invoice.pk, amount="30.00", reason_code=0, comments="Bad", actor=clerk_actor
    )


@pytest.fixture
def other_account_entries(db, clerk_actor):
    account = AccountFactory(acct_no=7007)
    invoice = InvoiceFactory(account=account, invoice_no=70001)
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="1.00", comments="x", actor=clerk_actor
    )
    writeoff = writeoff_create(
        invoice_id=invoice.pk, amount="1.00", reason_code=0, comments="x", actor=clerk_actor
    )
    return hold, writeoff


def settle_url(account, hold, action):
    return reverse("dispute_settle", args=[account.acct_no, hold.pk, action])


def reverse_url(account, writeoff):
    return reverse("writeoff_reverse", args=[account.acct_no, writeoff.pk])


def disputes_page(account):
    return reverse("writeoff_page", args=[account.acct_no]) + "?tab=disputes"


# --- settle: the pop-out -------------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
def test_settle_popout_for_htmx_and_a_page_without_js(client, supervisor, account, hold, action):
    client.force_login(supervisor)

    popout = client.get(settle_url(account, hold, action), **HTMX)
    page = client.get(settle_url(account, hold, action))

    assert popout.status_code == 200
    assert b'id="popout-title"' in popout.content
    assert b"<html" not in popout.content
    assert b"<html" in page.content
    assert f"dispute hold {hold.pk}".encode() in popout.content
    # Only converting asks for a reason code.
    assert (b'name="reason_code"' in popout.content) == (action == "convert")


def test_unknown_settlement_action_is_404(client, supervisor, account, hold):
    client.force_login(supervisor)

    assert client.get(settle_url(account, hold, "delete")).status_code == 404
    assert client.post(settle_url(account, hold, "delete")).status_code == 404


# --- settle: each action ---------------------------------------------------------------


def test_convert_creates_a_linked_writeoff_with_the_chosen_reason(
    client, supervisor, account, invoice, hold
):
    client.force_login(supervisor)

    response = client.post(
        settle_url(account, hold, "convert"),
        {"reason_code": "2", "revenue_impacting": "on", "comments": "Agreed: billing error"},
        **HTMX,
    )

    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"])["ledgerChanged"] == {"kind": "dispute", "id": hold.pk}
    assert "closeOverlays" in response["HX-Trigger"]
    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.WRITTEN_OFF
    assert hold.settled_by_label == "supervisor"
    assert hold.settlement_comments == "Agreed: billing error"
    writeoff = WriteOff.objects.get(origin_dispute=hold)
    assert writeoff.reason_code == ReasonCode.BILLING_ERROR
    assert writeoff.amount_minor == 5000
    invoice.refresh_from_db()
    assert (invoice.held_minor, invoice.written_off_minor, invoice.balance_due_minor) == (
        0,
        5000,
        7000,
    )
    assert hold.history.latest().history_actor == "supervisor"
    assert_ledger_consistent(invoice.pk)


def test_release_keeps_the_balance_due_and_the_aging_date(
    client, supervisor, account, invoice, hold
):
    aging_before = invoice.aging_date
    client.force_login(supervisor)

    client.post(settle_url(account, hold, "release"), {"comments": ""}, **HTMX)

    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.RELEASED
    invoice.refresh_from_db()
    assert (invoice.held_minor, invoice.balance_due_minor) == (0, 12000)
    assert invoice.aging_date == aging_before
    assert not WriteOff.objects.exists()
    assert_ledger_consistent(invoice.pk)


def test_release_and_reage_moves_the_aging_date_to_today(
    client, supervisor, account, invoice, hold
):
    client.force_login(supervisor)

    client.post(settle_url(account, hold, "release_reage"), {}, **HTMX)

    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.RELEASED_REAGED
    invoice.refresh_from_db()
    assert invoice.held_minor == 0
    assert invoice.aging_date == datetime.date.today()
    assert Invoice.history.filter(id=invoice.pk).latest().history_actor == "supervisor"
    assert_ledger_consistent(invoice.pk)


def test_settling_without_js_redirects_to_the_disputes_tab_with_a_message(
    client, supervisor, account, hold
):
    client.force_login(supervisor)

    response = client.post(settle_url(account, hold, "release"), {}, follow=True)

    assert response.redirect_chain[0][0].startswith(disputes_page(account))
    assert f"Dispute hold {hold.pk} on invoice 10023 released." in response.content.decode()


def test_a_settled_dispute_cannot_be_settled_again(
    client, supervisor, account, invoice, hold, supervisor_actor
):
    dispute_hold_settle(dispute_hold_id=hold.pk, action="release", actor=supervisor_actor)
    client.force_login(supervisor)

    response = client.post(
        settle_url(account, hold, "convert"),
        {"reason_code": "0", "revenue_impacting": "on"},
        **HTMX,
    )

    assert response.status_code == 200
    assert "already settled" in response.content.decode()
    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.RELEASED
    assert not WriteOff.objects.exists()
    invoice.refresh_from_db()
    assert invoice.written_off_minor == 0


def test_convert_refuses_a_reason_code_outside_0_to_5(client, supervisor, account, hold):
    client.force_login(supervisor)

    response = client.post(settle_url(account, hold, "convert"), {"reason_code": "9999"}, **HTMX)

    assert response.status_code == 200
    assert response.context["settle_form"].errors["reason_code"]
    hold.refresh_from_db()
    assert hold.is_open


# --- settle: a conversion posts like a create (revenue-impacting or an expense code) ---


def conversion_debits(hold) -> list[tuple[str, int]]:
    writeoff = WriteOff.objects.get(origin_dispute=hold)
    entry = JournalEntry.objects.get(event=JournalEvent.DISPUTE_CONVERSION, source_id=writeoff.pk)
    return [
        (line.accounting_code.code, line.debit_minor)
        for line in entry.lines.select_related("accounting_code")
        if line.debit_minor
    ]


def test_convert_popout_offers_the_revenue_impacting_switch_and_the_expense_codes(
    client, supervisor, account, hold, expense_code
):
    AccountingCodeFactory(
        code="6900", name="Retired", kind=AccountingCode.Kind.EXPENSE, active=False
    )
    client.force_login(supervisor)

    html = client.get(settle_url(account, hold, "convert"), **HTMX).content.decode()

    switch = re.search(r"<input[^>]*name=\"revenue_impacting\"[^>]*>", html).group(0)
    assert "checked" in switch
    assert 'data-hides="settle_accounting_code_group"' in switch
    assert 'id="settle_accounting_code_group"' in html
    select = re.search(r"<select[^>]*name=\"accounting_code\".*?</select>", html, re.S).group(0)
    assert f'value="{expense_code.pk}"' in select
    assert "Retired" not in select  # inactive codes are not offered
    assert "Subscription revenue" not in select  # nor revenue codes
    assert "<script" not in html


@pytest.mark.parametrize("action", ["release", "release_reage"])
def test_a_release_popout_asks_for_no_posting(client, supervisor, account, hold, action):
    client.force_login(supervisor)

    html = client.get(settle_url(account, hold, action), **HTMX).content.decode()

    assert 'name="revenue_impacting"' not in html
    assert 'name="accounting_code"' not in html


def test_convert_with_revenue_impacting_on_debits_the_invoices_revenue_code(
    client, supervisor, account, invoice, hold, expense_code
):
    client.force_login(supervisor)

    response = client.post(
        settle_url(account, hold, "convert"),
        # A code chosen and then the switch turned back on: revenue-impacting wins.
        {"reason_code": "0", "revenue_impacting": "on", "accounting_code": expense_code.pk},
        **HTMX,
    )

    assert response.status_code == 204
    assert conversion_debits(hold) == [(invoice.revenue_code.code, 5000)]
    writeoff = WriteOff.objects.get(origin_dispute=hold)
    assert writeoff.revenue_impacting is True
    assert writeoff.accounting_code_id == invoice.revenue_code_id


def test_convert_with_revenue_impacting_off_debits_the_chosen_expense_code(
    client, supervisor, account, invoice, hold, expense_code
):
    other = AccountingCodeFactory(code="6200", name="Disputes", kind=AccountingCode.Kind.EXPENSE)
    client.force_login(supervisor)

    response = client.post(
        settle_url(account, hold, "convert"),
        {"reason_code": "0", "accounting_code": other.pk},
        **HTMX,
    )

    assert response.status_code == 204
    assert conversion_debits(hold) == [("6200", 5000)]
    assert WriteOff.objects.get(origin_dispute=hold).revenue_impacting is False
    assert_ledger_consistent(invoice.pk)


def test_convert_with_revenue_impacting_off_and_no_code_is_refused_beside_the_select(
    client, supervisor, account, invoice, hold, expense_code
):
    client.force_login(supervisor)

    response = client.post(settle_url(account, hold, "convert"), {"reason_code": "0"}, **HTMX)

    assert response.status_code == 200
    errors = response.context["settle_form"].errors["accounting_code"]
    assert "expense accounting code" in errors[0]
    assert errors[0] in response.content.decode()
    hold.refresh_from_db()
    assert hold.is_open
    assert not WriteOff.objects.exists()
    invoice.refresh_from_db()
    assert (invoice.held_minor, invoice.written_off_minor) == (5000, 0)


def test_convert_refuses_an_inactive_expense_code(client, supervisor, account, hold):
    retired = AccountingCodeFactory(
        code="6900", name="Retired", kind=AccountingCode.Kind.EXPENSE, active=False
    )
    client.force_login(supervisor)

    response = client.post(
        settle_url(account, hold, "convert"),
        {"reason_code": "0", "accounting_code": retired.pk},
        **HTMX,
    )

    assert response.status_code == 200
    assert response.context["settle_form"].errors["accounting_code"]
    hold.refresh_from_db()
    assert hold.is_open


@pytest.mark.parametrize("action", ACTIONS)
def test_clerk_cannot_settle(client, clerk, account, hold, action):
    client.force_login(clerk)

    assert client.get(settle_url(account, hold, action), **HTMX).status_code == 403
    response = client.post(settle_url(account, hold, action), {"reason_code": "0"}, **HTMX)

    assert response.status_code == 403
    assert b"You can" in response.content
    hold.refresh_from_db()
    assert hold.is_open


def test_another_accounts_dispute_is_404(client, supervisor, account, other_account_entries):
    other_hold, _ = other_account_entries
    client.force_login(supervisor)

    response = client.post(settle_url(account, other_hold, "release"), {}, **HTMX)

    assert response.status_code == 404
    other_hold.refresh_from_db()
    assert other_hold.is_open


# --- reverse ------------------------------------------------------------------------------


def test_reverse_popout_for_htmx_and_a_page_without_js(client, supervisor, account, writeoff):
    client.force_login(supervisor)

    popout = client.get(reverse_url(account, writeoff), **HTMX)
    page = client.get(reverse_url(account, writeoff))

    assert b'id="popout-title"' in popout.content
    assert b"<html" not in popout.content
    assert b'name="reason"' in popout.content
    assert b"<html" in page.content


def test_reversing_keeps_the_row_marked_reversed_and_returns_the_balance(
    client, supervisor, account, invoice, writeoff
):
    client.force_login(supervisor)

    response = client.post(reverse_url(account, writeoff), {"reason": "Wrong invoice"}, **HTMX)

    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"])["ledgerChanged"] == {
        "kind": "writeoff",
        "id": writeoff.pk,
    }
    writeoff.refresh_from_db()
    assert writeoff.status == WriteOff.Status.REVERSED
    assert (writeoff.reversed_by_label, writeoff.reversal_reason) == ("supervisor", "Wrong invoice")
    invoice.refresh_from_db()
    assert (invoice.written_off_minor, invoice.balance_due_minor) == (0, 12000)
    assert writeoff.history.latest().history_actor == "supervisor"
    table = client.get(reverse("writeoff_page", args=[account.acct_no])).content.decode()
    assert "Reversed" in table
    assert "Wrong invoice" in table
    assert_ledger_consistent(invoice.pk)


def test_reversing_needs_a_reason(client, supervisor, account, writeoff):
    client.force_login(supervisor)

    response = client.post(reverse_url(account, writeoff), {"reason": "  "}, **HTMX)

    assert response.status_code == 200
    assert response.context["reverse_form"].errors["reason"]
    writeoff.refresh_from_db()
    assert writeoff.status == WriteOff.Status.ACTIVE


def test_a_reversed_writeoff_cannot_be_reversed_again(client, supervisor, account, writeoff):
    client.force_login(supervisor)
    client.post(reverse_url(account, writeoff), {"reason": "first"}, **HTMX)

    response = client.post(reverse_url(account, writeoff), {"reason": "again"}, **HTMX)

    assert response.status_code == 200
    assert "already reversed" in response.content.decode()
    assert Invoice.objects.get(pk=writeoff.invoice_id).written_off_minor == 0


def test_reversing_a_converted_writeoff_does_not_reopen_the_dispute(
    client, supervisor, account, invoice, hold, supervisor_actor
):
    dispute_hold_settle(dispute_hold_id=hold.pk, action="convert", actor=supervisor_actor)
    converted = WriteOff.objects.get(origin_dispute=hold)
    client.force_login(supervisor)

    client.post(reverse_url(account, converted), {"reason": "Customer paid after all"}, **HTMX)

    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.WRITTEN_OFF
    invoice.refresh_from_db()
    assert (invoice.held_minor, invoice.written_off_minor) == (0, 0)
    assert_ledger_consistent(invoice.pk)


def test_clerk_cannot_reverse(client, clerk, account, writeoff):
    client.force_login(clerk)

    response = client.post(reverse_url(account, writeoff), {"reason": "no"}, **HTMX)

    assert response.status_code == 403
    writeoff.refresh_from_db()
    assert writeoff.status == WriteOff.Status.ACTIVE


def test_another_accounts_writeoff_is_404(client, supervisor, account, other_account_entries):
    _, other_writeoff = other_account_entries
    client.force_login(supervisor)

    assert client.get(reverse_url(account, other_writeoff)).status_code == 404


# --- every new view: anonymous, method ---------------------------------------------------


@pytest.fixture(params=["settle", "reverse", "writeoff_csv", "dispute_csv"])
def lifecycle_url(request, account, hold, writeoff):
    return {
        "settle": settle_url(account, hold, "release"),
        "reverse": reverse_url(account, writeoff),
        "writeoff_csv": reverse("writeoff_csv", args=[account.acct_no]),
        "dispute_csv": reverse("dispute_csv", args=[account.acct_no]),
    }[request.param]


def test_anonymous_user_is_sent_to_sign_in(client, lifecycle_url):
    response = client.get(lifecycle_url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_wrong_method_gets_405(client, supervisor, lifecycle_url):
    client.force_login(supervisor)

    assert client.put(lifecycle_url).status_code == 405
    assert client.delete(lifecycle_url).status_code == 405


def test_user_without_a_billing_role_gets_403(client, lifecycle_url):
    client.force_login(UserFactory(username="nobody"))

    assert client.get(lifecycle_url).status_code == 403


# --- the tables: settle and reverse controls, expiry marks ----------------------------------


def test_supervisor_sees_settle_actions_only_on_open_rows(
    client, supervisor, account, invoice, hold, clerk_actor, supervisor_actor
):
    settled = dispute_hold_create(
        invoice_id=invoice.pk, amount="10.00", comments="x", actor=clerk_actor
    )
    dispute_hold_settle(dispute_hold_id=settled.pk, action="release", actor=supervisor_actor)
    client.force_login(supervisor)

    html = client.get(disputes_page(account)).content.decode()

    for action in ACTIONS:
        assert settle_url(account, hold, action) in html
        assert settle_url(account, settled, action) not in html
    # Settled rows say who settled, when and how.
    assert "Released" in html
    assert "by supervisor" in html


def test_clerk_and_viewer_see_no_settle_or_reverse_controls(
    client, clerk, viewer, account, hold, writeoff
):
    for user in (clerk, viewer):
        client.force_login(user)
        disputes = client.get(disputes_page(account)).content.decode()
        writeoffs = client.get(reverse("writeoff_page", args=[account.acct_no])).content.decode()
        assert settle_url(account, hold, "release") not in disputes
        assert reverse_url(account, writeoff) not in writeoffs


def test_supervisor_sees_reverse_only_on_active_writeoffs(
    client, supervisor, account, invoice, writeoff, clerk_actor, supervisor_actor
):
    from writeoffs.lifecycle.reverse import writeoff_reverse

    reversed_one = writeoff_create(
        invoice_id=invoice.pk, amount="5.00", reason_code=0, comments="x", actor=clerk_actor
    )
    writeoff_reverse(writeoff_id=reversed_one.pk, reason="Oops", actor=supervisor_actor)
    client.force_login(supervisor)

    html = client.get(reverse("writeoff_page", args=[account.acct_no])).content.decode()

    assert reverse_url(account, writeoff) in html
    assert reverse_url(account, reversed_one) not in html
    assert "Oops" in html


def test_disputes_table_marks_holds_expiring_within_seven_days_and_expired_ones(
    client, viewer, account, invoice, clerk_actor
):
    soon = dispute_hold_create(
        invoice_id=invoice.pk,
        amount="1.00",
        comments="soon",
        actor=clerk_actor,
        expire_hold_days=5,
    )
    later = dispute_hold_create(
        invoice_id=invoice.pk,
        amount="1.00",
        comments="later",
        actor=clerk_actor,
        expire_hold_days=30,
    )
    expired = dispute_hold_create(
        invoice_id=invoice.pk, amount="1.00", comments="old", actor=clerk_actor
    )
    DisputeHold.objects.filter(pk=expired.pk).update(
        expires_on=datetime.date.today() - datetime.timedelta(days=1)
    )
    client.force_login(viewer)

    rows = client.get(disputes_page(account)).context["rows"]
    html = client.get(disputes_page(account)).content.decode()

    marks = {row.pk: row for row in rows}
    assert set(marks) == {soon.pk, later.pk, expired.pk}
    row_html = {pk: html.split(f'data-entry-id="{pk}"')[1].split("</tr>")[0] for pk in marks}
    assert "Expires soon" in row_html[soon.pk]
    assert "Expires soon" not in row_html[later.pk]
    assert "Expired" in row_html[expired.pk]
    assert "Expires soon" not in row_html[expired.pk]


# --- CSV links ------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_writeoff_csv_follows_the_tables_sort(client, viewer, account, invoice, clerk_actor):
    for amount in ("3.00", "1.00", "2.00"):
        writeoff_create(
            invoice_id=invoice.pk, amount=amount, reason_code=0, comments="c", actor=clerk_actor
        )
    client.force_login(viewer)

    newest_first = read_csv(client.get(reverse("writeoff_csv", args=[account.acct_no])))
    by_amount = read_csv(
        client.get(reverse("writeoff_csv", args=[account.acct_no]), {"sort": "amount"})
    )

    assert [row[3] for row in newest_first[1:]] == ["2.00", "1.00", "3.00"]
    assert [row[3] for row in by_amount[1:]] == ["1.00", "2.00", "3.00"]


def test_dispute_csv_is_an_attachment_of_this_accounts_holds_only(
    client, viewer, account, hold, other_account_entries
):
    client.force_login(viewer)

    response = client.get(reverse("dispute_csv", args=[account.acct_no]))

    assert response["Content-Disposition"] == 'attachment; filename="disputes-5001.csv"'
    rows = read_csv(response)
    assert [row[0] for row in rows[1:]] == [str(hold.pk)]
    assert rows[1][3] == "50.00"


def test_csv_links_are_on_both_tables(client, viewer, account, hold, writeoff):
    client.force_login(viewer)

    writeoffs = client.get(reverse("writeoff_page", args=[account.acct_no])).content.decode()
    disputes = client.get(disputes_page(account)).content.decode()

    assert reverse("writeoff_csv", args=[account.acct_no]) in writeoffs
    assert reverse("dispute_csv", args=[account.acct_no]) in disputes


@pytest.mark.parametrize("tab", ["writeoffs", "disputes"])
def test_supervisor_tables_query_count_is_the_same_for_1_and_50_rows(
    client, supervisor, account, clerk_actor, supervisor_actor, django_assert_num_queries, tab
):
    """Settle and reverse controls, and who settled or reversed, cost no query per row."""
    from writeoffs.lifecycle.reverse import writeoff_reverse

    big = InvoiceFactory(account=account, total_minor=1_000_000)

    def add_rows(count):
        for n in range(count):
            hold = dispute_hold_create(
                invoice_id=big.pk, amount="1.00", comments="d", actor=clerk_actor
            )
            writeoff = writeoff_create(
                invoice_id=big.pk, amount="1.00", reason_code=0, comments="w", actor=clerk_actor
            )
            if n % 2:
                dispute_hold_settle(
                    dispute_hold_id=hold.pk, action="convert", actor=supervisor_actor
                )
                writeoff_reverse(writeoff_id=writeoff.pk, reason="r", actor=supervisor_actor)

    url = reverse("writeoff_page", args=[account.acct_no]) + f"?tab={tab}"
    client.force_login(supervisor)
    add_rows(1)
    with django_assert_num_queries(7):  # with the active total
        client.get(url, **HTMX)
    add_rows(49)
    with django_assert_num_queries(7):  # with the active total
        response = client.get(url, **HTMX)
    assert len(response.context["rows"]) == 25


# --- issue 15: state you can see, no dead ends ----------------------------------------


def writeoffs_page(account):
    return reverse("writeoff_page", args=[account.acct_no]) + "?tab=writeoffs"


def test_reversed_writeoff_amount_is_struck_through_with_the_reason_on_a_second_line(
    client, supervisor, account, writeoff, supervisor_actor
):
    from writeoffs.lifecycle.reverse import writeoff_reverse

    writeoff_create(
        invoice_id=writeoff.invoice_id,
        amount="5",
        reason_code=1,
        comments="y",
        actor=supervisor_actor,
    )
    writeoff_reverse(writeoff_id=writeoff.pk, reason="Wrong invoice", actor=supervisor_actor)
    client.force_login(supervisor)
    html = client.get(writeoffs_page(account)).content.decode()
    row = html.split(f'data-entry-id="{writeoff.pk}"')[1].split("</tr>")[0]
    assert '<td data-label="Amount" class="amount"><s>30.00</s></td>' in row
    assert re.search(
        r'title="Wrong invoice">Reversed by supervisor, \w{3} \d+, \d{4}: Wrong invoice', row
    )
    assert "row-reversed" in html.split(f'data-entry-id="{writeoff.pk}"')[1].split(">")[0]


def test_tables_show_the_total_of_their_active_rows(
    client, supervisor, account, invoice, writeoff, supervisor_actor, clerk_actor
):
    from writeoffs.lifecycle.reverse import writeoff_reverse

    other = writeoff_create(
        invoice_id=invoice.pk, amount="12.50", reason_code=1, comments="y", actor=clerk_actor
    )
    writeoff_reverse(writeoff_id=other.pk, reason="Wrong", actor=supervisor_actor)
    dispute_hold_create(invoice_id=invoice.pk, amount="7.25", comments="z", actor=clerk_actor)
    released = dispute_hold_create(
        invoice_id=invoice.pk, amount="3", comments="z", actor=clerk_actor
    )
    dispute_hold_settle(dispute_hold_id=released.pk, action="release", actor=supervisor_actor)
    client.force_login(supervisor)
    writeoffs = client.get(writeoffs_page(account)).content.decode()
    disputes = client.get(disputes_page(account)).content.decode()
    # Gross, recovered and net since issue 26 (was one "Total of active write-offs").
    assert 'data-label="Written off">30.00</td>' in writeoffs
    assert 'data-label="Net written off">30.00</td>' in writeoffs
    assert 'data-label="Total of open holds">7.25</td>' in disputes


def test_each_settled_dispute_state_has_its_own_badge(
    client, supervisor, account, invoice, clerk_actor, supervisor_actor
):
    for action in ("convert", "release", "release_reage"):
        hold = dispute_hold_create(
            invoice_id=invoice.pk, amount="1", comments=f"{action} me", actor=clerk_actor
        )
        dispute_hold_settle(
            dispute_hold_id=hold.pk, action=action, actor=supervisor_actor, reason_code=0
        )
    client.force_login(supervisor)
    html = client.get(disputes_page(account)).content.decode()
    assert '<span class="badge text-bg-dark">Written off</span>' in html
    assert '<span class="badge text-bg-secondary">Released</span>' in html
    assert '<span class="badge text-bg-info">Released and re-aged</span>' in html


def test_disputes_table_shows_comments_and_invoice_numbers_link_to_the_invoice(
    client, clerk, account, invoice, hold, writeoff
):
    client.force_login(clerk)
    invoice_url = reverse("invoice_detail", args=[account.acct_no, invoice.invoice_no])
    disputes = client.get(disputes_page(account)).content.decode()
    assert 'title="Customer disputes">Customer disputes' in disputes
    assert f'<a href="{invoice_url}">10023</a>' in disputes
    writeoffs = client.get(writeoffs_page(account)).content.decode()
    assert f'<a href="{invoice_url}">10023</a>' in writeoffs


def test_a_converted_dispute_links_to_its_writeoff_and_back(
    client, supervisor, account, invoice, hold, supervisor_actor
):
    dispute_hold_settle(
        dispute_hold_id=hold.pk, action="convert", actor=supervisor_actor, reason_code=0
    )
    converted = WriteOff.objects.get(origin_dispute=hold)
    invoice_url = reverse("invoice_detail", args=[account.acct_no, invoice.invoice_no])
    client.force_login(supervisor)
    disputes = client.get(disputes_page(account)).content.decode()
    writeoffs = client.get(writeoffs_page(account)).content.decode()
    detail = client.get(invoice_url).content.decode()
    assert f'href="{invoice_url}#writeoff-{converted.pk}">write-off {converted.pk}</a>' in disputes
    assert f'href="{invoice_url}#dispute-{hold.pk}">from hold {hold.pk}</a>' in writeoffs
    # The invoice page holds both rows, each with the anchor the other links to.
    assert f'id="writeoff-{converted.pk}"' in detail and f'id="dispute-{hold.pk}"' in detail
    assert f'href="#dispute-{hold.pk}"' in detail and f'href="#writeoff-{converted.pk}"' in detail


def test_convert_popout_asks_for_a_reason_like_create_does(client, supervisor, account, hold):
    client.force_login(supervisor)
    popout = client.get(settle_url(account, hold, "convert"), **HTMX).content.decode()
    assert '<option value="" selected>Choose a reason</option>' in popout
    response = client.post(settle_url(account, hold, "convert"), {"comments": ""}, **HTMX)
    assert response.context["settle_form"].errors["reason_code"]
    hold.refresh_from_db()
    assert hold.is_open


def test_settle_and_reverse_popouts_leave_validation_to_the_app_not_the_browser(
    client, supervisor, account, hold, writeoff
):
    client.force_login(supervisor)
    settle = client.get(settle_url(account, hold, "convert"), **HTMX).content.decode()
    reverse_popout = client.get(reverse_url(account, writeoff), **HTMX).content.decode()
    assert re.search(r"<form [^>]*novalidate", settle)
    assert re.search(r"<form [^>]*novalidate", reverse_popout)


# --- release and re-age: the confirm pop-out names what moves -------------------------


def shown(day: datetime.date) -> str:
    from django.template.defaultfilters import date as date_filter

    return date_filter(day, "M j, Y")


def test_the_reage_popout_names_the_balance_that_moves_and_the_dates_from_and_to(
    client, supervisor, account, clerk_actor
):
    """Finding 5: a 0.01 hold re-ages all 5,000.00 of its invoice; the supervisor
    confirms it knowing so."""
    from billing.rules import today

    old = InvoiceFactory(
        account=account,
        invoice_no=20001,
        bill_date=today() - datetime.timedelta(days=160),
        due_date=today() - datetime.timedelta(days=130),
        aging_date=today() - datetime.timedelta(days=130),
        total_minor=500_000,
    )
    tiny = dispute_hold_create(
        invoice_id=old.pk, amount="0.01", comments="Tiny dispute", actor=clerk_actor
    )
    client.force_login(supervisor)

    html = client.get(settle_url(account, tiny, "release_reage"), **HTMX).content.decode()

    assert (
        f"the invoice's aging date moves from {shown(old.aging_date)} to {shown(today())}, "
        "for all of its balance of 5,000.00 USD</strong>, not only the held 0.01 USD"
    ) in html
    assert '<button type="submit" class="btn btn-primary">Release and re-age</button>' in html

    client.post(settle_url(account, tiny, "release_reage"), {}, **HTMX)

    old.refresh_from_db()
    assert old.aging_date == today()
    timeline = client.get(reverse("invoice_detail", args=[account.acct_no, 20001]))
    assert (
        f"Aging date moved from {shown(today() - datetime.timedelta(days=130))} to "
        f"{shown(today())} (re-aged), for all of its balance of 5,000.00 USD."
    ) in timeline.content.decode()


def test_the_reage_popout_of_a_hold_of_the_whole_balance_says_no_more(
    client, supervisor, account, invoice, clerk_actor
):
    whole = dispute_hold_create(
        invoice_id=invoice.pk, amount="", comments="All of it", actor=clerk_actor
    )
    client.force_login(supervisor)

    html = client.get(settle_url(account, whole, "release_reage"), **HTMX).content.decode()

    assert "for all of its balance of 120.00 USD</strong>. The balance stays due." in html
    assert "not only the held" not in html


def test_only_a_supervisor_is_offered_release_and_reage_and_a_clerk_is_refused(
    client, clerk, supervisor, account, invoice, clerk_actor
):
    """Re-aging moves the whole invoice's aging date: the worklist and the Disputes
    tab offer it to a supervisor only, and its pop-out is a 403 for a clerk, even on
    the clerk's own hold."""
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="1.00", comments="Disputed", actor=clerk_actor
    )
    reage = settle_url(account, hold, "release_reage")
    pages = (reverse("worklist_disputes"), disputes_page(account))

    client.force_login(clerk)
    for page in pages:
        assert reage not in client.get(page).content.decode()
    assert client.get(reage, **HTMX).status_code == 403
    assert client.post(reage, {}, **HTMX).status_code == 403
    hold.refresh_from_db()
    assert hold.is_open

    client.force_login(supervisor)
    for page in pages:
        assert reage in client.get(page).content.decode()


def test_the_reage_popout_refuses_to_move_an_aging_date_backwards(
    client, supervisor, account, clerk_actor
):
    """An invoice not yet due ages from its due date, after today: re-aging it to
    today would make it older."""
    from billing.rules import today

    not_due = InvoiceFactory(
        account=account,
        invoice_no=20002,
        bill_date=today() - datetime.timedelta(days=10),
        due_date=today() + datetime.timedelta(days=20),
        aging_date=today() + datetime.timedelta(days=20),
    )
    held = dispute_hold_create(
        invoice_id=not_due.pk, amount="5.00", comments="Disputed", actor=clerk_actor
    )
    client.force_login(supervisor)

    html = client.get(settle_url(account, held, "release_reage"), **HTMX).content.decode()

    assert "Invoice 20002 cannot be re-aged today" in html
    assert "never moves backwards" in html
    assert "Release the hold instead" in html
    assert 'type="submit"' not in html

    response = client.post(settle_url(account, held, "release_reage"), {}, **HTMX)

    assert response.status_code == 200
    assert "Release and re-age is not possible" in response.content.decode()
    held.refresh_from_db()
    assert held.is_open
    assert Invoice.objects.get(pk=not_due.pk).aging_date == today() + datetime.timedelta(days=20)


def test_a_clerk_cannot_open_the_reage_popout_or_reage(client, clerk, account, invoice, hold):
    aging_before = invoice.aging_date
    client.force_login(clerk)

    assert client.get(settle_url(account, hold, "release_reage"), **HTMX).status_code == 403
    assert client.post(settle_url(account, hold, "release_reage"), {}, **HTMX).status_code == 403

    assert Invoice.objects.get(pk=invoice.pk).aging_date == aging_before
    assert DisputeHold.objects.get(pk=hold.pk).is_open
