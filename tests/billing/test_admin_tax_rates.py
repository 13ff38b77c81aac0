"""Tax rates in admin (billing/admin): the controller keeps them, with history; a rate
in use keeps its payable code; none is deleted."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.factories import AccountingCodeFactory, InvoiceFactory, UserFactory
from billing.models import AccountingCode, TaxRate
from billing.roles import CLERK, CONTROLLER

pytestmark = pytest.mark.django_db


def form_data(tax_rate: TaxRate, **changes) -> dict:
    data = {
        "code": tax_rate.code,
        "name": tax_rate.name,
        "rate": str(tax_rate.rate),
        "payable_code": tax_rate.payable_code_id,
        "relief_after_months": tax_rate.relief_after_months,
        "active": "on",
    }
    return {**data, **changes}


@pytest.fixture
def controller():
    return UserFactory(username="staff-controller", is_staff=True, groups=[CONTROLLER])


@pytest.fixture
def clerk():
    return UserFactory(username="staff-clerk", is_staff=True, groups=[CLERK])


@pytest.fixture
def std20():
    return TaxRate.objects.get(code="STD20")


def test_the_controller_changes_a_rate_and_history_keeps_the_old_value(client, controller, std20):
    client.force_login(controller)
    url = reverse("admin:billing_taxrate_change", args=[std20.pk])

    response = client.post(url, form_data(std20, relief_after_months=3))

    assert response.status_code == 302
    std20.refresh_from_db()
    assert std20.relief_after_months == 3
    latest = std20.history.order_by("-history_date").first()
    assert (latest.relief_after_months, latest.history_user) == (3, controller)


def test_a_rate_in_use_keeps_its_payable_code(client, controller, std20, account):
    InvoiceFactory(account=account, total_minor=12000, tax_minor=2000)
    other = AccountingCodeFactory(code="2300", name="Other tax", kind=AccountingCode.Kind.LIABILITY)
    client.force_login(controller)

    response = client.post(
        reverse("admin:billing_taxrate_change", args=[std20.pk]),
        form_data(std20, payable_code=other.pk),
    )

    assert response.status_code == 200
    assert "make a new rate for the new code" in response.content.decode()
    std20.refresh_from_db()
    assert std20.payable_code.code == "2200"


def test_a_rate_of_100_percent_is_refused_next_to_the_field(client, controller, std20):
    client.force_login(controller)
    response = client.post(
        reverse("admin:billing_taxrate_change", args=[std20.pk]), form_data(std20, rate="100")
    )
    assert response.status_code == 200
    std20.refresh_from_db()
    assert std20.rate == 20


def test_nobody_deletes_a_rate_and_a_clerk_cannot_change_one(client, clerk, std20):
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(superuser)
    delete = reverse("admin:billing_taxrate_delete", args=[std20.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    client.force_login(clerk)
    change = reverse("admin:billing_taxrate_change", args=[std20.pk])
    assert client.post(change, form_data(std20, rate="5")).status_code == 403
