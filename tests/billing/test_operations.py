"""The load balancer's /healthz probe, and what the UI shows while the database
is unreachable: a readable 503 with Retry-After, never "Server Error (500)" or a
400 from a session that could not be saved."""

import pytest
from django.db import OperationalError, connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

from billing.models import Payment

pytestmark = pytest.mark.django_db


class DatabaseDown:
    """An execute wrapper (Django's hook around every query) that fails like a
    database that stopped answering, for every query or only those matching."""

    def __init__(self, only: str = "") -> None:
        self.only = only
        self.refused = 0

    def __call__(self, execute, sql, params, many, context):
        if self.only in sql:
            self.refused += 1
            raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")
        return execute(sql, params, many, context)


@pytest.fixture
def browser_client():
    """A test client that returns the error page instead of re-raising the exception."""
    return Client(raise_request_exception=False)


def assert_readable_503(response):
    body = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "The billing database is not answering right now" in body
    assert "Server Error" not in body


# --- database outage -------------------------------------------------------------


def test_a_page_during_a_database_outage_is_a_readable_503_with_retry_after(browser_client, clerk):
    browser_client.force_login(clerk)
    down = DatabaseDown()
    with connection.execute_wrapper(down):
        response = browser_client.get("/")
    assert down.refused >= 1
    assert_readable_503(response)
    assert "<html" in response.content.decode()


def test_an_htmx_request_during_an_outage_gets_the_message_for_the_drawer(browser_client, clerk):
    browser_client.force_login(clerk)
    with connection.execute_wrapper(DatabaseDown()):
        response = browser_client.get("/", headers={"HX-Request": "true"})
    assert_readable_503(response)
    assert "<html" not in response.content.decode()
    assert response["HX-Retarget"] == "#drawer-content"


def test_a_failed_session_save_during_an_outage_is_a_503_not_a_400(browser_client, clerk, invoice):
    """The payment is recorded, then saving the session (its success message) fails:
    Django reports that as SessionInterrupted, a 400, unless the cause is seen."""
    browser_client.force_login(clerk)
    url = f"/accounts/{invoice.account.acct_no}/invoices/{invoice.invoice_no}/payments/confirm/"
    down = DatabaseDown(only='UPDATE "django_session"')
    with connection.execute_wrapper(down):
        response = browser_client.post(
            url,
            {
                "paid_on": invoice.bill_date.isoformat(),
                "amount": "10.00",
                "method": Payment.Method.values[0],
                "reference": "",
                "idempotency_key": "outage-1",
            },
        )
    assert down.refused == 1
    assert_readable_503(response)


def test_other_server_errors_stay_a_plain_500(browser_client, clerk, monkeypatch):
    def broken(query):
        raise RuntimeError("a bug, not an outage")

    monkeypatch.setattr("billing.web.accounts.accounts_matching", broken)
    browser_client.force_login(clerk)
    response = browser_client.get("/accounts/")
    assert response.status_code == 500
    assert "Retry-After" not in response


# --- /healthz --------------------------------------------------------------------


def test_healthz_answers_ok_without_sign_in_and_says_nothing_else(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "Set-Cookie" not in response


def test_healthz_is_503_when_the_database_does_not_answer(client):
    with connection.execute_wrapper(DatabaseDown()):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.content == b"unavailable\n"


def test_healthz_is_503_while_a_migration_is_not_applied(client):
    MigrationRecorder(connection).migration_qs.filter(app="billing").order_by("-id")[0].delete()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.content == b"unavailable\n"


def test_healthz_answers_a_probe_by_address_over_http_in_production(client, settings):
    """A load balancer probes each instance by its address, over plain HTTP."""
    settings.ALLOWED_HOSTS = ["billing.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    probe = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert probe.status_code == 200
    assert probe.content == b"ok\n"
    # Every other URL still gets the host check and the HTTPS redirect.
    assert client.get("/login/", HTTP_HOST="10.0.0.7:8000").status_code == 400
    assert client.get("/login/", HTTP_HOST="billing.example.com").status_code == 301


def test_healthz_takes_only_get_and_head(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
