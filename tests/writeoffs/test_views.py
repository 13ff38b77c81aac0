"""The Write-Offs page and its picker, entry and confirm steps (seed 000)."""

from __future__ import annotations

import datetime
import json
import re
import uuid

import pytest
from django.urls import reverse

from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.models import Invoice
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.models import CreditNote, DisputeHold, WriteOff

HTMX = {"HTTP_HX_REQUEST": "true"}
HTMX_DRAWER = {**HTMX, "HTTP_HX_TARGET": "drawer-content"}


@pytest.fixture
def other_invoice(db):
    return InvoiceFactory(
        account=AccountFactory(acct_no=7007, name="Other Co"), invoice_no=70001, total_minor=5000
    )


def page_url(acct_no=5001, **query):
    url = reverse("writeoff_page", args=[acct_no])
    return f"{url}?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else url


def step_url(kind, step, acct_no=5001, invoice_no=None):
    args = [acct_no] if invoice_no is None else [acct_no, invoice_no]
    return reverse(f"{kind}_{step}", args=args)


WRITEOFF_INPUT = {
    "amount": "40.00",
    "reason_code": "2",
    "writeoff_date": "",
    "revenue_impacting": "on",
    "comments": "Billed twice for the same seat.",
}
DISPUTE_INPUT = {"amount": "25", "expire_hold_days": "", "comments": "Customer disputes usage."}


def writeoff_input(**changes):
    from billing.rules import today

    return {**WRITEOFF_INPUT, "writeoff_date": today().isoformat(), **changes}


def confirm_fields(response) -> dict[str, str]:
    """The hidden fields the confirm pop-out posts."""
    html = response.content.decode()
    return {
        name: value
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
        if name != "csrfmiddlewaretoken"
    }


def signed_in(client, user):
    client.force_login(user)
    return client


# --- the page -------------------------------------------------------------------


def test_page_renders_whole_page_and_htmx_gets_only_the_tabs(client, clerk, invoice):
    signed_in(client, clerk)
    full = client.get(page_url())
    partial = client.get(page_url(tab="disputes"), **HTMX)

    assert full.status_code == partial.status_code == 200
    assert b"<html" in full.content and b'aria-label="Account"' in full.content
    assert b"<html" not in partial.content
    assert partial.content.lstrip().startswith(b'<section id="writeoff-tabs"')
    assert re.search(r'id="tab-disputes"[^>]*aria-selected="true"', partial.content.decode())
    assert "HX-Request" in full["Vary"] and "HX-Request" in partial["Vary"]


def test_deep_link_to_disputes_tab_selects_it(client, clerk, invoice):
    response = signed_in(client, clerk).get(page_url(tab="disputes"))
    html = response.content.decode()
    assert re.search(r'id="tab-disputes"[^>]*aria-selected="true"', html)
    assert re.search(r'id="tab-writeoffs"[^>]*aria-selected="false"', html)
    assert "Create a Dispute Hold" in html and "Create a Write-off" not in html


def test_page_refuses_post_with_405(client, clerk, invoice):
    assert signed_in(client, clerk).post(page_url()).status_code == 405


def test_page_redirects_anonymous_to_sign_in(client, invoice):
    response = client.get(page_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_htmx_request_from_expired_session_gets_hx_redirect_not_a_login_fragment(client, invoice):
    response = client.get(step_url("writeoff", "picker"), **HTMX_DRAWER)
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("login"))
    assert response.content == b""


def test_page_without_view_permission_is_403(client, invoice):
    nobody = UserFactory(username="nobody")
    response = signed_in(client, nobody).get(page_url())
    assert response.status_code == 403
    assert b"Your role doesn" in response.content


def test_page_of_unknown_account_is_404(client, clerk):
    response = signed_in(client, clerk).get(page_url(acct_no=424242))
    assert response.status_code == 404
    assert b"Not found" in response.content


def test_viewer_sees_the_tables_without_create_buttons(client, viewer, invoice, clerk_actor):
    writeoff_create(
        invoice_id=invoice.pk, amount="10", reason_code=0, comments="x", actor=clerk_actor
    )
    signed_in(client, viewer)
    writeoffs = client.get(page_url()).content.decode()
    disputes = client.get(page_url(tab="disputes")).content.decode()
    assert "10.00" in writeoffs
    assert "Create a Write-off" not in writeoffs.split("</nav>", 2)[-1].split("No write-offs")[0]
    assert 'id="create-writeoff"' not in writeoffs
    assert 'id="create-dispute"' not in disputes


def test_clerk_sees_create_buttons(client, clerk, invoice):
    signed_in(client, clerk)
    assert 'id="create-writeoff"' in client.get(page_url()).content.decode()
    assert 'id="create-dispute"' in client.get(page_url(tab="disputes")).content.decode()


def test_empty_tables_say_how_to_create_the_first_entry(client, clerk, invoice):
    signed_in(client, clerk)
    assert b"No write-offs on this account yet." in client.get(page_url()).content
    assert b"No dispute holds on this account yet." in client.get(page_url(tab="disputes")).content


def test_writeoffs_are_newest_first_and_sort_by_amount(client, clerk, invoice, clerk_actor):
    for amount in ("5", "30", "12"):
        writeoff_create(
            invoice_id=invoice.pk, amount=amount, reason_code=0, comments="x", actor=clerk_actor
        )
    signed_in(client, clerk)

    def amounts(response):
        return re.findall(r'class="amount">([\d.,]+)<', response.content.decode())

    assert amounts(client.get(page_url())) == ["12.00", "30.00", "5.00"]
    assert amounts(client.get(page_url(sort="-amount"))) == ["30.00", "12.00", "5.00"]
    assert amounts(client.get(page_url(sort="amount"))) == ["5.00", "12.00", "30.00"]
    assert amounts(client.get(page_url(sort="nonsense"))) == ["12.00", "30.00", "5.00"]


def test_amounts_are_right_aligned_with_the_currency_named_once_in_the_header(
    client, clerk, account, clerk_actor
):
    invoice = InvoiceFactory(account=account, total_minor=5000_00)
    writeoff_create(
        invoice_id=invoice.pk, amount="1234.5", reason_code=0, comments="x", actor=clerk_actor
    )
    html = signed_in(client, clerk).get(page_url()).content.decode()
    assert '<td data-label="Amount" class="amount">1,234.50</td>' in html
    assert re.search(r'<th scope="col" class="text-end"[^>]*>\s*<a[^>]*>Amount \(USD\)', html)
    assert '<span class="currency">' not in html


def test_disputes_table_pages_through_entries(client, clerk, account, clerk_actor):
    invoice = InvoiceFactory(account=account, total_minor=100_00)
    for _ in range(26):
        dispute_hold_create(invoice_id=invoice.pk, amount="1", comments="x", actor=clerk_actor)
    signed_in(client, clerk)
    first = client.get(page_url(tab="disputes")).content.decode()
    second = client.get(page_url(tab="disputes", page=2)).content.decode()
    assert first.count("<tr data-entry-id=") == 25 and "Next" in first
    assert second.count("<tr data-entry-id=") == 1


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize("tab", ["writeoffs", "disputes"])
def test_page_query_count_does_not_grow_with_rows(
    client, clerk, account, clerk_actor, django_assert_num_queries, rows, tab
):
    for _ in range(rows):
        invoice = InvoiceFactory(account=account)
        if tab == "writeoffs":
            writeoff_create(
                invoice_id=invoice.pk, amount="1", reason_code=0, comments="x", actor=clerk_actor
            )
        else:
            dispute_hold_create(invoice_id=invoice.pk, amount="1", comments="x", actor=clerk_actor)
    signed_in(client, clerk)
    # session, user, account, user perms, group perms, one page of rows with their invoices
    # Six, and one for the total of the active rows (issue 15).
    with django_assert_num_queries(7):
        response = client.get(page_url(tab=tab))
    assert response.content.decode().count("<tr data-entry-id=") == min(rows, 25)


# --- the invoice picker ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["writeoff", "dispute"])
def test_picker_renders_page_and_htmx_gets_the_drawer(client, clerk, invoice, kind):
    signed_in(client, clerk)
    full = client.get(step_url(kind, "picker"))
    partial = client.get(step_url(kind, "picker"), **HTMX_DRAWER)
    assert b"<html" in full.content and b"<html" not in partial.content
    assert b'id="drawer-title"' in partial.content
    entry = step_url(kind, "entry", invoice_no=10023)
    assert f'href="{entry}" hx-get="{entry}"'.encode() in partial.content
    assert "HX-Request" in partial["Vary"]


def test_picker_search_inside_the_drawer_returns_only_the_results(client, clerk, account):
    InvoiceFactory(account=account, invoice_no=10023)
    InvoiceFactory(account=account, invoice_no=20001)
    response = signed_in(client, clerk).get(
        step_url("writeoff", "picker") + "?q=1002", **{**HTMX, "HTTP_HX_TARGET": "picker-results"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="picker-results">')
    assert ">10023</a>" in html and ">20001</a>" not in html


def test_picker_lists_only_sent_invoices_with_an_available_amount(
    client, clerk, account, clerk_actor
):
    InvoiceFactory(account=account, invoice_no=1, status=Invoice.Status.DRAFT)
    InvoiceFactory(account=account, invoice_no=2, status=Invoice.Status.VOID)
    held = InvoiceFactory(account=account, invoice_no=3, total_minor=1000)
    dispute_hold_create(invoice_id=held.pk, amount="", comments="all held", actor=clerk_actor)
    InvoiceFactory(account=account, invoice_no=4)
    InvoiceFactory(account=AccountFactory(), invoice_no=5)
    html = signed_in(client, clerk).get(step_url("writeoff", "picker")).content.decode()
    listed = re.findall(r'hx-target="#drawer-content" hx-swap="innerHTML">(\d+)</a>', html)
    assert listed == ["4"]


def test_picker_search_matches_invoice_number_prefixes(client, clerk, account):
    for number in (7, 70, 712, 8070):
        InvoiceFactory(account=account, invoice_no=number)
    signed_in(client, clerk)
    html = client.get(step_url("writeoff", "picker") + "?q=7").content.decode()
    listed = sorted(int(n) for n in re.findall(r'innerHTML">(\d+)</a>', html))
    assert listed == [7, 70, 712]
    assert (
        b"No invoice starting with" in client.get(step_url("writeoff", "picker") + "?q=abc").content
    )


def test_picker_pages_through_invoices_inside_the_drawer(client, clerk, account):
    for _ in range(11):
        InvoiceFactory(account=account)
    signed_in(client, clerk)
    headers = {**HTMX, "HTTP_HX_TARGET": "picker-results"}
    first = client.get(step_url("writeoff", "picker"), **headers).content.decode()
    second = client.get(step_url("writeoff", "picker") + "?page=2", **headers).content.decode()
    assert first.count('innerHTML">1') == 10 and second.count('innerHTML">1') == 1
    assert 'hx-target="#picker-results"' in first and 'hx-push-url="false"' in first


def test_picker_refuses_post_with_405(client, clerk, invoice):
    assert signed_in(client, clerk).post(step_url("writeoff", "picker")).status_code == 405


def test_picker_redirects_anonymous_to_sign_in(client, invoice):
    response = client.get(step_url("dispute", "picker"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("kind", ["writeoff", "dispute"])
def test_viewer_opening_the_picker_gets_403_message_in_the_drawer(client, viewer, invoice, kind):
    response = signed_in(client, viewer).get(step_url(kind, "picker"), **HTMX_DRAWER)
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#drawer-content"
    assert b"<html" not in response.content
    assert b"Your role doesn" in response.content
    assert "HX-Request" in response["Vary"]


def test_picker_of_unknown_account_is_404(client, clerk):
    assert signed_in(client, clerk).get(step_url("writeoff", "picker", 999)).status_code == 404


@pytest.mark.parametrize("rows", [1, 50])
def test_picker_query_count_does_not_grow_with_rows(
    client, clerk, account, django_assert_num_queries, rows
):
    for _ in range(rows):
        InvoiceFactory(account=account)
    signed_in(client, clerk)
    # session, user, user perms, group perms, account, one page of invoices, and the
    # page's "In dispute" flags
    with django_assert_num_queries(7):
        client.get(step_url("writeoff", "picker"), **HTMX_DRAWER)


# --- the entry drawer -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["writeoff", "dispute"])
def test_entry_renders_page_and_htmx_gets_the_drawer(client, clerk, invoice, kind):
    signed_in(client, clerk)
    full = client.get(step_url(kind, "entry", invoice_no=10023))
    partial = client.get(step_url(kind, "entry", invoice_no=10023), **HTMX_DRAWER)
    assert b"<html" in full.content and b"<html" not in partial.content
    label = "Create Write-Off" if kind == "writeoff" else "Create Dispute Hold"
    assert f'<button type="submit" class="btn btn-primary">{label}</button>'.encode() in (
        partial.content
    )
    for figure in (b"Total", b"Paid", b"Written off", b"Held", b"Balance due", b"Available"):
        assert figure in partial.content
    assert "HX-Request" in partial["Vary"]


def test_entry_refuses_put_with_405(client, clerk, invoice):
    response = signed_in(client, clerk).put(step_url("writeoff", "entry", invoice_no=10023))
    assert response.status_code == 405


def test_entry_redirects_anonymous_to_sign_in(client, invoice):
    response = client.post(step_url("writeoff", "entry", invoice_no=10023), writeoff_input())
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("kind", ["writeoff", "dispute"])
def test_entry_of_another_accounts_invoice_is_404(client, clerk, invoice, other_invoice, kind):
    signed_in(client, clerk)
    url = step_url(kind, "entry", 5001, other_invoice.invoice_no)
    assert client.get(url).status_code == 404
    response = client.post(url, writeoff_input(), **HTMX)
    assert response.status_code == 404
    assert response["HX-Retarget"] == "#drawer-content"


def test_forged_entry_post_from_a_viewer_is_403_and_writes_nothing(client, viewer, invoice):
    response = signed_in(client, viewer).post(
        step_url("writeoff", "entry", invoice_no=10023), writeoff_input(), **HTMX
    )
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#drawer-content"
    assert b"Your role doesn" in response.content


def test_valid_entry_shows_confirm_popout_with_frozen_full_amount_and_a_token(
    client, clerk, invoice
):
    response = signed_in(client, clerk).post(
        step_url("writeoff", "entry", invoice_no=10023), writeoff_input(amount="120.00"), **HTMX
    )
    assert response.status_code == 200
    assert "HX-Retarget" not in response
    assert b'id="popout-title"' in response.content
    fields = confirm_fields(response)
    assert fields["amount"] == "120.00"
    assert uuid.UUID(fields["idempotency_token"])
    assert WriteOff.objects.count() == 0


def test_amount_over_balance_is_refused_next_to_the_field_naming_the_balance_due(
    client, clerk, invoice
):
    response = signed_in(client, clerk).post(
        step_url("writeoff", "entry", invoice_no=10023), writeoff_input(amount="500"), **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#drawer-content"
    assert re.search(
        r'id="id_amount_error".*more than the balance due of 120\.00 on invoice 10023', html, re.S
    )
    assert 'aria-invalid="true"' in html


def test_dispute_over_available_names_the_held_part(client, clerk, invoice, clerk_actor):
    dispute_hold_create(invoice_id=invoice.pk, amount="100", comments="x", actor=clerk_actor)
    response = signed_in(client, clerk).post(
        step_url("dispute", "entry", invoice_no=10023), {**DISPUTE_INPUT, "amount": "30"}, **HTMX
    )
    assert (
        b"more than the 20.00 available on invoice 10023 "
        b"(balance due 120.00, of which 100.00 on hold)" in response.content
    )


def test_out_of_range_expire_hold_days_is_refused_next_to_its_field_in_plain_words(
    client, clerk, invoice
):
    response = signed_in(client, clerk).post(
        step_url("dispute", "entry", invoice_no=10023),
        {**DISPUTE_INPUT, "expire_hold_days": "1000"},
        **HTMX,
    )
    html = response.content.decode()
    assert re.search(
        r'id="id_expire_hold_days_error".*Enter a whole number of days from 2 to 90, '
        r"or leave it empty for the default of 30 days\.",
        html,
        re.S,
    )
    # The API's seed-001 wording stays the API's.
    assert "Expire_Hold_Days" not in html


def test_not_revenue_impacting_without_expense_code_is_refused_at_the_code(client, clerk, invoice):
    data = writeoff_input()
    del data["revenue_impacting"]
    response = signed_in(client, clerk).post(
        step_url("writeoff", "entry", invoice_no=10023), data, **HTMX
    )
    assert re.search(
        r'id="id_accounting_code_error".*expense accounting code', response.content.decode(), re.S
    )


def test_entry_get_keeps_input_from_the_no_javascript_cancel_link(client, clerk, invoice):
    url = step_url("writeoff", "entry", invoice_no=10023)
    html = signed_in(client, clerk).get(url + "?amount=12.50&reason_code=3&comments=Kept").content
    html = html.decode()
    assert 'value="12.50"' in html
    assert '<option value="3" selected>' in html
    assert re.search(r">\s*Kept</textarea>", html)
    assert "is-invalid" not in html


# --- the confirm pop-out ------------------------------------------------------------


def confirm(client, kind="writeoff", data=None, **headers):
    entry = client.post(
        step_url(kind, "entry", invoice_no=10023),
        data or (writeoff_input() if kind == "writeoff" else DISPUTE_INPUT),
        **HTMX,
    )
    fields = confirm_fields(entry)
    return fields, client.post(step_url(kind, "confirm", invoice_no=10023), fields, **headers)


def test_confirm_with_htmx_creates_and_answers_with_events(client, clerk, invoice):
    signed_in(client, clerk)
    _, response = confirm(client, **HTMX)
    writeoff = WriteOff.objects.get()
    assert response.status_code == 204
    events = json.loads(response["HX-Trigger"])
    assert events["ledgerChanged"] == {"kind": "writeoff", "id": writeoff.pk}
    assert "closeOverlays" in events
    assert events["showMessage"]["text"] == (
        f"Write-off {writeoff.number} created on invoice 10023 for 40.00 USD."
    )
    assert writeoff.amount_minor == 4000 and writeoff.reason_code == 2
    assert writeoff.source == "ui" and writeoff.created_by == clerk


def test_confirm_without_htmx_redirects_to_the_table_with_a_message(client, clerk, invoice):
    signed_in(client, clerk)
    _, response = confirm(client, kind="dispute")
    hold = DisputeHold.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page_url(tab="disputes", highlight=hold.pk)
    page = client.get(response["Location"]).content.decode()
    assert f"Dispute hold {hold.number} created on invoice 10023 for 25.00 USD." in page
    assert f'<tr data-entry-id="{hold.pk}" class="row-new" data-entry-kind="dispute">' in page


def test_confirming_twice_with_one_token_creates_one_writeoff(client, clerk, invoice):
    signed_in(client, clerk)
    fields, first = confirm(client, **HTMX)
    second = client.post(step_url("writeoff", "confirm", invoice_no=10023), fields, **HTMX)
    assert first.status_code == second.status_code == 204
    assert WriteOff.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.written_off_minor == 4000


def test_confirm_without_a_token_creates_nothing(client, clerk, invoice):
    signed_in(client, clerk)
    fields, _ = confirm(client, **HTMX)
    # The credit note protects its write-off: both go, as if never made.
    CreditNote.objects.all().delete()
    WriteOff.objects.all().delete()
    del fields["idempotency_token"]
    response = client.post(step_url("writeoff", "confirm", invoice_no=10023), fields, **HTMX)
    assert response.status_code == 200 and b"confirmation expired" in response.content
    assert WriteOff.objects.count() == 0


def test_confirm_after_the_balance_changed_returns_to_the_drawer_with_the_error(
    client, clerk, invoice, clerk_actor
):
    signed_in(client, clerk)
    entry = client.post(
        step_url("writeoff", "entry", invoice_no=10023), writeoff_input(amount="120.00"), **HTMX
    )
    writeoff_create(
        invoice_id=invoice.pk, amount="1", reason_code=0, comments="meanwhile", actor=clerk_actor
    )
    response = client.post(
        step_url("writeoff", "confirm", invoice_no=10023), confirm_fields(entry), **HTMX
    )
    assert response["HX-Retarget"] == "#drawer-content"
    assert "closePopout" in response["HX-Trigger"]
    assert b"is more than the balance due of 119.00" in response.content
    assert WriteOff.objects.count() == 1


def test_confirm_refuses_get_with_405(client, clerk, invoice):
    url = step_url("writeoff", "confirm", invoice_no=10023)
    assert signed_in(client, clerk).get(url).status_code == 405


def test_confirm_redirects_anonymous_to_sign_in(client, invoice):
    response = client.post(step_url("dispute", "confirm", invoice_no=10023), DISPUTE_INPUT)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_forged_confirm_from_a_viewer_is_403_in_the_drawer_and_writes_nothing(
    client, viewer, invoice
):
    data = {**DISPUTE_INPUT, "idempotency_token": str(uuid.uuid4())}
    response = signed_in(client, viewer).post(
        step_url("dispute", "confirm", invoice_no=10023), data, **HTMX
    )
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#drawer-content"
    assert "closePopout" in response["HX-Trigger"]
    assert DisputeHold.objects.count() == 0


def test_confirm_on_another_accounts_invoice_is_404(client, clerk, invoice, other_invoice):
    data = {**DISPUTE_INPUT, "idempotency_token": str(uuid.uuid4())}
    response = signed_in(client, clerk).post(
        step_url("dispute", "confirm", 5001, other_invoice.invoice_no), data
    )
    assert response.status_code == 404
    assert DisputeHold.objects.count() == 0


# --- issue 15: every error at once, no silent defaults, the balance after ------------


def test_one_submit_shows_every_field_error_and_service_refusal_with_a_linked_summary(
    client, clerk, invoice, expense_code
):
    from billing.rules import today

    tomorrow = (today() + datetime.timedelta(days=1)).isoformat()
    response = signed_in(client, clerk).post(
        step_url("writeoff", "entry", invoice_no=10023),
        {
            "amount": "",
            "reason_code": "2",
            "writeoff_date": tomorrow,
            # Not revenue-impacting, and no expense code chosen.
            "accounting_code": "",
            "comments": "",
        },
        **HTMX,
    )
    html = response.content.decode()
    assert response["HX-Retarget"] == "#drawer-content"
    for field, message in [
        ("amount", "Enter an amount, or select Full balance."),
        ("writeoff_date", "The write-off date cannot be in the future."),
        ("accounting_code", "Choose an active expense accounting code"),
        ("comments", "This field is required."),
    ]:
        assert re.search(rf'id="id_{field}_error".*{re.escape(message)}', html, re.S), field
        assert f'href="#id_{field}" data-focus-field="id_{field}"' in html, field
    summary = html[html.index("error-summary") : html.index("</ul>")]
    assert summary.count("<li>") == 4
    # The summary comes first in the drawer, before any field.
    assert html.index("error-summary") < html.index('id="id_amount"')
    assert WriteOff.objects.count() == 0


def test_a_field_the_form_refused_shows_only_the_forms_message(client, clerk, invoice):
    response = signed_in(client, clerk).post(
        step_url("writeoff", "entry", invoice_no=10023),
        writeoff_input(reason_code="", comments=""),
        **HTMX,
    )
    html = response.content.decode()
    assert "This field is required." in html  # the reason code, by the form
    assert "Invalid reason code" not in html  # not repeated by the service
    # The comments too, by the service, in the same words.
    assert re.search(r'id="id_comments_error".*This field is required\.', html, re.S)


def test_dispute_entry_shows_comments_and_days_refusals_together(client, clerk, invoice):
    response = signed_in(client, clerk).post(
        step_url("dispute", "entry", invoice_no=10023),
        {"amount": "500", "expire_hold_days": "200", "comments": ""},
        **HTMX,
    )
    html = response.content.decode()
    for field in ("amount", "expire_hold_days", "comments"):
        assert f'id="id_{field}_error"' in html, field
    assert "more than the balance due of 120.00 on invoice 10023" in html


@pytest.mark.parametrize("kind", ["writeoff", "dispute"])
def test_empty_amount_in_the_ui_is_refused_not_taken_as_the_full_balance(
    client, clerk, invoice, kind
):
    data = writeoff_input(amount="") if kind == "writeoff" else {**DISPUTE_INPUT, "amount": ""}
    response = signed_in(client, clerk).post(
        step_url(kind, "entry", invoice_no=10023), data, **HTMX
    )
    html = response.content.decode()
    assert response["HX-Retarget"] == "#drawer-content"
    assert 'id="popout-title"' not in html
    assert re.search(r'id="id_amount_error".*Enter an amount, or select Full balance\.', html, re.S)


@pytest.mark.parametrize("kind", ["writeoff", "dispute"])
def test_comments_and_amount_are_marked_required_in_the_drawer(client, clerk, invoice, kind):
    html = signed_in(client, clerk).get(step_url(kind, "entry", invoice_no=10023), **HTMX).content
    html = html.decode()
    assert re.search(r'<textarea name="comments"[^>]*required', html)
    assert re.search(r'for="id_comments"[^>]*>\s*Comments<span class="asteriskField">\*', html)
    assert re.search(r'<input type="text" name="amount"[^>]*required', html)


@pytest.mark.parametrize(
    ("kind", "data", "due_after", "available_after"),
    [
        ("writeoff", writeoff_input(amount="45.50"), "74.50", "74.50"),
        ("dispute", {**DISPUTE_INPUT, "amount": "20"}, "120.00", "100.00"),
    ],
)
def test_entry_drawer_and_confirm_show_the_balance_after_the_entry(
    client, clerk, invoice, kind, data, due_after, available_after
):
    signed_in(client, clerk)
    drawer = client.get(step_url(kind, "entry", invoice_no=10023), **HTMX).content.decode()
    # The live line (static/js/remaining-balance.js) is wired to the amount.
    assert 'data-remaining-output="entry-remaining"' in drawer
    assert f'data-remaining-kind="{kind}"' in drawer
    assert 'id="entry-remaining"' in drawer and 'aria-live="polite"' in drawer
    confirm_html = client.post(step_url(kind, "entry", invoice_no=10023), data, **HTMX)
    html = confirm_html.content.decode()
    assert re.search(rf"Balance due after</dt><dd[^>]*>{re.escape(due_after)} USD", html)
    assert re.search(rf"Available after</dt><dd[^>]*>{re.escape(available_after)} USD", html)


def test_entry_drawer_has_a_sticky_footer_with_cancel_then_submit(client, clerk, invoice):
    html = signed_in(client, clerk).get(step_url("writeoff", "entry", invoice_no=10023), **HTMX)
    footer = html.content.decode().split('<div class="drawer-footer">')[1]
    assert footer.index("Cancel") < footer.index("Create Write-Off")


# --- amounts as typed (SPEC Part 3: money input) -------------------------------------


@pytest.mark.parametrize("typed", ["1,50", "2,5", "1.000,00", "1.2.3"])
@pytest.mark.parametrize("kind", ["writeoff", "dispute"])
def test_a_decimal_comma_is_refused_next_to_the_amount_and_nothing_is_offered(
    client, clerk, invoice, kind, typed
):
    if kind == "writeoff":
        data = writeoff_input(amount=typed)
    else:
        data = {**DISPUTE_INPUT, "amount": typed}
    response = signed_in(client, clerk).post(
        step_url(kind, "entry", invoice_no=10023), data, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#drawer-content"
    assert re.search(r'id="id_amount_error".*Use a point for decimals, e\.g\. 1\.50', html, re.S)
    assert 'id="popout-title"' not in html
    # The drawer keeps what was typed, to correct.
    assert f'value="{typed}"' in html
    assert not WriteOff.objects.exists() and not DisputeHold.objects.exists()


def test_a_grouped_english_amount_is_offered_exactly_and_created_exactly(client, clerk):
    InvoiceFactory(account=AccountFactory(acct_no=5002), invoice_no=10024, total_minor=500000)
    signed_in(client, clerk)
    entry = client.post(
        step_url("writeoff", "entry", acct_no=5002, invoice_no=10024),
        writeoff_input(amount="1,234.56"),
        **HTMX,
    )
    assert re.search(r"1,234\.56(\s|<[^>]*>)*USD", entry.content.decode())
    fields = confirm_fields(entry)
    assert fields["amount"] == "1234.56"
    response = client.post(step_url("writeoff", "confirm", acct_no=5002, invoice_no=10024), fields)
    assert response.status_code == 302
    assert WriteOff.objects.get().amount_minor == 123456


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("40.001", "USD amounts have at most 2 decimal places."),
        ("4e1", "without an exponent"),
        ("0x28", "not hexadecimal"),
        ("-40", "without a sign"),
        ("\u0664\u0660", "with the digits 0 to 9"),
        ("0", "greater than zero"),
    ],
)
def test_each_refused_amount_says_why_next_to_the_field(client, clerk, invoice, typed, message):
    response = signed_in(client, clerk).post(
        step_url("writeoff", "entry", invoice_no=10023), writeoff_input(amount=typed), **HTMX
    )
    html = response.content.decode()
    assert re.search(rf'id="id_amount_error".*{re.escape(message)}', html, re.S)
    assert not WriteOff.objects.exists()


def test_a_thousand_yen_typed_with_a_point_is_refused_in_english(client, clerk):
    InvoiceFactory(
        account=AccountFactory(acct_no=5003, currency="JPY"), invoice_no=10025, total_minor=5000
    )
    signed_in(client, clerk)
    url = step_url("writeoff", "entry", acct_no=5003, invoice_no=10025)

    refused = client.post(url, writeoff_input(amount="1.000"), **HTMX)
    accepted = client.post(url, writeoff_input(amount="1,000"), **HTMX)

    assert re.search(
        r'id="id_amount_error".*JPY amounts have no decimal places', refused.content.decode(), re.S
    )
    assert confirm_fields(accepted)["amount"] == "1000"


def test_a_forged_confirm_with_a_decimal_comma_creates_nothing(client, clerk, invoice):
    entry = signed_in(client, clerk).post(
        step_url("writeoff", "entry", invoice_no=10023), writeoff_input(), **HTMX
    )
    fields = confirm_fields(entry)
    response = client.post(
        step_url("writeoff", "confirm", invoice_no=10023), {**fields, "amount": "1,50"}, **HTMX
    )
    assert b"Use a point for decimals, e.g. 1.50" in response.content
    assert not WriteOff.objects.exists()


def test_the_amount_input_carries_how_the_server_reads_it(client, clerk, invoice):
    html = signed_in(client, clerk).get(step_url("writeoff", "entry", invoice_no=10023)).content
    html = html.decode()
    for attribute in (
        'data-amount-decimal="."',
        'data-amount-group=","',
        'data-amount-grouping="3"',
        'data-amount-places="2"',
        'data-amount-max="999999999999"',
    ):
        assert attribute in html


# --- the review pop-out says when a write-off goes for approval ---------------------


def test_review_popout_over_the_limit_says_it_goes_for_approval_naming_the_limit(client, clerk):
    InvoiceFactory(account=AccountFactory(acct_no=5002), invoice_no=10024, total_minor=90000)
    entry = signed_in(client, clerk).post(
        step_url("writeoff", "entry", acct_no=5002, invoice_no=10024),
        writeoff_input(amount="600.00"),
        **HTMX,
    )
    text = re.sub(r"\s+", " ", entry.content.decode())
    assert "This is over your limit of 500.00 USD: it will be sent for approval." in text
    assert WriteOff.objects.count() == 0


def test_review_popout_counts_the_requesters_earlier_writeoffs_on_the_invoice(
    client, clerk, clerk_actor
):
    invoice = InvoiceFactory(
        account=AccountFactory(acct_no=5002), invoice_no=10024, total_minor=90000
    )
    writeoff_create(
        invoice_id=invoice.pk,
        amount="450.00",
        reason_code=2,
        comments="First part.",
        actor=clerk_actor,
    )
    entry = signed_in(client, clerk).post(
        step_url("writeoff", "entry", acct_no=5002, invoice_no=10024),
        writeoff_input(amount="100.00"),
        **HTMX,
    )
    text = re.sub(r"\s+", " ", entry.content.decode())
    assert "over your limit of 500.00 USD: it will be sent for approval" in text
    assert "it comes to 550.00 USD" in text


def test_review_popout_within_the_limit_says_nothing_about_approval(client, clerk, invoice):
    entry = signed_in(client, clerk).post(
        step_url("writeoff", "entry", invoice_no=10023), writeoff_input(amount="40.00"), **HTMX
    )
    assert b"sent for approval" not in entry.content
