"""The journal's commands: seed_billing posts what it makes and refuses once the books
are closed; backfill_journal posts an existing database on its own dates, once.
The tests that can share one small seed are in test_journal_commands_on_one_seed.py."""

import datetime
import io

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from billing.models import (
    AccountingCode,
    AccountingPeriodLock,
    Invoice,
    JournalEntry,
    JournalLine,
    Payment,
)
from writeoffs.models import WriteOff
from writeoffs.tax.expected import expected_tax, relief_pending_code_id, taxed_invoice_lines


@pytest.fixture(autouse=True)
def _local_demo_database(settings):
    """Seeding runs as a developer's does, with DEBUG on (pytest turns it off);
    tests/billing/test_seed_safety.py covers DEBUG off."""
    settings.DEBUG = True


AS_OF = "2026-06-30"
SMALL = ["--accounts", "4", "--invoices-per-account", "30", "--as-of", AS_OF]

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def journal_digest() -> list:
    return list(
        JournalEntry.objects.order_by("source_type", "source_id", "event").values_list(
            "source_type", "source_id", "event", "entry_date", "currency"
        )
    ), list(
        JournalLine.objects.order_by(
            "entry__source_type", "entry__source_id", "entry__event", "accounting_code__code"
        ).values_list(
            "entry__source_type",
            "entry__source_id",
            "entry__event",
            "accounting_code__code",
            "debit_minor",
            "credit_minor",
            "entry_date",
        )
    )


def _seeded_journal() -> dict:
    """Each entry by (source type, source id, event): its dates, currency, invoice,
    account and author, and its lines (code, debit, credit, line date, currency,
    invoice), sorted."""
    lines: dict[int, list] = {}
    for row in JournalLine.objects.values_list(
        "entry_id",
        "accounting_code__code",
        "debit_minor",
        "credit_minor",
        "entry_date",
        "currency",
        "invoice_id",
    ):
        lines.setdefault(row[0], []).append(row[1:])
    entries = JournalEntry.objects.values_list(
        "id",
        "source_type",
        "source_id",
        "event",
        "entry_date",
        "posted_at",
        "currency",
        "invoice_id",
        "account_id",
        "created_by_label",
    )
    return {tuple(row[1:4]): (*row[4:], sorted(lines.get(row[0], []))) for row in entries}


def test_every_seeded_event_posts_its_rule_on_its_own_date():
    """The seeded journal, entry by entry, against the SPEC's postings stated here from
    the rows (billing/ledger/rules.py's rules), for every kind of seeded event."""
    out = run(
        "seed_billing",
        *["--accounts", "20", "--invoices-per-account", "30", "--as-of", AS_OF],
        *["--busy-account-writeoffs", "100"],
    )
    ar, cash = django_settings.AR_CONTROL_CODE, django_settings.CASH_CODE
    codes = dict(AccountingCode.objects.values_list("id", "code"))
    expected = {}

    taxed_lines = taxed_invoice_lines()
    pending = relief_pending_code_id()

    def tax_parts(invoice, amount, pending_relief=False) -> dict[str, int]:
        """The tax side of ``amount`` on a taxed invoice (its split, worked out by
        verify_ledger's own reading of the SPEC), by code; nothing when untaxed."""
        if invoice.pk not in taxed_lines:
            return {}
        parts = expected_tax(
            amount, taxed_lines[invoice.pk], pending_code_id=pending if pending_relief else None
        )
        return {codes[code]: part for code, part in parts.items()}

    def posts(source, event, day, invoice, debit_code, credit_code, amount, tax=None):
        """``amount`` debited and credited; ``tax`` (by code) splits off the side that
        is not AR control, on that side (a reversal's tax is credited back)."""
        moment = datetime.datetime.combine(day, datetime.time(15), tzinfo=datetime.UTC)
        tax = tax or {}
        net = amount - sum(tax.values())
        if credit_code == ar:
            lines = [(debit_code, net, 0), (credit_code, 0, amount)]
            lines += [(code, part, 0) for code, part in tax.items()]
        else:
            lines = [(debit_code, amount, 0), (credit_code, 0, net)]
            lines += [(code, 0, part) for code, part in tax.items()]
        expected[(source._meta.label_lower, source.pk, event)] = (
            day,
            moment,
            invoice.currency,
            invoice.pk,
            invoice.account_id,
            "seed_billing",
            sorted((*line, day, invoice.currency, invoice.pk) for line in lines),
        )

    for invoice in Invoice.objects.exclude(status=Invoice.Status.DRAFT):
        revenue = codes[invoice.revenue_code_id]
        # The whole invoice: exactly its lines' tax, at STD20.
        charged = {"2200": invoice.tax_minor} if invoice.tax_minor else {}
        posts(
            invoice,
            "invoice_sent",
            invoice.bill_date,
            invoice,
            ar,
            revenue,
            invoice.total_minor,
            charged,
        )
        if invoice.status == Invoice.Status.VOID:
            voided_on = timezone.localdate(invoice.voided_at)
            posts(
                invoice,
                "invoice_void",
                voided_on,
                invoice,
                revenue,
                ar,
                invoice.total_minor,
                charged,
            )
    for payment in Payment.objects.select_related("invoice"):
        args = (payment.invoice, cash, ar, payment.amount_minor)
        posts(payment, "payment", payment.paid_on, *args)
        if payment.status == Payment.Status.REMOVED:
            voided_on = timezone.localdate(payment.removed_at)
            posts(
                payment, "payment_void", voided_on, payment.invoice, ar, cash, payment.amount_minor
            )
    kinds = set()
    for writeoff in WriteOff.objects.select_related("invoice", "origin_dispute"):
        invoice, code = writeoff.invoice, codes[writeoff.accounting_code_id]
        if writeoff.origin_dispute is not None:
            kinds.add("dispute conversion")
            assert writeoff.writeoff_date == writeoff.origin_dispute.settled_on
            event = "dispute_conversion"
        else:
            kinds.add("revenue" if writeoff.revenue_impacting else "expense")
            event = "writeoff"
        assert (code == codes[invoice.revenue_code_id]) == writeoff.revenue_impacting
        tax = tax_parts(invoice, writeoff.amount_minor, writeoff.tax_relief_pending)
        amount = writeoff.amount_minor
        posts(writeoff, event, writeoff.writeoff_date, invoice, code, ar, amount, tax)
        if writeoff.status == WriteOff.Status.REVERSED:
            kinds.add("reversal")
            reversed_on = timezone.localdate(writeoff.reversed_at)
            posts(writeoff, "writeoff_reversal", reversed_on, invoice, ar, code, amount, tax)

    events = {event for _, _, event in expected}
    assert events == {
        "invoice_sent",
        "invoice_void",
        "payment",
        "payment_void",
        "writeoff",
        "dispute_conversion",
        "writeoff_reversal",
    }
    assert kinds == {"revenue", "expense", "dispute conversion", "reversal"}
    assert _seeded_journal() == expected
    assert f"{len(expected):,} journal entries" in out
    assert "the journal agrees" in run("verify_ledger")


def test_seed_billing_refuses_once_a_lock_date_is_set():
    AccountingPeriodLock.objects.create(locked_through=datetime.date(2026, 5, 31), reason="May")
    with pytest.raises(CommandError, match="closed through 2026-05-31"):
        run("seed_billing", *SMALL)
    assert not Invoice.objects.exists()


def test_backfill_refuses_once_a_lock_date_is_set():
    AccountingPeriodLock.objects.create(locked_through=datetime.date(2026, 5, 31), reason="May")
    with pytest.raises(CommandError, match="closed through 2026-05-31"):
        run("backfill_journal")


# --- the journal's indexes around a bulk load -------------------------------------


def journal_index_columns() -> dict[str, list[str]]:
    """Each journal index's columns, as the database has them."""
    from django.db import connection

    with connection.cursor() as cursor:
        return {
            name: info["columns"]
            for model in (JournalEntry, JournalLine)
            for name, info in connection.introspection.get_constraints(
                cursor, model._meta.db_table
            ).items()
            if info["index"] and not info["primary_key"] and not info["unique"]
        }


def ddl_of(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith(("DROP INDEX", "CREATE INDEX"))]


def test_a_bulk_seed_drops_the_journal_indexes_and_builds_the_same_ones_again():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    before = journal_index_columns()
    assert set(before) == {
        "journal_entry_date_idx",
        "journal_entry_invoice_idx",
        "journal_line_date_amounts_idx",
        "journal_line_invoice_idx",
        "journal_line_entry_idx",
    }
    with CaptureQueriesContext(connection) as queries:
        run("seed_billing", *SMALL)
    ddl = ddl_of(queries)
    # Every index dropped before the first row and built once after the last, but the
    # lines' entry index, which the taxed rows' one-by-one postings read through.
    assert [sql.split()[0] for sql in ddl] == ["DROP"] * 4 + ["CREATE"] * 4
    assert not any("journal_line_entry_idx" in sql for sql in ddl)
    first_insert = next(
        i for i, q in enumerate(queries) if q["sql"].startswith('INSERT INTO "billing_account"')
    )
    last_insert = max(
        i for i, q in enumerate(queries) if q["sql"].startswith('INSERT INTO "billing_journal')
    )
    drops = [i for i, q in enumerate(queries) if q["sql"].startswith("DROP INDEX")]
    creates = [i for i, q in enumerate(queries) if q["sql"].startswith("CREATE INDEX")]
    assert max(drops) < first_insert and min(creates) > last_insert
    assert journal_index_columns() == before
    # The unique constraint stayed: a second entry for an event is still refused.
    entry = JournalEntry.objects.first()
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        JournalEntry.objects.create(
            entry_date=entry.entry_date,
            currency=entry.currency,
            event=entry.event,
            invoice_id=entry.invoice_id,
            account_id=entry.account_id,
            source_type=entry.source_type,
            source_id=entry.source_id,
        )


def test_a_seed_that_fails_still_builds_the_indexes_it_dropped(monkeypatch):
    from writeoffs.management.commands import seed_billing

    before = journal_index_columns()

    def fail(self, batch_from):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(seed_billing.Command, "_post_journal_batch", fail)
    with pytest.raises(RuntimeError, match="disk is full"):
        run("seed_billing", *SMALL)
    assert journal_index_columns() == before
    assert not Invoice.objects.exists()
