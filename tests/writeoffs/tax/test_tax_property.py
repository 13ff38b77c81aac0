"""Property: for any taxed invoice and any sequence of partial write-offs (revenue-
impacting or bad debt), recoveries, reversals, recovery voids and the day relief
comes due, every entry's parts add up exactly, tax payable never goes below what was
charged minus what was relieved (nor above what was charged), and undoing everything
restores every code.

Each example runs in a savepoint that is rolled back, so the examples share one
test database and stay fast; the ``ci`` profile runs more of them.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from billing.actors import Actor
from billing.factories import InvoiceFactory
from billing.models import Invoice, JournalEntry, JournalLine, Payment
from billing.money import from_minor
from billing.receivables.invoices import invoice_line_add, invoice_send
from billing.receivables.payments import payment_remove
from billing.rules import today
from billing.verification import verify_ledger
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.recovery import recoverable_minor, recovery_record
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.lifecycle.tax_relief import tax_relief_due
from writeoffs.models import WriteOff
from writeoffs.tax.expected import TaxedLine, expected_tax

pytestmark = pytest.mark.django_db

CODES = ("1200", "1000", "4000", "6100", "2200", "2210")

lines_strategy = st.lists(
    st.integers(min_value=1, max_value=100_000).flatmap(
        lambda net: st.tuples(st.just(net), st.integers(min_value=0, max_value=(net - 1) // 2))
    ),
    min_size=1,
    max_size=3,
)
step = st.one_of(
    st.tuples(st.just("writeoff"), st.floats(0.01, 1.0), st.booleans()),
    st.tuples(st.just("recover"), st.floats(0.01, 1.0), st.just(False)),
    st.tuples(st.just("reverse"), st.integers(0, 5), st.just(False)),
    st.tuples(st.just("void_recovery"), st.integers(0, 5), st.just(False)),
    # The day bad-debt relief comes due: the daily run's step.
    st.tuples(st.just("relief"), st.just(0), st.just(False)),
)


def balances() -> dict[str, int]:
    rows = (
        JournalLine.objects.filter(accounting_code__code__in=CODES)
        .values_list("accounting_code__code")
        .annotate(net=Sum("debit_minor") - Sum("credit_minor"))
    )
    return {code: 0 for code in CODES} | dict(rows)


def money(minor: int) -> str:
    return str(from_minor(minor, "USD"))


def fraction_of(minor: int, fraction: float) -> int:
    return max(1, int(Decimal(minor) * Decimal(str(round(fraction, 4)))))


sequences = given(lines=lines_strategy, relief_due=st.booleans(), steps=st.lists(step, max_size=7))
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@sequences
@settings(max_examples=4, deadline=None, suppress_health_check=HEALTH)
def test_a_few_sequences_keep_the_tax_split(
    lines, relief_due, steps, account, supervisor_actor, expense_code
):
    """The everyday loop's taste: each example is about a second of service calls."""
    with transaction.atomic():
        run_sequence(lines, relief_due, steps, account, supervisor_actor, expense_code)
        transaction.set_rollback(True)


@pytest.mark.slow
@sequences
# About a second an example: the ci profile's 500 would be eight minutes; 75 keeps
# the SQLite pass of CI near a minute for it.
@settings(
    max_examples=min(settings.default.max_examples, 75),
    deadline=None,
    suppress_health_check=HEALTH,
)
def test_no_sequence_breaks_the_tax_split(
    lines, relief_due, steps, account, supervisor_actor, expense_code
):
    with transaction.atomic():
        run_sequence(lines, relief_due, steps, account, supervisor_actor, expense_code)
        transaction.set_rollback(True)


def run_sequence(lines, relief_due, steps, account, actor, expense_code) -> None:
    bill = today() - datetime.timedelta(days=260 if relief_due else 40)
    invoice = InvoiceFactory(
        account=account,
        total_minor=0,
        status=Invoice.Status.DRAFT,
        bill_date=bill,
        due_date=bill + datetime.timedelta(days=30),
    )
    system = Actor.for_system()
    for net, tax in lines:
        invoice_line_add(
            invoice_id=invoice.pk,
            description="Line",
            amount=money(net),
            tax_code="STD20" if tax else None,
            tax_amount=money(tax) if tax else None,
            actor=system,
        )
    invoice_send(invoice_id=invoice.pk, actor=system)
    sent = balances()
    charged = sum(tax for _, tax in lines)
    taxed = [TaxedLine(net, tax, None) for net, tax in lines]
    writeoffs: list[int] = []
    recoveries: list[int] = []
    for kind, value, revenue_impacting in steps:
        invoice.refresh_from_db()
        note(f"{kind} {value} {revenue_impacting}")
        if kind == "writeoff" and invoice.available_minor > 0:
            writeoff = writeoff_create(
                invoice_id=invoice.pk,
                amount=money(fraction_of(invoice.available_minor, value)),
                reason_code=1 if revenue_impacting else 0,
                comments="Property",
                revenue_impacting=revenue_impacting,
                accounting_code_id=None if revenue_impacting else expense_code.pk,
                actor=actor,
            )
            writeoffs.append(writeoff.pk)
        elif kind == "recover" and recoverable_minor(invoice) > invoice.available_minor:
            reinstate = fraction_of(recoverable_minor(invoice) - invoice.available_minor, value)
            payment = recovery_record(
                invoice_id=invoice.pk,
                amount=money(invoice.available_minor + reinstate),
                actor=actor,
            )
            recoveries.append(payment.pk)
        elif kind == "reverse" and writeoffs:
            writeoff = WriteOff.objects.get(pk=writeoffs[value % len(writeoffs)])
            if writeoff.status == WriteOff.Status.ACTIVE and not writeoff.recovered_minor:
                writeoff_reverse(writeoff_id=writeoff.pk, reason="Undo", actor=actor)
        elif kind == "relief":
            # The step takes no future run date: the relief day comes to today instead.
            WriteOff.objects.filter(invoice=invoice, tax_relief_pending=True).update(
                tax_relief_due_on=today()
            )
            tax_relief_due()
        elif kind == "void_recovery" and recoveries:
            payment_id = recoveries.pop(value % len(recoveries))
            payment_remove(payment_id=payment_id, reason="Bounced", actor=actor)
        check_step(invoice, charged, taxed)

    assert verify_ledger(limit=10).ok
    # Undo everything: recovery payments first (a write-off with recoveries is not
    # reversed), then the write-offs: every code is back where the sending left it.
    for payment in Payment.objects.filter(invoice=invoice, status=Payment.Status.ACTIVE):
        payment_remove(payment_id=payment.pk, reason="Undo", actor=actor)
    for writeoff in WriteOff.objects.filter(invoice=invoice, status=WriteOff.Status.ACTIVE):
        writeoff_reverse(writeoff_id=writeoff.pk, reason="Undo", actor=actor)
    assert balances() == sent
    assert verify_ledger(limit=10).ok


def check_step(invoice: Invoice, charged: int, taxed: list[TaxedLine]) -> None:
    # Every write-off's and recovery's entry: its debits equal its credits, and the
    # AR control credit (the amount) equals the parts debited elsewhere.
    for entry in JournalEntry.objects.filter(invoice=invoice).prefetch_related("lines"):
        lines = list(entry.lines.all())
        assert sum(line.debit_minor for line in lines) == sum(line.credit_minor for line in lines)
    payable = -balances()["2200"]  # a credit balance
    # What the invoice's active write-offs relieved on tax payable (bad debts once due,
    # revenue-impacting at once), worked out from the rows alone.
    relieved = 0
    for amount in WriteOff.objects.filter(
        invoice=invoice, status=WriteOff.Status.ACTIVE, tax_relief_pending=False
    ).values_list("amount_minor", flat=True):
        relieved += sum(expected_tax(amount, taxed, pending_code_id=None).values())
    assert relieved <= charged
    assert charged - relieved <= payable <= charged
