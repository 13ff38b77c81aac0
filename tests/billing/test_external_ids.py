"""External ids (SPEC Part 3): the billing system's own id on accounts, invoices and
payments, unique per kind when set, and optional for the rows made here."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from billing.factories import AccountFactory, InvoiceFactory
from billing.models import Account, Invoice, Payment
from billing.receivables.payments import payment_record


@pytest.mark.django_db
def test_rows_without_an_external_id_do_not_clash():
    AccountFactory()
    AccountFactory()
    InvoiceFactory()
    InvoiceFactory()
    assert Account.objects.filter(external_id__isnull=True).count() >= 2
    assert Invoice.objects.filter(external_id__isnull=True).count() >= 2


@pytest.mark.django_db
def test_an_external_id_is_unique_per_kind_but_may_repeat_across_kinds(supervisor_actor):
    AccountFactory(external_id="cus_1")
    invoice = InvoiceFactory(external_id="cus_1")
    payment = payment_record(invoice_id=invoice.pk, amount="1.00", actor=supervisor_actor)
    Payment.objects.filter(pk=payment.pk).update(external_id="cus_1")
    for make in (
        lambda: AccountFactory(external_id="cus_1"),
        lambda: InvoiceFactory(external_id="cus_1"),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            make()
    other = payment_record(invoice_id=invoice.pk, amount="1.00", actor=supervisor_actor)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=other.pk).update(external_id="cus_1")


@pytest.mark.django_db
def test_admin_finds_an_account_invoice_and_payment_by_external_id(admin_client, supervisor_actor):
    account = AccountFactory(external_id="cus_ABC")
    invoice = InvoiceFactory(account=account, external_id="in_ABC")
    payment = payment_record(invoice_id=invoice.pk, amount="1.00", actor=supervisor_actor)
    Payment.objects.filter(pk=payment.pk).update(external_id="py_ABC")
    for model, term, shown in (
        ("account", "cus_ABC", str(account.acct_no)),
        ("invoice", "in_ABC", str(invoice.invoice_no)),
        ("payment", "py_ABC", "py_ABC"),
    ):
        response = admin_client.get(reverse(f"admin:billing_{model}_changelist"), {"q": term})
        assert response.status_code == 200
        assert response.context["cl"].result_count == 1, model
        assert shown in response.content.decode()


@pytest.mark.django_db
def test_a_blank_external_id_saved_in_admin_is_stored_as_none(admin_client):
    first = AccountFactory()
    second = AccountFactory()
    for account in (first, second):
        response = admin_client.post(
            reverse("admin:billing_account_change", args=[account.pk]),
            {
                "acct_no": account.acct_no,
                "name": account.name,
                "currency": account.currency,
                "status": account.status,
                "external_id": "",
                "email": "",
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        account.refresh_from_db()
        assert account.external_id is None
