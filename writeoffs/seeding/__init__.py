"""Demo data for ``seed_billing``, written in bulk.

- ``ledger``: accounts, invoices and their ledger rows, from the factories' prototypes
  and one seeded random stream;
- ``rows``: the bulk writer of each table (``executemany``, keys handed out here);
- ``indexes``: the journal's indexes, dropped around a bulk load and built after;
- ``users``: the demo users.

The journal of the seeded rows is posted by ``billing.ledger.bulk`` from the posting
rules the services post by (``billing.ledger.rules``).
"""

# The one actor every seeded row, history record and journal entry names.
SEED_LABEL = "seed_billing"
