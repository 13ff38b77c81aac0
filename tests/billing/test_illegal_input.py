"""NUL and the other characters the SPEC calls illegal never reach a text column:
NUL anywhere is a readable 400 (PostgreSQL refuses it, which used to be a 500),
and the search box refuses the rest with check_text's message and no results."""

import pytest
from django.test import Client

from billing.factories import AccountFactory, UserFactory
from billing.models import Payment

pytestmark = pytest.mark.django_db

NUL_MESSAGE = "Illegal characters entered: remove the invisible character U+0000"


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    return client


def assert_nul_page(response):
    assert response.status_code == 400
    assert NUL_MESSAGE in response.content.decode()


def test_a_search_with_nul_is_a_readable_400(client, clerk):
    client.force_login(clerk)
    AccountFactory(acct_no=5001, name="Acme")
    response = client.get("/accounts/", {"q": "Ac\x00me"})
    assert_nul_page(response)
    assert "Acme" not in response.content.decode()
    assert "<html" in response.content.decode()


def test_an_htmx_request_with_nul_gets_the_message_for_the_drawer(client, clerk):
    client.force_login(clerk)
    response = client.get("/accounts/", {"q": "\x00"}, headers={"HX-Request": "true"})
    assert_nul_page(response)
    assert "<html" not in response.content.decode()
    assert response["HX-Retarget"] == "#drawer-content"


def test_nul_in_a_parameter_name_is_refused_too(client, clerk):
    client.force_login(clerk)
    assert_nul_page(client.get("/?a%00b=1"))


@pytest.mark.parametrize(
    "query",
    [
        "status__exact=%00",
        "q=%00",
        "account__currency__exact=US%00",
        "o=%00",
        "bill_date__gte=%00",
    ],
)
def test_admin_filters_and_search_with_nul_are_a_400_not_a_500(superuser_client, query):
    assert_nul_page(superuser_client.get(f"/admin/billing/invoice/?{query}"))


def test_a_form_post_with_nul_is_refused_and_records_nothing(client, clerk, invoice):
    client.force_login(clerk)
    url = f"/accounts/{invoice.account.acct_no}/invoices/{invoice.invoice_no}/payments/new/"
    response = client.post(
        url,
        {
            "paid_on": "2026-01-05",
            "amount": "10.00",
            "method": Payment.Method.values[0],
            "reference": "chq\x00123",
            "idempotency_key": "nul-1",
        },
    )
    assert_nul_page(response)
    assert not Payment.objects.exists()


def test_a_sign_in_with_nul_is_refused_before_the_user_lookup():
    response = Client().post("/login/", {"username": "clerk\x00", "password": "x"})
    assert_nul_page(response)


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\x07", "\x1b"])
def test_a_search_with_another_illegal_character_shows_the_message_and_no_results(
    client, clerk, char
):
    client.force_login(clerk)
    AccountFactory(acct_no=5001, name="Acme")
    response = client.get("/accounts/", {"q": f"Acme{char}"})
    body = response.content.decode()
    assert response.status_code == 200
    assert f"Illegal characters entered: remove the invisible character U+{ord(char):04X}" in body
    assert "Nothing was searched." in body
    assert "is-invalid" in body
    assert ">Acme<" not in body


def test_a_search_keeps_tabs_and_finds_what_it_did_before(client, clerk):
    client.force_login(clerk)
    AccountFactory(acct_no=5001, name="Acme")
    response = client.get("/accounts/", {"q": " Acme "})
    assert ">Acme<" in response.content.decode()


def test_the_api_answers_nul_in_its_own_json_not_the_page(client):
    response = client.get("/api/get_acct_writeoff_or_disputes_m", {"auth_key": "\x00"})
    assert response["Content-Type"].startswith("application/json")
    assert "error_code" in response.json()
