"""seed_billing makes the same data for the same seed, seeds a busy account, demo
users and holds spread over time. What it makes and what verify_ledger says of it
are checked on one shared seed in test_commands_on_one_seed.py."""

import datetime
import hashlib
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.models import Account, Invoice, InvoiceLine, Payment
from billing.roles import CLERK, CONTROLLER, SUPERVISOR, VIEWER
from writeoffs.models import DisputeHold, WriteOff

AS_OF = "2026-06-30"
SMALL = ["--accounts", "6", "--invoices-per-account", "40", "--as-of", AS_OF]


@pytest.fixture(autouse=True)
def _local_demo_database(settings):
    """These tests seed as a developer does, with DEBUG on (pytest turns it off);
    tests/billing/test_seed_safety.py covers DEBUG off."""
    settings.DEBUG = True


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def ledger_digest() -> str:
    """A digest of every seeded row by its natural keys (numbers, not database ids)."""
    parts = [
        Account.objects.order_by("acct_no").values_list(
            "acct_no", "client_acct_id", "userid", "name", "email", "currency", "status"
        ),
        Invoice.objects.order_by("invoice_no").values_list(
            "invoice_no",
            "account__acct_no",
            "currency",
            "bill_date",
            "due_date",
            "aging_date",
            "status",
            "revenue_code__code",
            "total_minor",
            "paid_minor",
            "written_off_minor",
            "held_minor",
        ),
        InvoiceLine.objects.order_by("invoice__invoice_no", "id").values_list(
            "invoice__invoice_no", "description", "service_start", "service_end", "amount_minor"
        ),
        Payment.objects.order_by("invoice__invoice_no", "id").values_list(
            "invoice__invoice_no", "amount_minor", "paid_on", "method", "reference", "status"
        ),
        WriteOff.objects.order_by("invoice__invoice_no", "id").values_list(
            "invoice__invoice_no",
            "amount_minor",
            "reason_code",
            "writeoff_date",
            "revenue_impacting",
            "accounting_code__code",
            "status",
            "comments",
            "origin_dispute__amount_minor",
        ),
        DisputeHold.objects.order_by("invoice__invoice_no", "id").values_list(
            "invoice__invoice_no", "amount_minor", "expire_hold_days", "expires_on", "status"
        ),
    ]
    return hashlib.sha256(repr([list(p) for p in parts]).encode()).hexdigest()


@pytest.mark.django_db
def test_the_same_seed_makes_identical_data_and_another_seed_does_not():
    run("seed_billing", "--seed", "7", *SMALL)
    first = ledger_digest()
    run("seed_billing", "--seed", "7", "--reset", "--noinput", *SMALL)
    assert ledger_digest() == first
    run("seed_billing", "--seed", "8", "--reset", "--noinput", *SMALL)
    assert ledger_digest() != first


@pytest.mark.django_db
def test_busy_account_gets_the_requested_number_of_writeoffs():
    run("seed_billing", *SMALL, "--busy-account-writeoffs", "250")
    busy = Account.objects.order_by("acct_no").first()
    # The busy account's extra invoices are the ones billed as "Usage charges".
    extra = WriteOff.objects.filter(invoice__lines__description="Usage charges")
    assert extra.count() == 250
    assert set(extra.values_list("account_id", flat=True)) == {busy.pk}
    assert "every stored total agrees" in run("verify_ledger")


@pytest.mark.django_db
def test_demo_users_are_refused_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        run("seed_billing", "--demo-users", *SMALL)
    assert not get_user_model().objects.filter(username__in=["clerk", "supervisor"]).exists()
    assert not Account.objects.exists()


@pytest.mark.django_db
def test_demo_users_get_their_roles_and_the_printed_password(settings):
    settings.DEBUG = True
    output = run("seed_billing", "--demo-users", *SMALL)
    password = output.split("password: ")[1].split()[0]
    names = ["clerk", "supervisor", "controller", "viewer"]
    users = get_user_model().objects.filter(username__in=names)
    roles = {u.username: [g.name for g in u.groups.all()] for u in users}
    assert roles == {
        "clerk": [CLERK],
        "supervisor": [SUPERVISOR],
        "controller": [CONTROLLER],
        "viewer": [VIEWER],
    }
    assert all(u.check_password(password) for u in users)
    assert "users clerk, supervisor, controller, viewer" in output


@pytest.mark.django_db
def test_demo_password_is_kept_between_runs_unless_a_reset_is_asked_for(settings):
    settings.DEBUG = True
    first = run("seed_billing", "--demo-users", *SMALL).split("password: ")[1].split()[0]
    again = run("seed_billing", "--if-empty", "--demo-users", *SMALL)
    assert "password unchanged" in again and first not in again
    clerk = get_user_model().objects.get(username="clerk")
    assert clerk.check_password(first)
    reset = run("seed_billing", "--if-empty", "--demo-users", "--reset-demo-password", *SMALL)
    new = reset.split("password: ")[1].split()[0]
    clerk.refresh_from_db()
    assert new != first and clerk.check_password(new)


@pytest.mark.django_db
def test_seeded_open_holds_are_mostly_in_the_future_some_this_week_a_few_expired():
    run("seed_billing", "--accounts", "10", "--invoices-per-account", "100", "--as-of", AS_OF)
    as_of = datetime.date.fromisoformat(AS_OF)
    open_holds = DisputeHold.objects.filter(status=DisputeHold.Status.OPEN)
    total = open_holds.count()
    expired = open_holds.filter(expires_on__lt=as_of).count()
    this_week = open_holds.filter(
        expires_on__gte=as_of, expires_on__lt=as_of + datetime.timedelta(days=7)
    ).count()
    later = open_holds.filter(expires_on__gte=as_of + datetime.timedelta(days=7)).count()
    assert total >= 20
    assert later > total / 2, (expired, this_week, later)
    assert 0 < expired < total / 4 and this_week > 0, (expired, this_week, later)
    assert not open_holds.filter(created_at__date__gt=as_of).exists()
