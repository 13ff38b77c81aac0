"""Property: for any sequence of payments, write-offs, holds, settlements (by a person
today or by an expiry run on a past date) and reversals, and any date D, the aging
report's buckets plus its held (and, once it exists, pending) columns add up, per
currency, to the trial balance's AR control at D; and each invoice's held amount at
D is what a replay of the operations says was open then."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.actors import Actor
from billing.errors import BillingError
from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.models import Invoice
from billing.receivables.payments import payment_record
from billing.roles import SUPERVISOR
from billing.rules import today
from writeoffs import reports
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.expiry import dispute_holds_expire
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import DisputeHold, WriteOff

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)
BILLED_DAYS_AGO = (120, 60, 15)

invoice_ix = st.integers(0, len(BILLED_DAYS_AGO) - 1)
days_ago = st.integers(0, 130)
part = st.integers(1, 100)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), invoice_ix, part, days_ago),
        st.tuples(st.just("writeoff"), invoice_ix, part, days_ago),
        st.tuples(st.just("hold"), invoice_ix, part, days_ago),
        st.tuples(
            st.just("settle"),
            st.integers(0, 5),
            st.sampled_from(["convert", "release", "release_reage"]),
            st.integers(0, 40),  # 0: a person today; otherwise an expiry run that many days ago
        ),
        st.tuples(st.just("reverse"), st.integers(0, 5), st.just(0), st.just(0)),
    ),
    max_size=12,
)


class Rollback(Exception):
    pass


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations, dates=st.lists(st.integers(0, 140), min_size=1, max_size=4))
def test_buckets_plus_held_equal_ar_control_at_any_date(ops, dates):
    try:
        with transaction.atomic():
            _run(ops, dates)
            raise Rollback
    except Rollback:
        pass


def _run(ops, dates) -> None:
    t = today()
    actor = Actor.for_user(UserFactory(username="prop-supervisor", groups=[SUPERVISOR]))
    usd, eur = AccountFactory(currency="USD"), AccountFactory(currency="EUR")
    invoices = [
        InvoiceFactory(
            account=usd if i % 2 == 0 else eur,
            bill_date=t - ago * DAY,
            due_date=t - ago * DAY + 30 * DAY,
            aging_date=t - ago * DAY + 30 * DAY,
            total_minor=10000,
        )
        for i, ago in enumerate(BILLED_DAYS_AGO)
    ]
    # Replay: per hold, (invoice, amount, created on, settled on).
    opened: dict[int, list] = {}
    for op, a, b, c in ops:
        try:
            if op in ("pay", "writeoff", "hold"):
                invoice = Invoice.objects.get(pk=invoices[a].pk)
                amount = invoice.available_minor * b // 100
                if amount <= 0:
                    continue
                on = max(t - c * DAY, invoice.bill_date)
                text = f"{amount / 100:.2f}"
                if op == "pay":
                    payment_record(invoice_id=invoice.pk, amount=text, paid_on=on, actor=actor)
                elif op == "writeoff":
                    writeoff_create(
                        invoice_id=invoice.pk,
                        amount=text,
                        reason_code=0,
                        comments="p",
                        writeoff_date=on,
                        actor=actor,
                    )
                else:
                    hold = dispute_hold_create(
                        invoice_id=invoice.pk, amount=text, comments="p", actor=actor
                    )
                    created = timezone.now() - c * DAY
                    DisputeHold.objects.filter(pk=hold.pk).update(created_at=created)
                    opened[hold.pk] = [invoice.pk, amount, timezone.localdate(created), None]
            elif op == "settle":
                open_ids = sorted(
                    DisputeHold.objects.filter(status="open").values_list("pk", flat=True)
                )
                if not open_ids:
                    continue
                hold_id = open_ids[a % len(open_ids)]
                created_on = opened[hold_id][2]
                run_date = t - c * DAY
                if c == 0 or run_date <= created_on:
                    dispute_hold_settle(dispute_hold_id=hold_id, action=b, actor=actor)
                    opened[hold_id][3] = t
                else:
                    # Only this hold is due on the run date.
                    DisputeHold.objects.filter(pk=hold_id).update(expires_on=run_date - DAY)
                    due = DisputeHold.objects.filter(status="open", expires_on__lt=run_date)
                    for other in due.exclude(pk=hold_id):
                        DisputeHold.objects.filter(pk=other.pk).update(expires_on=run_date)
                    with override_settings(DISPUTE_HOLD_EXPIRATION_ACTION=b):
                        dispute_holds_expire(run_date=run_date)
                    opened[hold_id][3] = run_date
            elif op == "reverse":
                active = sorted(
                    WriteOff.objects.filter(status="active").values_list("pk", flat=True)
                )
                if active:
                    writeoff_reverse(writeoff_id=active[a % len(active)], reason="p", actor=actor)
        except BillingError:
            # A refused step (say, a conversion dated before its bill date) changes nothing.
            continue

    for ago in dates:
        as_of = t - ago * DAY
        report = reports.aging_report(as_of)
        control = reports.ar_control_at(as_of)
        for currency in set(control) | set(report.totals):
            total = report.totals.get(currency)
            bucketed = total.bucketed_minor if total else 0
            outside = sum(total.outside.values()) if total else 0
            assert bucketed + outside == control.get(currency, 0)
        held_at: dict[int, int] = {}
        for invoice_pk, amount, created_on, settled_on in opened.values():
            if created_on <= as_of and (settled_on is None or settled_on > as_of):
                held_at[invoice_pk] = held_at.get(invoice_pk, 0) + amount
        for currency in ("USD", "EUR"):
            cell = reports.aging_invoices(as_of, currency=currency, column="held")
            for invoice in cell:
                assert invoice.held_at == held_at.get(invoice.pk, 0)
            listed = {invoice.pk for invoice in cell}
            expected = {
                pk
                for pk, amount in held_at.items()
                if amount and Invoice.objects.get(pk=pk).currency == currency
            }
            assert listed == expected
