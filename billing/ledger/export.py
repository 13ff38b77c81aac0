"""The journal export: one CSV row per journal line, for import into a general ledger.

The rows hold plain values (debit and credit as ``Decimal``); ``billing.csv_export``
writes them, guarding the text (a code name, a memo from an admin's correction
reason, an approver's name) against being run as a spreadsheet formula.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet

from billing.models import JournalLine

EXPORT_HEADER = [
    "Date",
    "Entry number",
    "Code",
    "Code name",
    "Debit",
    "Credit",
    "Currency",
    "Memo",
    "Source document",
    "Posted at",
    "Approver",
]


EXPORT_CHUNK = 2000


def journal_export_rows(lines: QuerySet[JournalLine]) -> Iterator[list[object]]:
    """One CSV row per line, read ``EXPORT_CHUNK`` lines at a time (a server-side
    cursor on PostgreSQL), so a million lines never sit in memory."""
    from billing.money import from_minor

    columns = lines.values_list(
        "entry_date",
        "entry_id",
        "accounting_code__code",
        "accounting_code__name",
        "debit_minor",
        "credit_minor",
        "currency",
        "entry__memo",
        "entry__source_type",
        "entry__source_id",
        "entry__posted_at",
        "entry__approved_by_label",
    )
    for (
        entry_date,
        entry_id,
        code,
        name,
        debit,
        credit,
        currency,
        memo,
        source_type,
        source_id,
        posted_at,
        approver,
    ) in columns.iterator(chunk_size=EXPORT_CHUNK):
        yield [
            entry_date,
            entry_id,
            code,
            name,
            from_minor(debit, currency) if debit else None,
            from_minor(credit, currency) if credit else None,
            currency,
            memo,
            f"{source_type}:{source_id}",
            posted_at,
            approver,
        ]
