"""One posting-rule table (billing/ledger/rules.py), read by the services' posting
(billing/ledger/posting.py), by seed_billing's bulk path (billing/ledger/bulk.py) and
by verify_ledger: the seed posts, entry by entry and line by line, what the services
post for the same rows, so a rule changed in one path only fails here."""

import datetime
import io
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.actors import Actor
from billing.ledger.posting import post_invoice_sent, post_payment, post_reversal, post_writeoff
from billing.ledger.rules import RULES, Field, Per, Posts, Reverses
from billing.models import Invoice, JournalEntry, JournalEvent, JournalLine, Payment
from writeoffs.management.commands.seed_billing import SEEDED_EVENTS
from writeoffs.models import WriteOff

pytestmark = pytest.mark.django_db

AS_OF = "2026-06-30"
SYSTEM = Actor.for_system()


@pytest.fixture(autouse=True)
def _local_demo_database(settings):
    settings.DEBUG = True


def journal() -> dict[tuple[str, int, str], tuple]:
    """Each entry by (source type, source id, event): everything a rule decides (date,
    currency, invoice, account, memo, sequence, approver) and its lines (code, debit,
    credit, line date, currency, invoice), sorted: lines of an entry have no order of
    their own. Who posted it and when are the poster's, not the rule's."""
    lines: dict[int, list] = {}
    for entry_id, *line in JournalLine.objects.values_list(
        "entry_id",
        "accounting_code_id",
        "debit_minor",
        "credit_minor",
        "entry_date",
        "currency",
        "invoice_id",
    ):
        lines.setdefault(entry_id, []).append(tuple(line))
    return {
        (source_type, source_id, event): (*rest, sorted(lines.get(entry_id, [])))
        for entry_id, source_type, source_id, event, *rest in JournalEntry.objects.values_list(
            "id",
            "source_type",
            "source_id",
            "event",
            "entry_date",
            "currency",
            "invoice_id",
            "account_id",
            "memo",
            "sequence",
            "approved_by_label",
        )
    }


def reversed_at(moment: datetime.datetime, row, event: JournalEvent) -> None:
    """A service's reversal of ``row``, made at ``moment``: it posts today's date."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        assert timezone.localdate() == timezone.localdate(moment)
        invoice = row if isinstance(row, Invoice) else row.invoice
        post_reversal(row, event=event, invoice=invoice, actor=SYSTEM)


def post_through_the_services() -> None:
    """Every seeded row's events, through the posting functions the services call,
    with the arguments they pass (a write-off on its write-off date, a reversal at the
    moment it happened)."""
    for invoice in Invoice.objects.exclude(status=Invoice.Status.DRAFT).order_by("pk"):
        post_invoice_sent(invoice, actor=SYSTEM)
        if invoice.status == Invoice.Status.VOID:
            reversed_at(invoice.voided_at, invoice, JournalEvent.INVOICE_VOID)
    for payment in Payment.objects.select_related("invoice").order_by("pk"):
        post_payment(payment, invoice=payment.invoice, actor=SYSTEM)
        if payment.status == Payment.Status.REMOVED:
            reversed_at(payment.removed_at, payment, JournalEvent.PAYMENT_VOID)
    for writeoff in WriteOff.objects.select_related("invoice").order_by("pk"):
        post_writeoff(
            writeoff, entry_date=writeoff.writeoff_date, actor=SYSTEM, invoice=writeoff.invoice
        )
        if writeoff.status == WriteOff.Status.REVERSED:
            reversed_at(writeoff.reversed_at, writeoff, JournalEvent.WRITEOFF_REVERSAL)


def test_the_seed_posts_what_the_services_post_entry_by_entry():
    call_command(
        "seed_billing",
        *["--accounts", "20", "--invoices-per-account", "30", "--as-of", AS_OF],
        *["--busy-account-writeoffs", "100"],
        stdout=io.StringIO(),
    )
    seeded = journal()
    # Every event the seed makes is in the sample, each kind of write-off too.
    assert {event for _, _, event in seeded} == {event for event, _ in SEEDED_EVENTS}
    writeoffs = WriteOff.objects.all()
    assert writeoffs.filter(revenue_impacting=True).exists()
    assert writeoffs.filter(revenue_impacting=False, origin_dispute__isnull=True).exists()

    JournalLine.objects.all().delete()
    JournalEntry.objects.all().delete()
    post_through_the_services()
    posted = journal()

    assert seeded.keys() == posted.keys()
    for key, entry in posted.items():
        assert seeded[key] == entry, key


# --- the table itself ---------------------------------------------------------------

# The model each rule posts (the seed's rows, and a recovery's payment).
POSTED_MODEL = {**dict(SEEDED_EVENTS), JournalEvent.RECOVERY: Payment}


def test_every_event_has_a_rule_and_every_rule_is_the_seeds_or_the_services_alone():
    assert set(RULES) == set(JournalEvent)
    seeded = {event for event, _ in SEEDED_EVENTS}
    # A recovery and a reclassification need what has been posted before: the seed
    # makes neither, the services post them one by one.
    # A provision is no row's of the seed's: a controller runs it at a month end.
    assert set(JournalEvent) - seeded == {
        JournalEvent.RECOVERY,
        JournalEvent.RECLASSIFICATION,
        JournalEvent.PROVISION,
    }


@pytest.mark.parametrize("event", list(POSTED_MODEL))
def test_a_rule_names_only_fields_and_states_its_rows_have(event):
    model = POSTED_MODEL[event]
    rule = RULES[event]
    statuses = set(model._meta.get_field("status").get_choices(include_blank=False))
    assert set(rule.states) <= {value for value, _ in statuses}
    if isinstance(rule, Reverses):
        assert model._meta.get_field(rule.date.field)
        for undone in rule.undoes:
            assert isinstance(RULES[undone], Posts)
        return
    assert isinstance(rule, Posts)
    fields = {f.attname for f in model._meta.concrete_fields}
    named = {rule.date} | {rule.approver or "pk"} | {rule.when.field if rule.when else "pk"}
    for line in rule.lines:
        # A line over parts (a recovery's, a split's tax parts) names the parts' fields.
        if line.per in (Per.ROW, Per.NET):
            named.add(line.amount)
            if isinstance(line.code, Field):
                named.add(line.code.name)
    assert named - {"pk"} <= fields
