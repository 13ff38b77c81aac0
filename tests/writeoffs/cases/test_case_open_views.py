"""writeoffs/web/case_open.py: opening a case from an account (picker, entry, confirm)."""

import pytest
from django.urls import reverse

from billing.factories import AccountFactory, InvoiceFactory
from writeoffs.models import Case, DisputeHold

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def second_invoice(account):
    return InvoiceFactory(account=account, invoice_no=10024, total_minor=8000)


def urls(account):
    return {
        step: reverse(f"case_open_{step}", args=[account.acct_no])
        for step in ("picker", "entry", "confirm")
    }


def test_picker_lists_invoices_with_checkboxes_as_a_drawer_or_a_page(
    client, clerk, account, invoice, second_invoice
):
    client.force_login(clerk)
    drawer = client.get(urls(account)["picker"], **HTMX)
    page = client.get(urls(account)["picker"])
    assert b"<html" not in drawer.content and b"<html" in page.content
    assert b'name="invoice" value="10023"' in drawer.content
    assert b'name="invoice" value="10024"' in drawer.content
    assert "HX-Request" in drawer["Vary"]


def test_entry_shows_an_amount_per_chosen_invoice(client, clerk, account, invoice, second_invoice):
    client.force_login(clerk)
    response = client.get(urls(account)["entry"] + "?invoice=10023&invoice=10024", **HTMX)
    content = response.content.decode()
    assert 'name="amount_10023"' in content and 'name="amount_10024"' in content


def test_entry_then_confirm_opens_a_case_with_a_hold_per_invoice(
    client, clerk, account, invoice, second_invoice
):
    client.force_login(clerk)
    data = {
        "invoice": ["10023", "10024"],
        "amount_10023": "50.00",
        "amount_10024": "",
        "category": "pricing",
        "contact_name": "Dana Buyer",
        "contact_email": "dana@example.com",
        "comments": "Billed at the old price",
    }
    confirm = client.post(urls(account)["entry"], data, **HTMX)
    assert confirm.status_code == 200
    content = confirm.content.decode()
    assert "Review: Open a Case" in content
    # The empty amount is frozen as the whole available amount.
    assert 'name="amount_10024" value="80.00"' in content
    assert not Case.objects.filter(account=account).exists()
    token = content.split('name="idempotency_token" value="')[1].split('"')[0]
    frozen = {**data, "amount_10024": "80.00", "idempotency_token": token}
    done = client.post(urls(account)["confirm"], frozen, **HTMX)
    case = Case.objects.get(account=account)
    assert done["HX-Redirect"] == reverse("case_detail", args=[case.number])
    holds = {h.invoice.invoice_no: h.amount_minor for h in case.holds.select_related("invoice")}
    assert holds == {10023: 5000, 10024: 8000}
    assert case.contact_email == "dana@example.com"
    # A double click sends the same token again: the same case, nothing new.
    client.post(urls(account)["confirm"], frozen, **HTMX)
    assert Case.objects.filter(account=account).count() == 1


def test_an_amount_above_available_is_refused_next_to_that_invoice(
    client, clerk, account, invoice, second_invoice
):
    client.force_login(clerk)
    data = {
        "invoice": ["10023", "10024"],
        "amount_10023": "10.00",
        "amount_10024": "90.00",
        "category": "pricing",
        "idempotency_token": "a" * 32,
    }
    response = client.post(urls(account)["confirm"], data, **HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#drawer-content"
    content = response.content.decode()
    assert 'href="#id_amount_10024"' in content
    assert "balance due 80.00" in content
    assert not DisputeHold.objects.filter(account=account).exists()


def test_entry_without_a_category_asks_for_one(client, clerk, account, invoice):
    client.force_login(clerk)
    response = client.post(urls(account)["entry"], {"invoice": "10023"}, **HTMX)
    assert b"Nothing was saved" in response.content
    assert b'href="#id_category"' in response.content


def test_another_accounts_invoice_cannot_be_chosen(client, clerk, account, invoice):
    other = InvoiceFactory(account=AccountFactory(acct_no=7008), invoice_no=70008)
    client.force_login(clerk)
    response = client.post(
        urls(account)["entry"], {"invoice": str(other.invoice_no), "category": "pricing"}, **HTMX
    )
    assert b"Choose at least one invoice" in response.content


def test_viewer_may_not_open_a_case_and_confirm_is_post_only(client, viewer, clerk, account):
    client.force_login(viewer)
    assert client.get(urls(account)["picker"]).status_code == 403
    client.force_login(clerk)
    assert client.get(urls(account)["confirm"]).status_code == 405
    assert client.get(reverse("case_open_picker", args=[987654])).status_code == 404


def test_disputes_tab_offers_open_a_case_and_links_each_hold_to_its_case(
    client, clerk, account, invoice
):
    from billing.actors import Actor
    from writeoffs.cases.open import CaseHold, case_open

    case = case_open(
        account_id=account.pk,
        category="quality",
        holds=[CaseHold(invoice_no=invoice.invoice_no, amount="5.00")],
        actor=Actor.for_user(clerk),
    )
    client.force_login(clerk)
    content = client.get(
        reverse("writeoff_page", args=[account.acct_no]) + "?tab=disputes"
    ).content.decode()
    assert ">Open a Case</a>" in content
    assert f'href="{reverse("case_detail", args=[case.number])}">Case {case.number}</a>' in content


def test_invoices_in_an_open_case_are_flagged_in_dispute_where_invoices_are_listed(
    client, clerk, account, invoice, second_invoice
):
    from billing.actors import Actor
    from writeoffs.cases.open import CaseHold, case_open

    case_open(
        account_id=account.pk,
        category="quality",
        holds=[CaseHold(invoice_no=invoice.invoice_no, amount="5.00")],
        actor=Actor.for_user(clerk),
    )
    client.force_login(clerk)
    badge = '<span class="badge text-bg-info">In dispute</span>'
    listing = client.get(reverse("invoice_list", args=[account.acct_no])).content.decode()
    assert listing.count(badge) == 1
    detail = client.get(reverse("invoice_detail", args=[account.acct_no, 10023])).content.decode()
    assert badge in detail
    other = client.get(reverse("invoice_detail", args=[account.acct_no, 10024])).content.decode()
    assert badge not in other
    picker = client.get(urls(account)["picker"], **HTMX).content.decode()
    assert picker.count(badge) == 1
    hold_picker = client.get(reverse("dispute_picker", args=[account.acct_no])).content.decode()
    assert hold_picker.count(badge) == 1
