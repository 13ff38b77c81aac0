"""The ledger check: recompute every invoice's running totals from its rows, check
the journal against the rows, and return what drifted (``Verification``).

Registered with billing (``billing.extensions.register_ledger_check``): the
``verify_ledger`` command prints its result, and a move of the lock date stores it in
the close snapshot.

This deliberately shares no code with the services or the posting code: it adds
up the integer minor units of the active payments, the active write-offs and the
open dispute holds itself. A check that reused the code it checks could not fail.
The postings each row must have are the SPEC's table, which is data
(``billing.ledger.rules``, the table the services and the seed post by): this reads
it, and works out each row's net per code from it on its own.

Each kind of row is read as one stream ordered by invoice (or by row), and the
streams are merged in id order, so memory stays flat on a million invoices. The
journal's per-row and per-invoice sums are grouped in SQL: a SUM over integer
columns is exact on both SQLite and PostgreSQL.

The journal checks:
- every entry balances (debits = credits);
- every invoice, payment and write-off has exactly the postings its state gives,
  and nothing else is posted;
- each invoice's AR-control lines sum to its balance due;
- per currency, AR control equals the sum of balance due over sent invoices.

Each failure has a kind (``kinds``). The stored-totals failures and the journal's
are listed up to the limit each, and all of them are counted.

The modules: ``totals`` (the invoices' stored totals), ``journal`` (the journal
against the rows), ``streams`` (the ordered streams both merge), ``kinds``.
"""

from __future__ import annotations

from billing.verification import Verification
from writeoffs.verification.journal import JournalCheck
from writeoffs.verification.kinds import (
    CONTROL_CODES,
    CURRENCY_AR_CONTROL,
    INVOICE_AR_CONTROL,
    INVOICE_TOTALS,
    POSTING_WITHOUT_ROW,
    UNBALANCED_ENTRY,
    UNKNOWN_SOURCE,
    WRONG_ENTRIES,
    WRONG_POSTINGS,
)
from writeoffs.verification.totals import check_stored_totals

__all__ = [
    "CONTROL_CODES",
    "CURRENCY_AR_CONTROL",
    "INVOICE_AR_CONTROL",
    "INVOICE_TOTALS",
    "POSTING_WITHOUT_ROW",
    "UNBALANCED_ENTRY",
    "UNKNOWN_SOURCE",
    "WRONG_ENTRIES",
    "WRONG_POSTINGS",
    "verify_ledger",
]


def verify_ledger(limit: int = 1000) -> Verification:
    """Check every invoice's stored totals and the whole journal against the rows.

    At most ``limit`` drifting invoices and ``limit`` journal problems are listed;
    all are counted. ``checked`` counts the invoices and the journal entries.
    """
    result = Verification()
    check_stored_totals(result, limit)
    JournalCheck(result, limit).run()
    return result
