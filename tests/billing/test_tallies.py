"""The generic tally (billing/tallies.py): deltas added, read per key, compacted,
checked against their source and rebuilt, on whichever database the run uses. The
tally here is AgingTally; with no invoice changing meanwhile, its feed adds nothing
to the deltas the tests write."""

import datetime

import pytest

from billing import tallies
from billing.factories import InvoiceFactory
from billing.models import AccountTally, AgingTally
from billing.receivables.tallies import aging_tally_source

pytestmark = pytest.mark.django_db

DAY1 = datetime.date(2026, 3, 1)
DAY2 = datetime.date(2026, 3, 2)


def delta(currency="USD", day=DAY1, due=0, held=0, pending=0, stored=0) -> dict:
    return {
        "currency": currency,
        "aging_date": day,
        "due_minor": due,
        "held_minor": held,
        "pending_minor": pending,
        "balance_due_minor": stored,
    }


def test_add_writes_a_row_per_delta_that_changes_something_and_figures_sum_them():
    added = tallies.add(
        AgingTally,
        [delta(due=500), delta(due=-200, held=50), delta(), delta("EUR", DAY2, pending=7)],
    )
    assert added == 3
    assert AgingTally.objects.count() == 3
    assert tallies.figures(AgingTally) == {
        ("USD", DAY1): (300, 50, 0, 0),
        ("EUR", DAY2): (0, 0, 7, 0),
    }
    assert tallies.figures(AgingTally, currency="EUR") == {("EUR", DAY2): (0, 0, 7, 0)}


def test_a_key_whose_deltas_cancel_has_no_figure():
    tallies.add(AgingTally, [delta(due=500), delta(due=-500)])
    assert tallies.figures(AgingTally) == {}


def test_compact_folds_each_key_into_one_row_and_drops_the_keys_that_net_to_zero():
    tallies.add(
        AgingTally,
        [
            delta(due=500),
            delta(due=250, held=10),
            delta("EUR", DAY2, stored=9),
            delta("EUR", DAY2, stored=-9),
            delta("JPY", DAY2, due=3),
        ],
    )
    before = tallies.figures(AgingTally)

    assert tallies.compact(AgingTally) == (5, 2)

    assert AgingTally.objects.count() == 2
    assert (
        tallies.figures(AgingTally)
        == before
        == {
            ("USD", DAY1): (750, 10, 0, 0),
            ("JPY", DAY2): (3, 0, 0, 0),
        }
    )
    # Nothing left to fold: the same rows again.
    assert tallies.compact(AgingTally) == (2, 2)
    assert tallies.figures(AgingTally) == before


def test_compact_of_an_empty_tally_writes_nothing():
    assert tallies.compact(AgingTally) == (0, 0)


def test_drift_names_each_key_that_differs_from_its_source_and_rebuild_repairs_it(account):
    InvoiceFactory(account=account, total_minor=12000)
    InvoiceFactory(account=account, total_minor=3000, aging_date=DAY2)
    assert tallies.drift(AgingTally, aging_tally_source()) == (0, [])
    tallies.add(AgingTally, [delta(day=DAY1, due=7), delta("CHF", DAY2, held=1)])

    count, listed = tallies.drift(AgingTally, aging_tally_source())

    assert count == 2
    assert {(d.key, d.recomputed) for d in listed if d.key[0] == "CHF"} == {
        (("CHF", DAY2), (0, 0, 0, 0))
    }
    assert tallies.drift(AgingTally, aging_tally_source(), limit=1)[0] == 2
    assert len(tallies.drift(AgingTally, aging_tally_source(), limit=1)[1]) == 1
    tallies.rebuild(AgingTally, aging_tally_source())
    assert tallies.drift(AgingTally, aging_tally_source()) == (0, [])
    rows = AgingTally.objects.count()
    tallies.rebuild(AgingTally, aging_tally_source())
    assert AgingTally.objects.count() == rows
    assert tallies.drift(AgingTally, aging_tally_source()) == (0, [])


def test_every_tally_is_registered_with_its_source():
    from writeoffs.models import AccountWriteoffTally

    models = [model for model, _source in tallies.registered()]
    assert {AgingTally, AccountTally, AccountWriteoffTally} <= set(models)


def test_compact_all_compacts_every_registered_tally(account):
    InvoiceFactory(account=account, total_minor=12000)
    InvoiceFactory(account=account, total_minor=3000)
    done = tallies.compact_all()
    assert set(done) == {model for model, _source in tallies.registered()}
    for model, source in tallies.registered():
        assert tallies.drift(model, source()) == (0, [])
        keys = model.objects.values_list(*model.KEYS)
        assert keys.count() == len(set(keys))


@pytest.mark.django_db(transaction=True)
def test_a_flush_leaves_every_tally_empty(account):
    """SQLite's flush deletes table by table: a source's DELETE trigger may write into
    a tally it already emptied; the flush's post_migrate rebuilds them."""
    from django.core.management import call_command

    InvoiceFactory(account=account, total_minor=12000)
    call_command("flush", interactive=False, verbosity=0)
    for model, _source in tallies.registered():
        assert not model.objects.exists(), model
