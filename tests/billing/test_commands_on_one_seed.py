"""seed_billing's small ledger, seeded once for this module (tests/billing/seeded.py):
what it holds, that verify_ledger accepts it, and that verify_ledger lists every
invoice whose totals drift. Each test's changes are rolled back before the next."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F

from billing.models import Account, Invoice, InvoiceLine, JournalLine, Payment
from billing.verification import verify_ledger
from tests.billing.seeded import run, seed_once
from writeoffs.models import CreditNote, DisputeHold, WriteOff

AS_OF = "2026-06-30"
SMALL = ["--accounts", "6", "--invoices-per-account", "40", "--as-of", AS_OF]

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The small ledger's seed output; its rows stay until the module ends."""
    with seed_once(django_db_blocker, *SMALL) as output:
        yield output


@pytest.fixture(autouse=True)
def _local_demo_database(settings):
    """A second seed runs as a developer's does, with DEBUG on (pytest turns it off)."""
    settings.DEBUG = True


def test_seed_makes_a_mix_of_invoices_payments_writeoffs_and_holds(seeded):
    output = seeded
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


def test_invoice_totals_are_the_sum_of_their_lines_after_seeding(seeded):
    line_sums: dict[int, tuple[int, int]] = {}
    for invoice_id, amount, tax in InvoiceLine.objects.values_list(
        "invoice_id", "amount_minor", "tax_minor"
    ):
        gross, taxes = line_sums.get(invoice_id, (0, 0))
        line_sums[invoice_id] = (gross + amount + tax, taxes + tax)
    for invoice_id, total, tax in Invoice.objects.values_list("id", "total_minor", "tax_minor"):
        assert line_sums[invoice_id] == (total, tax)


def test_part_of_the_seeded_invoices_are_taxed_and_their_writeoffs_split_and_credited(seeded):

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


def test_verify_ledger_accepts_a_freshly_seeded_ledger(seeded):
    assert "Checked 240 invoices: every stored total agrees" in run("verify_ledger")


def test_verify_ledger_lists_every_invoice_whose_totals_drifted(seeded):
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


def test_verify_ledger_counts_only_active_and_open_rows(seeded):
    writeoff = WriteOff.objects.filter(status=WriteOff.Status.ACTIVE).first()
    # Marking a row reversed behind the services' back is drift too.
    WriteOff.objects.filter(pk=writeoff.pk).update(
        status=WriteOff.Status.REVERSED, reversed_at=F("created_at")
    )
    with pytest.raises(CommandError):
        run("verify_ledger")


def test_seeding_again_without_reset_adds_accounts_after_the_existing_numbers(seeded):
    first_max = Account.objects.order_by("-acct_no").first().acct_no
    first_invoice_max = Invoice.objects.order_by("-invoice_no").first().invoice_no
    run("seed_billing", *SMALL)
    assert Account.objects.count() == 12
    assert Invoice.objects.count() == 480
    assert Account.objects.filter(acct_no__gt=first_max).count() == 6
    assert Invoice.objects.filter(invoice_no__gt=first_invoice_max).count() == 240
    assert "every stored total agrees" in run("verify_ledger")


def test_if_empty_seeds_nothing_when_accounts_exist(seeded):
    assert "nothing seeded" in run("seed_billing", "--if-empty", *SMALL)
    assert Account.objects.count() == 6


def test_every_seeded_row_names_one_actor(seeded):
    labels = set()
    for model, fields in [
        (Payment, ["recorded_by_label", "removed_by_label"]),
        (WriteOff, ["created_by_label", "reversed_by_label"]),
        (DisputeHold, ["created_by_label", "settled_by_label"]),
    ]:
        for field in fields:
            labels |= set(model.objects.exclude(**{field: ""}).values_list(field, flat=True))
    assert labels == {"seed_billing"}
