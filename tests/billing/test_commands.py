"""seed_billing makes the same data for the same seed and a ledger that
verify_ledger accepts; verify_ledger lists every invoice whose totals drift."""

import datetime
import hashlib
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F

from billing.models import Account, Invoice, InvoiceLine, JournalLine, Payment
from billing.roles import CLERK, CONTROLLER, SUPERVISOR, VIEWER
from billing.verification import verify_ledger
from writeoffs.models import CreditNote, DisputeHold, WriteOff

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
def test_seed_makes_a_mix_of_invoices_payments_writeoffs_and_holds():
    output = run("seed_billing", *SMALL)
    as_of = datetime.date.fromisoformat(AS_OF)
    assert Account.objects.count() == 6
    assert Invoice.objects.count() == 240
    assert set(Invoice.objects.values_list("status", flat=True)) == {"draft", "sent", "void"}
    partly_paid = Invoice.objects.filter(paid_minor__gt=0, paid_minor__lt=F("total_minor"))
    assert partly_paid.exists()
    assert WriteOff.objects.filter(status=WriteOff.Status.ACTIVE).exists()
    # Expired open holds are a few in ten (issue 15): too few to count on in this small
    # seed; test_seeded_open_holds_are_mostly_in_the_future_... checks them at size.
    open_holds = DisputeHold.objects.filter(status=DisputeHold.Status.OPEN)
    assert open_holds.filter(expires_on__gte=as_of).exists()
    # Only sent invoices carry payments, write-offs and holds.
    assert not Payment.objects.exclude(invoice__status="sent").exists()
    assert not WriteOff.objects.exclude(invoice__status="sent").exists()
    lines = output.strip().splitlines()
    # Every seeded row starts its history with a creation record by the seed.
    seeded = Invoice.objects.count() + Payment.objects.count()
    seeded += WriteOff.objects.count() + DisputeHold.objects.count()
    assert f"{seeded:,} creation records in history" in output
    writeoff = WriteOff.objects.first()
    assert [(r.history_type, r.history_actor) for r in writeoff.history.all()] == [
        ("+", "seed_billing")
    ]
    assert lines[-1].startswith("Seeded 6 accounts, 240 invoices")


@pytest.mark.django_db
def test_invoice_totals_are_the_sum_of_their_lines_after_seeding():
    run("seed_billing", *SMALL)
    line_sums: dict[int, tuple[int, int]] = {}
    for invoice_id, amount, tax in InvoiceLine.objects.values_list(
        "invoice_id", "amount_minor", "tax_minor"
    ):
        gross, taxes = line_sums.get(invoice_id, (0, 0))
        line_sums[invoice_id] = (gross + amount + tax, taxes + tax)
    for invoice_id, total, tax in Invoice.objects.values_list("id", "total_minor", "tax_minor"):
        assert line_sums[invoice_id] == (total, tax)


@pytest.mark.django_db
def test_part_of_the_seeded_invoices_are_taxed_and_their_writeoffs_split_and_credited():
    run("seed_billing", *SMALL)

    taxed = Invoice.objects.filter(tax_minor__gt=0)
    assert 0 < taxed.count() < Invoice.objects.count()
    # Each revenue-impacting write-off that took effect has its credit note, numbered
    # without a gap each year.
    credited = WriteOff.objects.filter(revenue_impacting=True, status__in=["active", "reversed"])
    assert CreditNote.objects.count() == credited.count() > 0
    for year in set(CreditNote.objects.values_list("year", flat=True)):
        sequences = sorted(CreditNote.objects.filter(year=year).values_list("sequence", flat=True))
        assert sequences == list(range(1, len(sequences) + 1))
    assert JournalLine.objects.filter(accounting_code__code="2200").exists()
    assert verify_ledger(limit=10).ok


@pytest.mark.django_db
def test_verify_ledger_accepts_a_freshly_seeded_ledger():
    run("seed_billing", *SMALL)
    assert "Checked 240 invoices: every stored total agrees" in run("verify_ledger")


@pytest.mark.django_db
def test_verify_ledger_lists_every_invoice_whose_totals_drifted():
    run("seed_billing", *SMALL)
    paid = Invoice.objects.filter(paid_minor__gt=0).order_by("invoice_no").first()
    held = (
        Invoice.objects.filter(
            held_minor=0, total_minor__gt=F("paid_minor") + F("written_off_minor")
        )
        .exclude(pk=paid.pk)
        .order_by("invoice_no")
        .first()
    )
    # Both updates keep every CHECK constraint satisfied: only the rows disagree.
    Invoice.objects.filter(pk=paid.pk).update(paid_minor=F("paid_minor") - 1)
    Invoice.objects.filter(pk=held.pk).update(held_minor=1)
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 of 240 invoices"):
        call_command("verify_ledger", stdout=out, stderr=io.StringIO())
    report = out.getvalue()
    assert f"Invoice {paid.invoice_no} " in report
    assert f"paid stored {paid.paid_minor - 1} but rows add up to {paid.paid_minor}" in report
    assert f"Invoice {held.invoice_no} " in report
    assert "held stored 1 but rows add up to 0" in report


@pytest.mark.django_db
def test_verify_ledger_counts_only_active_and_open_rows():
    run("seed_billing", *SMALL)
    writeoff = WriteOff.objects.filter(status=WriteOff.Status.ACTIVE).first()
    # Marking a row reversed behind the services' back is drift too.
    WriteOff.objects.filter(pk=writeoff.pk).update(
        status=WriteOff.Status.REVERSED, reversed_at=F("created_at")
    )
    with pytest.raises(CommandError):
        run("verify_ledger")


@pytest.mark.django_db
def test_seeding_again_without_reset_adds_accounts_after_the_existing_numbers():
    run("seed_billing", *SMALL)
    first_max = Account.objects.order_by("-acct_no").first().acct_no
    first_invoice_max = Invoice.objects.order_by("-invoice_no").first().invoice_no
    run("seed_billing", *SMALL)
    assert Account.objects.count() == 12
    assert Invoice.objects.count() == 480
    assert Account.objects.filter(acct_no__gt=first_max).count() == 6
    assert Invoice.objects.filter(invoice_no__gt=first_invoice_max).count() == 240
    assert "every stored total agrees" in run("verify_ledger")


@pytest.mark.django_db
def test_if_empty_seeds_nothing_when_accounts_exist():
    run("seed_billing", *SMALL)
    assert "nothing seeded" in run("seed_billing", "--if-empty", *SMALL)
    assert Account.objects.count() == 6


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


@pytest.mark.django_db
def test_every_seeded_row_names_one_actor():
    run("seed_billing", *SMALL)
    labels = set()
    for model, fields in [
        (Payment, ["recorded_by_label", "removed_by_label"]),
        (WriteOff, ["created_by_label", "reversed_by_label"]),
        (DisputeHold, ["created_by_label", "settled_by_label"]),
    ]:
        for field in fields:
            labels |= set(model.objects.exclude(**{field: ""}).values_list(field, flat=True))
    assert labels == {"seed_billing"}
