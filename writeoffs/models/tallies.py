"""The Write-offs page's footers as a tally (``billing.models.tallies.Tally``): an
account's active write-offs and open holds, read as a handful of rows by index
instead of summing every one of its write-offs (50,000 on the busy account).

Fed by triggers on the write-off and dispute-hold tables (``billing.tally_feeds``;
installed by migration 0022): a status change into or out of active (or open), a
new amount or a recovery moves it in the same transaction, whichever path made it.
"""

from __future__ import annotations

from django.db import models

from billing.models import Account
from billing.models.tallies import Tally


class AccountWriteoffTally(Tally):
    """Per account (a write-off and a hold are in its currency): Σ its active
    write-offs' amounts and recovered amounts, and Σ its open holds' amounts."""

    account = models.ForeignKey(
        Account, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    active_gross_minor = models.BigIntegerField(default=0)
    active_recovered_minor = models.BigIntegerField(default=0)
    open_held_minor = models.BigIntegerField(default=0)

    KEYS = ("account",)
    SUMS = ("active_gross_minor", "active_recovered_minor", "open_held_minor")

    class Meta:
        verbose_name = "write-off footer tally"

    def __str__(self) -> str:
        return f"{self.account_id}"
