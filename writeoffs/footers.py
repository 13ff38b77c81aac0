"""The Write-offs page's footer totals from ``AccountWriteoffTally``, which the
write-off and dispute-hold tables' triggers keep: one indexed read of an account's
few rows, not a sum over all its write-offs. Also the tally's source recomputed
from the rows, for ``verify_ledger`` and ``rebuild_aggregates``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from billing import tallies
from billing.models import Account
from writeoffs.models import AccountWriteoffTally, DisputeHold, WriteOff


@dataclass(frozen=True)
class FooterFigures:
    """In minor units of the account's currency."""

    active_gross_minor: int = 0
    active_recovered_minor: int = 0
    open_held_minor: int = 0


def footer_figures(account: Account) -> FooterFigures:
    found = tallies.figures(AccountWriteoffTally, account=account)
    sums = found.get((account.pk,))
    return FooterFigures(*sums) if sums else FooterFigures()


def _summed(rows: QuerySet, column: str) -> Coalesce:
    total = (
        rows.filter(account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(total=Sum(column))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=IntegerField()), 0)


def footer_tally_source() -> QuerySet:
    """The tally recomputed from the rows, per account with an active write-off or
    an open hold: each sum one lookup in the footer indexes
    (``writeoff_account_total_idx``, ``dispute_account_total_idx``)."""
    active = WriteOff.objects.filter(status=WriteOff.Status.ACTIVE)
    open_holds = DisputeHold.objects.filter(status=DisputeHold.Status.OPEN)
    return (
        Account.objects.annotate(
            recomputed_gross=_summed(active, "amount_minor"),
            recomputed_recovered=_summed(active, "recovered_minor"),
            recomputed_held=_summed(open_holds, "amount_minor"),
        )
        .filter(Q(recomputed_gross__gt=0) | Q(recomputed_held__gt=0))
        .values_list("pk", "recomputed_gross", "recomputed_recovered", "recomputed_held")
        .order_by()
    )


def register_footer_tally() -> None:
    """Called by write-offs' AppConfig.ready()."""
    tallies.register(AccountWriteoffTally, footer_tally_source)
