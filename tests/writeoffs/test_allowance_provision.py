"""The month end's allowance provision: what it posts (checked against the aging CSV,
worked out here on its own), its refusals, a second run, a dry run, the command."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils.formats import date_format

from billing.actors import Actor
from billing.errors import (
    INVALID_INPUT,
    INVALID_STATE,
    PERIOD_CLOSED,
    PERMISSION_DENIED,
    BillingError,
)
from billing.factories import UserFactory
from billing.models import AccountingPeriodLock, JournalEntry, JournalEvent, JournalLine
from billing.roles import CLERK, CONTROLLER
from billing.rules import today
from billing.verification import verify_ledger
from tests.writeoffs.reports_fixture import build_report_ledger
from writeoffs.allowance.provision import (
    month_end_of,
    provision_amount,
    provision_run,
)
from writeoffs.models import DEFAULT_RATES, ProvisionRate, ProvisionRun

pytestmark = pytest.mark.django_db

# The SPEC's starting matrix, by the aging CSV's column headings.
RATES = {
    "Current": Decimal("1"),
    "1\u201330": Decimal("3"),
    "31\u201360": Decimal("10"),
    "61\u201390": Decimal("25"),
    "Over 90": Decimal("50"),
    "On hold": Decimal("50"),
    "Pending approval": Decimal("50"),
}


@pytest.fixture
def ledger(clerk, supervisor, settings):
    return build_report_ledger(clerk, supervisor, settings)


@pytest.fixture
def last_month_end() -> datetime.date:
    return today().replace(day=1) - datetime.timedelta(days=1)


def required_from_aging_csv(client, user, month_end: datetime.date) -> dict[str, Decimal]:
    """Σ column total x rate, each rounded half-up to the cent, from the Total rows of
    the aging export as of the month end."""
    client.force_login(user)
    response = client.get(reverse("report_aging_csv"), {"as_of": month_end.isoformat()})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header = rows[0]
    required: dict[str, Decimal] = {}
    for row in rows[1:]:
        cells = dict(zip(header, row, strict=True))
        if cells["Account"] != "Total":
            continue
        required[cells["Currency"]] = sum(
            (
                (Decimal(cells[column]) * rate / 100).quantize(
                    Decimal("0.01"), rounding=ROUND_HALF_UP
                )
                for column, rate in RATES.items()
            ),
            Decimal(0),
        )
    return required


def allowance_posted(currency: str) -> Decimal:
    lines = JournalLine.objects.filter(
        entry__event=JournalEvent.PROVISION, currency=currency, accounting_code__code="1290"
    )
    credits = sum(line.credit_minor - line.debit_minor for line in lines)
    return Decimal(credits) / 100


def test_provision_posts_each_aging_columns_total_times_its_rate_from_the_aging_export(
    ledger, client, controller, controller_actor, last_month_end
):
    expected = required_from_aging_csv(client, controller, last_month_end)
    assert set(expected) == {"USD", "EUR"} and all(expected.values())

    result = provision_run(actor=controller_actor, month_end=last_month_end)

    assert {run.currency: allowance_posted(run.currency) for run in result.runs} == expected
    for run in result.runs:
        entry = run.journal_entry
        assert entry.entry_date == last_month_end
        assert entry.invoice_id is None
        lines = {line.accounting_code.code: line for line in entry.lines.all()}
        assert lines["6100"].debit_minor == lines["1290"].credit_minor == run.posted_minor
    assert verify_ledger(limit=10).ok


def test_a_second_run_for_the_same_month_posts_nothing(ledger, controller_actor, last_month_end):
    provision_run(actor=controller_actor, month_end=last_month_end)
    entries = JournalEntry.objects.count()

    again = provision_run(actor=controller_actor, month_end=last_month_end)

    assert again.plan.nothing_to_post
    assert JournalEntry.objects.count() == entries
    assert {run.status for run in again.runs} == {ProvisionRun.Status.NOTHING_TO_POST}


def test_a_second_run_after_a_rate_change_posts_only_the_new_difference(
    ledger, controller_actor, last_month_end
):
    first = {
        run.currency: run
        for run in provision_run(actor=controller_actor, month_end=last_month_end).runs
    }
    ProvisionRate.objects.filter(currency="EUR").update(rate=Decimal("0"))

    second = {
        run.currency: run
        for run in provision_run(actor=controller_actor, month_end=last_month_end).runs
    }

    assert second["USD"].posted_minor == 0
    # Every EUR rate at 0: the run releases what the first one booked.
    assert second["EUR"].posted_minor == -first["EUR"].posted_minor
    assert allowance_posted("EUR") == 0
    entry = second["EUR"].journal_entry
    lines = {line.accounting_code.code: line for line in entry.lines.all()}
    assert lines["1290"].debit_minor == lines["6100"].credit_minor == first["EUR"].posted_minor
    assert verify_ledger(limit=10).ok


def test_a_month_end_on_or_before_the_lock_date_is_refused_with_the_lock_date_error(
    ledger, controller_actor, last_month_end
):
    AccountingPeriodLock.objects.create(locked_through=last_month_end, reason="November closed")

    with pytest.raises(BillingError) as refused:
        provision_run(actor=controller_actor, month_end=last_month_end)

    assert refused.value.code == PERIOD_CLOSED
    assert date_format(last_month_end) in refused.value.message
    assert not ProvisionRun.objects.exists()


def test_a_run_whose_figures_differ_from_the_confirmed_ones_is_refused(
    ledger, controller_actor, last_month_end
):
    shown = provision_run(actor=controller_actor, month_end=last_month_end, dry_run=True)
    expected = {c.currency: c.difference_minor for c in shown.plan.currencies}
    provision_run(actor=controller_actor, month_end=last_month_end)  # someone else's run

    with pytest.raises(BillingError) as refused:
        provision_run(actor=controller_actor, month_end=last_month_end, expected=expected)

    assert refused.value.code == INVALID_STATE
    assert ProvisionRun.objects.count() == 2


def test_a_dry_run_shows_the_figures_and_writes_nothing(ledger, controller_actor, last_month_end):
    entries = JournalEntry.objects.count()

    result = provision_run(actor=controller_actor, month_end=last_month_end, dry_run=True)

    assert not result.plan.nothing_to_post and not result.runs
    assert JournalEntry.objects.count() == entries
    assert not ProvisionRun.objects.exists()


@pytest.mark.parametrize("role", ["clerk_actor", "supervisor_actor"])
def test_only_a_controller_runs_the_provision(ledger, request, role, last_month_end):
    with pytest.raises(BillingError) as refused:
        provision_run(actor=request.getfixturevalue(role), month_end=last_month_end)
    assert refused.value.code == PERMISSION_DENIED


def test_a_day_that_is_not_a_month_end_or_a_month_not_over_is_refused(controller_actor):
    next_month = month_end_of(today().year, today().month) + datetime.timedelta(days=1)
    not_a_month_end = today().replace(day=1) - datetime.timedelta(days=2)
    for day in (not_a_month_end, month_end_of(next_month.year, next_month.month)):
        with pytest.raises(BillingError) as refused:
            provision_run(actor=controller_actor, month_end=day)
        assert refused.value.code == INVALID_INPUT


def test_each_product_rounds_half_up_to_the_minor_unit():
    assert provision_amount(50, Decimal("1")) == 1  # 0.5 -> 1
    assert provision_amount(49, Decimal("1")) == 0
    assert provision_amount(-50, Decimal("1")) == -1
    assert provision_amount(12345, Decimal("3")) == 370  # 370.35


def test_the_command_posts_then_finds_nothing_to_post(ledger, last_month_end):
    month = last_month_end.strftime("%Y-%m")
    out = io.StringIO()
    call_command("provision_allowance", "--month", month, "--dry-run", stdout=out)
    assert "would post" in out.getvalue() and not ProvisionRun.objects.exists()

    out = io.StringIO()
    call_command("provision_allowance", "--month", month, stdout=out)
    assert "Posted journal entries" in out.getvalue()

    out = io.StringIO()
    call_command("provision_allowance", "--month", month, stdout=out)
    assert "nothing to post" in out.getvalue()


def test_the_command_exits_non_zero_on_a_refusal(ledger, last_month_end):
    AccountingPeriodLock.objects.create(locked_through=last_month_end, reason="closed")
    with pytest.raises(CommandError, match="3130"):
        call_command("provision_allowance", "--month", last_month_end.strftime("%Y-%m"))
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("provision_allowance", "--month", "2026-13")


def test_the_controller_role_may_run_it_and_the_clerk_may_not(controller, clerk):
    assert Actor.for_user(controller).has_perm("writeoffs.run_provision")
    assert not Actor.for_user(clerk).has_perm("writeoffs.run_provision")


def test_verify_ledger_flags_a_provision_run_whose_entry_does_not_match_it(
    ledger, controller_actor, last_month_end
):
    run = provision_run(actor=controller_actor, month_end=last_month_end).posted[0]
    ProvisionRun.objects.filter(pk=run.pk).update(
        posted_minor=run.posted_minor + 1, required_minor=run.required_minor + 1
    )

    result = verify_ledger(limit=10)

    assert not result.ok
    assert [failure.kind for failure in result.failures] == ["wrong_postings"]
    assert f"writeoffs.provisionrun {run.pk}" in result.failures[0].message


def test_the_controller_edits_a_rate_in_admin_and_its_history_keeps_it(client):
    rate = ProvisionRate.objects.get(currency="USD", bucket="over_90")
    client.force_login(UserFactory(username="staff-controller", is_staff=True, groups=[CONTROLLER]))
    url = reverse("admin:writeoffs_provisionrate_change", args=[rate.pk])
    assert client.get(url).status_code == 200

    response = client.post(url, {"rate": "60"})

    assert response.status_code == 302
    rate.refresh_from_db()
    assert rate.rate == Decimal("60")
    assert [h.rate for h in rate.history.order_by("history_id")][-1] == Decimal("60")


def test_a_clerk_may_not_edit_the_matrix_in_admin(client):
    rate = ProvisionRate.objects.get(currency="USD", bucket="over_90")
    client.force_login(UserFactory(username="staff-clerk", is_staff=True, groups=[CLERK]))
    url = reverse("admin:writeoffs_provisionrate_change", args=[rate.pk])
    assert client.post(url, {"rate": "0"}).status_code == 403
    rate.refresh_from_db()
    assert rate.rate == Decimal("50")


@pytest.mark.django_db(transaction=True)
def test_a_flushed_database_gets_the_starting_matrix_back():
    """A transactional test flushes every table, the data migration's rates included;
    a test after it on the same worker must still find the matrix (post_migrate puts
    it back, as it does the approval limits)."""
    call_command("flush", interactive=False, verbosity=0)
    for currency in ("USD", "EUR"):
        rates = dict(ProvisionRate.objects.filter(currency=currency).values_list("bucket", "rate"))
        assert rates == {str(bucket): rate for bucket, rate in DEFAULT_RATES.items()}
