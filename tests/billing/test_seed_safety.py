"""seed_billing cannot change a production database by accident: with DEBUG off
it refuses unless told the configured database's name, and --reset asks for the
name on a terminal (or needs --noinput). A reset also forgets API idempotency
records, so a retry after it creates a new entry instead of returning an old number."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from billing.api.keys import api_key_create
from billing.factories import AccountFactory, InvoiceFactory
from billing.models import Account, ApiIdempotencyRecord
from writeoffs.models import WriteOff

pytestmark = pytest.mark.django_db

SMALL = ["--accounts", "2", "--invoices-per-account", "3", "--as-of", "2026-06-30"]


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_billing", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def database_name() -> str:
    return str(connection.settings_dict["NAME"])


@pytest.fixture
def production(settings):
    settings.DEBUG = False


@pytest.fixture
def terminal(monkeypatch):
    """A terminal on stdin whose user types the given answers."""

    def answering(*answers: str) -> list[str]:
        prompts: list[str] = []
        replies = iter(answers)
        monkeypatch.setattr("sys.stdin.isatty", lambda: True)

        def fake_input(prompt: str = "") -> str:
            prompts.append(prompt)
            return next(replies)

        monkeypatch.setattr("builtins.input", fake_input)
        return prompts

    return answering


@pytest.fixture
def no_terminal(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    def no_input(prompt: str = "") -> str:
        raise AssertionError("asked for input without a terminal")

    monkeypatch.setattr("builtins.input", no_input)


def test_seeding_with_debug_off_is_refused_without_naming_the_database(production):
    with pytest.raises(CommandError, match=r"DEBUG is off.*--allow-production-database NAME"):
        seed(*SMALL)
    assert not Account.objects.exists()


def test_seeding_with_debug_off_is_refused_when_the_named_database_is_another(production):
    with pytest.raises(CommandError, match=r"names 'billing_live'.*configured database is"):
        seed(*SMALL, "--allow-production-database", "billing_live")
    assert not Account.objects.exists()


def test_seeding_with_debug_off_runs_when_the_configured_database_is_named(production):
    output = seed(*SMALL, "--allow-production-database", database_name())
    assert "Seeded 2 accounts" in output
    assert Account.objects.count() == 2


def test_a_wrong_database_name_is_refused_with_debug_on_too(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="names 'elsewhere'"):
        seed(*SMALL, "--allow-production-database", "elsewhere")
    assert not Account.objects.exists()


def test_reset_without_a_terminal_is_refused_and_deletes_nothing(settings, no_terminal):
    settings.DEBUG = True
    seed(*SMALL)
    with pytest.raises(CommandError, match=r"no terminal to ask on.*--noinput"):
        seed(*SMALL, "--reset")
    assert Account.objects.count() == 2


def test_reset_with_debug_off_is_refused_without_a_terminal_even_with_the_name(
    production, no_terminal
):
    name = database_name()
    seed(*SMALL, "--allow-production-database", name)
    with pytest.raises(CommandError, match="no terminal"):
        seed(*SMALL, "--reset", "--allow-production-database", name)
    assert Account.objects.count() == 2


def test_reset_with_debug_off_still_needs_the_name_with_noinput(production, no_terminal):
    AccountFactory(acct_no=77)
    with pytest.raises(CommandError, match="DEBUG is off"):
        seed(*SMALL, "--reset", "--noinput")
    assert Account.objects.filter(acct_no=77).exists()


def test_reset_on_a_terminal_asks_for_the_database_name_and_stops_on_a_wrong_answer(
    production, terminal
):
    name = database_name()
    AccountFactory(acct_no=77)
    prompts = terminal("yes")
    with pytest.raises(CommandError, match="Reset cancelled"):
        seed(*SMALL, "--reset", "--allow-production-database", name)
    assert name in prompts[0]
    assert "Type the database name" in prompts[0]
    assert Account.objects.filter(acct_no=77).exists()
    assert Account.objects.count() == 1


def test_reset_on_a_terminal_runs_after_the_database_name_is_typed(production, terminal):
    name = database_name()
    AccountFactory(acct_no=77)
    terminal(name)
    seed(*SMALL, "--reset", "--allow-production-database", name)
    assert not Account.objects.filter(acct_no=77).exists()
    assert Account.objects.count() == 2


def test_reset_with_noinput_and_the_name_runs_without_asking(production, no_terminal):
    AccountFactory(acct_no=77)
    seed(*SMALL, "--reset", "--noinput", "--allow-production-database", database_name())
    assert not Account.objects.filter(acct_no=77).exists()


def test_an_api_retry_after_a_reset_creates_a_new_writeoff_not_a_stale_number(
    client, settings, no_terminal
):
    settings.DEBUG = True
    key = api_key_create("erp", "clerk")[1]

    def create_writeoff():
        body = {
            "client_no": settings.BILLING_CLIENT_NO,
            "auth_key": key,
            "acct_no": 5001,
            "invoice_no": 10023,
            "reason_code": 1,
            "writeoff_dispute_amount": "5",
            "comments": "Goodwill credit",
        }
        response = client.post(
            "/api/create_writeoff_or_dispute_m",
            json.dumps(body),
            content_type="application/json",
            headers={"Idempotency-Key": "order-1"},
        )
        assert response.status_code == 200, response.content
        return response

    InvoiceFactory(account=AccountFactory(acct_no=5001), invoice_no=10023, total_minor=12000)
    create_writeoff()
    assert ApiIdempotencyRecord.objects.count() == 1

    seed("--reset", "--noinput", "--accounts", "0")
    assert ApiIdempotencyRecord.objects.count() == 0
    assert not WriteOff.objects.exists()

    InvoiceFactory(account=AccountFactory(acct_no=5001), invoice_no=10023, total_minor=12000)
    retry = create_writeoff()

    assert "Idempotent-Replayed" not in retry.headers
    (writeoff,) = WriteOff.objects.all()
    assert retry.json()["rec_no"] == writeoff.pk
    assert writeoff.invoice.invoice_no == 10023
