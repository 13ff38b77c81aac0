"""The triggers that feed the receivable tallies (billing/tally_feeds.py, installed
by migration 0018): each kind of change of an invoice moves AgingTally and
AccountTally in its own transaction, whichever path made it, and a change of a
column they do not read writes nothing."""

import datetime

import pytest
from django.db.models import F

from billing import tallies
from billing.factories import AccountFactory, InvoiceFactory
from billing.models import AccountTally, AgingTally, Invoice
from billing.receivables.invoices import invoice_void
from billing.receivables.payments import payment_record
from billing.rules import today
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle

pytestmark = pytest.mark.django_db


def aging(invoice: Invoice) -> tuple[int, int, int, int]:
    invoice.refresh_from_db()
    return tallies.figures(AgingTally).get((invoice.currency, invoice.aging_date), (0, 0, 0, 0))


def by_account(invoice: Invoice) -> tuple[int, int, int]:
    return tallies.figures(AccountTally).get((invoice.account_id, invoice.currency), (0, 0, 0))


def assert_no_drift() -> None:
    for model, source in tallies.registered():
        assert tallies.drift(model, source()) == (0, []), model


def test_a_sent_invoice_adds_its_balance_and_a_draft_adds_nothing(account):
    draft = InvoiceFactory(account=account, status=Invoice.Status.DRAFT, total_minor=5000)
    assert aging(draft) == (0, 0, 0, 0)
    sent = InvoiceFactory(account=account, total_minor=12000)
    assert aging(sent) == (12000, 0, 0, 12000)
    assert by_account(sent) == (12000, 0, 0)
    assert_no_drift()


def test_payments_holds_pending_writeoffs_and_a_reage_each_move_the_tallies(
    account, clerk_actor, supervisor_actor
):
    invoice = InvoiceFactory(
        account=account, total_minor=100_00, due_date=today() - datetime.timedelta(days=45)
    )
    old_key = (invoice.currency, invoice.aging_date)
    payment_record(invoice_id=invoice.pk, amount="10.00", actor=clerk_actor)
    assert aging(invoice) == (90_00, 0, 0, 90_00)
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="20.00", comments="Disputed", actor=clerk_actor
    )
    assert aging(invoice) == (90_00, 20_00, 0, 90_00)
    assert by_account(invoice) == (90_00, 20_00, 0)
    writeoff_create(
        invoice_id=invoice.pk,
        amount="30.00",
        reason_code=0,
        comments="Bad debt",
        actor=clerk_actor,
    )
    # Over the clerk's limit or not, the tally follows what the invoice stores.
    invoice.refresh_from_db()
    assert aging(invoice) == (
        invoice.ar_balance_minor,
        20_00,
        invoice.pending_minor,
        invoice.total_minor - invoice.paid_minor - invoice.written_off_minor,
    )
    dispute_hold_settle(
        dispute_hold_id=hold.pk, action="release_reage", actor=supervisor_actor, comments="Agreed"
    )
    invoice.refresh_from_db()
    assert invoice.aging_date == today()
    # The whole invoice moved to its new aging date.
    assert tallies.figures(AgingTally).get(old_key) is None
    assert aging(invoice)[0] == invoice.ar_balance_minor
    assert_no_drift()


def test_a_void_invoice_leaves_the_tallies(account, supervisor_actor):
    invoice = InvoiceFactory(account=account, total_minor=4000)
    invoice_void(invoice_id=invoice.pk, reason="Billed twice", actor=supervisor_actor)
    assert aging(invoice) == (0, 0, 0, 0)
    assert by_account(invoice) == (0, 0, 0)
    assert_no_drift()


def test_a_bulk_update_behind_the_services_back_moves_the_tallies_too(account):
    invoices = [InvoiceFactory(account=account, total_minor=1000 * n) for n in range(1, 5)]
    Invoice.objects.filter(pk__in=[i.pk for i in invoices]).update(
        ar_balance_minor=F("ar_balance_minor") + 1, aging_date=today()
    )
    assert tallies.figures(AgingTally)[(account.currency, today())][0] == 10004
    assert_no_drift()


def test_an_invoice_moved_to_another_account_moves_its_account_figures(account):
    other = AccountFactory(currency=account.currency)
    invoice = InvoiceFactory(account=account, total_minor=7000)
    Invoice.objects.filter(pk=invoice.pk).update(account=other)
    assert tallies.figures(AccountTally) == {(other.pk, account.currency): (7000, 0, 0)}
    assert_no_drift()


def test_a_deleted_invoice_takes_its_figures_with_it(account):
    invoice = InvoiceFactory(account=account, status=Invoice.Status.DRAFT, total_minor=5000)
    Invoice.objects.filter(pk=invoice.pk).update(ar_balance_minor=5000, held_minor=100)
    assert by_account(invoice) == (5000, 100, 0)
    Invoice.objects.filter(pk=invoice.pk).delete()
    assert tallies.figures(AccountTally) == {}
    assert tallies.figures(AgingTally) == {}


def test_a_change_of_a_column_the_tallies_do_not_read_writes_no_row(account):
    invoice = InvoiceFactory(account=account, total_minor=5000)
    rows = AgingTally.objects.count(), AccountTally.objects.count()
    Invoice.objects.filter(pk=invoice.pk).update(external_id="X-1", void_reason="nothing")
    assert (AgingTally.objects.count(), AccountTally.objects.count()) == rows


class _Editor:
    """What the migrations' ``install_feeds`` asks of a schema editor."""

    def __init__(self, connection):
        self.connection = connection

    def execute(self, sql, params=None):
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)


@pytest.mark.parametrize(
    "module",
    ["billing.migrations.0018_receivable_tallies", "writeoffs.migrations.0022_footer_tally"],
)
def test_the_migration_builds_the_tallies_of_an_existing_database(module, account, clerk_actor):
    """billing 0018 and writeoffs 0022 on a database with invoices, write-offs and holds
    but no tallies: one grouped INSERT ... SELECT each, and the triggers in place."""
    import importlib

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module(module)
    invoice = InvoiceFactory(account=account, total_minor=100_00)
    InvoiceFactory(account=account, total_minor=40_00, due_date=today())
    writeoff_create(
        invoice_id=invoice.pk, amount="10.00", reason_code=0, comments="Bad", actor=clerk_actor
    )
    dispute_hold_create(invoice_id=invoice.pk, amount="5.00", comments="No", actor=clerk_actor)
    for model, _source in tallies.registered():
        model.objects.all().delete()

    migration.install_feeds(apps, _Editor(connection))

    tables = {feed.tally for feed in migration.FEEDS}
    built = [model for model, _source in tallies.registered() if model._meta.db_table in tables]
    assert built
    for model, source in tallies.registered():
        if model in built:
            assert tallies.drift(model, source()) == (0, []), model
            assert model.objects.exists()
    # The triggers it installed keep them from then on.
    payment_record(invoice_id=invoice.pk, amount="1.00", actor=clerk_actor)
    dispute_hold_create(invoice_id=invoice.pk, amount="2.00", comments="No", actor=clerk_actor)
    for model, source in tallies.registered():
        if model in built:
            assert tallies.drift(model, source()) == (0, []), model
