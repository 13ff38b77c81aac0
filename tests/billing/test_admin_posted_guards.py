"""What is posted stays as it was posted: once an account has an invoice its currency
is fixed, and once a code has journal lines its kind is. Refused in the model's
validation, which admin (and any model form) goes through, with the reason next to
the field; the ledger check would not notice either change."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing.factories import AccountFactory, AccountingCodeFactory
from billing.models import Account, AccountingCode, JournalLine

pytestmark = pytest.mark.django_db


def account_form(account: Account, **changes) -> dict:
    return {
        "acct_no": account.acct_no,
        "client_acct_id": account.client_acct_id or "",
        "userid": account.userid or "",
        "name": account.name,
        "email": account.email,
        "currency": account.currency,
        "status": account.status,
        **changes,
    }


def code_form(code: AccountingCode, **changes) -> dict:
    return {
        "code": code.code,
        "name": code.name,
        "kind": code.kind,
        "active": "on" if code.active else "",
        **changes,
    }


def change_url(obj) -> str:
    return reverse(f"admin:billing_{obj._meta.model_name}_change", args=[obj.pk])


def test_an_accounts_currency_cannot_change_once_it_has_an_invoice(admin_client, invoice):
    account = invoice.account

    response = admin_client.post(change_url(account), account_form(account, currency="EUR"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["currency"] == [
        "The currency cannot change from USD to EUR: this account has invoices, and they are "
        "posted in USD. Open another account for EUR."
    ]
    account.refresh_from_db()
    assert account.currency == "USD"


def test_an_account_without_invoices_may_change_its_currency(admin_client):
    account = AccountFactory(acct_no=7001, currency="USD")

    response = admin_client.post(change_url(account), account_form(account, currency="EUR"))

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.currency == "EUR"


def test_other_fields_of_an_account_with_invoices_still_change(admin_client, invoice):
    account = invoice.account

    response = admin_client.post(change_url(account), account_form(account, name="Acme Ltd"))

    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.currency) == ("Acme Ltd", "USD")


def test_a_codes_kind_cannot_change_once_lines_are_posted_to_it(admin_client, invoice):
    code = invoice.revenue_code
    assert JournalLine.objects.filter(accounting_code=code).exists()

    response = admin_client.post(change_url(code), code_form(code, kind="expense"))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["kind"] == [
        "The kind cannot change from revenue to expense: journal lines are posted to this "
        "code. Make a new code of that kind and deactivate this one."
    ]
    code.refresh_from_db()
    assert code.kind == AccountingCode.Kind.REVENUE


def test_a_code_with_nothing_posted_may_change_its_kind_and_a_posted_one_its_name(
    admin_client, invoice
):
    unused = AccountingCodeFactory(code="4999", name="Spare", kind=AccountingCode.Kind.REVENUE)
    posted = invoice.revenue_code

    first = admin_client.post(change_url(unused), code_form(unused, kind="expense"))
    second = admin_client.post(change_url(posted), code_form(posted, name="Renamed revenue"))

    assert (first.status_code, second.status_code) == (302, 302)
    unused.refresh_from_db()
    posted.refresh_from_db()
    assert unused.kind == AccountingCode.Kind.EXPENSE
    assert (posted.name, posted.kind) == ("Renamed revenue", AccountingCode.Kind.REVENUE)


def test_the_model_validation_refuses_both_for_any_caller(invoice):
    account = Account.objects.get(pk=invoice.account_id)
    account.currency = "JPY"
    code = AccountingCode.objects.get(pk=invoice.revenue_code_id)
    code.kind = AccountingCode.Kind.ASSET

    with pytest.raises(ValidationError) as refused_account:
        account.full_clean()
    with pytest.raises(ValidationError) as refused_code:
        code.full_clean()

    assert set(refused_account.value.message_dict) == {"currency"}
    assert set(refused_code.value.message_dict) == {"kind"}
