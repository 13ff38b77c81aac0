"""``/``: the accounts list and its search, and signing in and out."""

import re

import pytest
from django.urls import reverse

from billing.factories import AccountFactory, UserFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def listed(response) -> list[int]:
    return [int(n) for n in re.findall(r'/accounts/\d+/">(\d+)</a>', response.content.decode())]


@pytest.fixture
def accounts(db):
    AccountFactory(acct_no=5001, client_acct_id="ACME-01", name="Acme Corp")
    AccountFactory(acct_no=5002, client_acct_id="ACME-02", name="Acme Holdings")
    AccountFactory(acct_no=6001, client_acct_id="GLOBEX", name="Globex")


def test_lists_accounts_in_account_number_order(client, viewer, accounts):
    client.force_login(viewer)
    assert listed(client.get(reverse("account_list"))) == [5001, 5002, 6001]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("5002", [5002]),
        ("500", []),
        ("acme-0", [5001, 5002]),
        ("globex", [6001]),
        ("holdings", [5002]),
        ("nothing", []),
    ],
)
def test_search_by_account_number_client_id_prefix_or_name(
    client, viewer, accounts, query, expected
):
    client.force_login(viewer)
    assert listed(client.get(reverse("account_list"), {"q": query})) == expected


def test_search_without_match_says_what_can_be_searched(client, viewer, accounts):
    client.force_login(viewer)
    response = client.get(reverse("account_list"), {"q": "zzz"})
    assert b"No account matches" in response.content


def test_list_is_paginated(client, viewer, db):
    AccountFactory.create_batch(30)
    client.force_login(viewer)
    first = client.get(reverse("account_list"))
    second = client.get(reverse("account_list"), {"page": "2"})
    assert len(listed(first)) == 25 and len(listed(second)) == 5
    assert b">Next</a>" in first.content and b">Next</a>" not in second.content


def test_htmx_search_gets_only_the_results(client, viewer, accounts):
    client.force_login(viewer)
    response = client.get(reverse("account_list"), {"q": "globex"}, **HTMX)
    assert response.content.lstrip().startswith(b'<section id="account-results"')
    assert "HX-Request" in response["Vary"]


def test_list_refuses_post_with_405(client, viewer):
    client.force_login(viewer)
    assert client.post(reverse("account_list")).status_code == 405


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(reverse("account_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_user_without_a_billing_role_gets_403(client, db):
    client.force_login(UserFactory(username="nobody"))
    response = client.get(reverse("account_list"))
    assert response.status_code == 403
    assert b"Your role doesn" in response.content


def test_sign_in_page_and_sign_out(client, viewer):
    page = client.get(reverse("login"))
    assert page.status_code == 200 and b'name="username"' in page.content
    signed_in = client.post(
        reverse("login"), {"username": "viewer", "password": "correct horse battery staple"}
    )
    # Signing in lands on the staff home page, whose search goes to the accounts list.
    assert signed_in["Location"] == reverse("home")
    html = client.get(reverse("home")).content.decode()
    assert f'action="{reverse("account_list")}"' in html
    assert '<span class="visually-hidden">Signed in as </span><strong' in html and "viewer" in html
    signed_out = client.post(reverse("logout"))
    assert signed_out["Location"] == reverse("login")
    assert client.get(reverse("account_list")).status_code == 302


@pytest.mark.parametrize("page", ["\u00b2", "\u0661", "1\u00b2"])
def test_a_page_number_in_non_ascii_digits_shows_the_first_page(client, viewer, page):
    client.force_login(viewer)
    response = client.get(reverse("account_list"), {"page": page, "q": "\u00b2"})
    assert response.status_code == 200
