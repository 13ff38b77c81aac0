"""Today's open receivables as tallies (``billing.models.tallies.Tally``): what the
home page, today's aging and the aging's account rows read instead of every open
item.

Both are fed by triggers on the invoice table (``billing.tally_feeds``; installed by
migration 0018), from the figures each invoice stores: its AR-control balance
(``ar_balance_minor``, which posting keeps), and the held and pending amounts and
aging date the services keep under its row lock. A settled or void invoice carries
0 due, 0 held and 0 pending, so it adds nothing: no open-item condition is needed.
"""

from __future__ import annotations

from django.db import models

from billing.models.accounts import Account
from billing.models.tallies import Tally

RECEIVABLE_SUMS = ("due_minor", "held_minor", "pending_minor")


class AgingTally(Tally):
    """Open receivables per currency and aging date: due (Σ AR-control balances),
    held and pending, and the balance due the sent invoices store (total - paid -
    written off: the running totals the services keep apart from the journal, which
    today's aging checks its total against, and the home page shows). A few
    thousand keys at most (one per day of aging dates), so today's aging totals are
    bucketed from them in one small read."""

    currency = models.CharField(max_length=3)
    aging_date = models.DateField()
    due_minor = models.BigIntegerField(default=0)
    held_minor = models.BigIntegerField(default=0)
    pending_minor = models.BigIntegerField(default=0)
    balance_due_minor = models.BigIntegerField(default=0)

    KEYS = ("currency", "aging_date")
    SUMS = (*RECEIVABLE_SUMS, "balance_due_minor")

    def __str__(self) -> str:
        return f"{self.currency} {self.aging_date}"


class AccountTally(Tally):
    """Open receivables per account and currency: the aging's account rows are paged
    from it (accounts with something due, held or pending), not from the open items.
    No foreign-key constraint: a trigger's insert need not check the account."""

    account = models.ForeignKey(
        Account, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    currency = models.CharField(max_length=3)
    due_minor = models.BigIntegerField(default=0)
    held_minor = models.BigIntegerField(default=0)
    pending_minor = models.BigIntegerField(default=0)

    KEYS = ("account", "currency")
    SUMS = RECEIVABLE_SUMS

    def __str__(self) -> str:
        return f"{self.account_id} {self.currency}"
