"""Reads that views share.

Every object a view shows is fetched through a getter scoped to the account in
the URL, so another account's invoice is a 404, never someone else's data.

Reads of the rows other apps keep against an invoice, including their parts of the
overview and the invoice's timeline, are those apps' own: they reach billing's pages
through billing.extensions.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from billing import extensions
from billing.models import Account, Invoice, JournalEntry, JournalLine, Payment
from billing.money import minor_money_text
from billing.parsing import is_ascii_digits
from billing.rules import today


def account_for(acct_no: int) -> Account:
    return get_object_or_404(Account, acct_no=acct_no)


def invoice_for(account: Account, invoice_no: int) -> Invoice:
    """The invoice ``invoice_no`` if it belongs to ``account``; 404 otherwise."""
    return get_object_or_404(
        Invoice.objects.select_related("revenue_code"), account=account, invoice_no=invoice_no
    )


def accounts_matching(query: str) -> QuerySet[Account]:
    """Accounts whose number is ``query``, whose client account ID starts with it, or
    whose name contains it.

    A number is matched exactly on ``acct_no`` (its unique index) rather than as text.
    """
    accounts = Account.objects.order_by("acct_no")
    query = query.strip()
    if not query:
        return accounts
    match = Q(client_acct_id__istartswith=query)
    if is_ascii_digits(query):
        match |= Q(acct_no=int(query))
    else:
        match |= Q(name__icontains=query)
    return accounts.filter(match)


# --- Invoices, payments and the account overview --------------------------


def invoices_filtered(account: Account, filters: dict) -> QuerySet[Invoice]:
    """The account's invoices, newest first, narrowed by the Invoices page's filters.

    Each filter reads a running total stored on the invoice row, so no filter
    needs a join or an aggregate.
    """
    # Ends on the primary key, for keyset pages; invoice_no is unique, so it never ties.
    invoices = Invoice.objects.filter(account=account).order_by("-bill_date", "-invoice_no", "-id")
    if filters.get("q"):
        invoices = invoices.filter(invoice_no=filters["q"])
    if filters.get("status"):
        invoices = invoices.filter(status=filters["status"])
    if filters.get("written_off"):
        invoices = invoices.filter(written_off_minor__gt=0)
    if filters.get("disputed"):
        invoices = invoices.filter(held_minor__gt=0)
    # Filters of rows billing does not keep (e.g. "recovered": some write-off was
    # partly paid after all), registered by the apps that keep them.
    for name, narrow in extensions.hooks.invoice_filters.items():
        if filters.get(name):
            invoices = invoices.filter(narrow(account))
    if filters.get("overdue"):
        invoices = invoices.filter(
            aging_date__lt=today(),
            total_minor__gt=F("paid_minor") + F("written_off_minor"),
        )
    return invoices


def account_payments(account: Account) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(account=account)
        .select_related("invoice")
        .order_by("-paid_on", "-id")
    )


def payment_for(account: Account, payment_id: int) -> Payment:
    return get_object_or_404(
        Payment.objects.select_related("invoice"), account=account, pk=payment_id
    )


def sent_invoice_sums(account: Account) -> tuple[int, int]:
    """Balance due and held, in minor units, over the account's sent invoices.

    The sums run over integer minor-unit columns, which every database (SQLite
    included) adds exactly.
    """
    sums = Invoice.objects.filter(account=account, status=Invoice.Status.SENT).aggregate(
        balance_due=Sum(F("total_minor") - F("paid_minor") - F("written_off_minor")),
        held=Sum("held_minor"),
    )
    return sums["balance_due"] or 0, sums["held"] or 0


# --- the invoice's timeline ------------------------------------------------------


@dataclass(frozen=True)
class Posting:
    code: str
    name: str
    debit: Decimal | None
    credit: Decimal | None


# What a timeline event posted: (source type, source id, journal event).
PostingKey = tuple[str, int, str]


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime.datetime
    actor: str
    subject: str
    description: str
    # The journal entry the event posted, if any: its key, number and lines.
    posted: PostingKey | None = None
    entry_number: int | None = None
    postings: tuple[Posting, ...] = ()

    @classmethod
    def of(
        cls, row, subject: str, description: str, posted: PostingKey | None = None
    ) -> TimelineEntry:
        """An entry for one historical row, with who made the change."""
        actor = row.history_actor or (
            row.history_user.get_username() if row.history_user_id else "unknown"
        )
        return cls(row.history_date, actor, subject, description, posted=posted)


# The invoice's own fields a change of which the timeline shows. Its running totals
# are left out: they change with a payment, write-off or hold, each its own entry.
_INVOICE_FIELDS = (
    "status",
    "bill_date",
    "due_date",
    "aging_date",
    "total_minor",
    "revenue_code_id",
)
# History rows read per kind of record; an invoice with more changes shows the newest.
TIMELINE_LIMIT = 500


def history_with_previous(model, **scope) -> Iterator[tuple[Any, Any]]:
    """The newest ``TIMELINE_LIMIT`` history rows of ``model`` in ``scope``, oldest
    first, each with the same record's row before it (``None`` for its first)."""
    newest = model.history.filter(**scope).select_related("history_user")
    newest = newest.order_by("-history_date", "-history_id")[:TIMELINE_LIMIT]
    previous: dict[int, Any] = {}
    for row in sorted(newest, key=lambda row: (row.history_date, row.history_id)):
        yield row, previous.get(row.id)
        previous[row.id] = row


def became(row, before, status: str) -> bool:
    """``row`` is the history row in which the record's status turned to ``status``."""
    return row.status == status and getattr(before, "status", None) != status


def invoice_and_payment_timeline(invoice: Invoice) -> list[TimelineEntry]:
    """The recorded changes to the invoice and its payments, oldest first per record.
    Two queries, however long the history."""
    currency = invoice.currency
    entries: list[TimelineEntry] = []

    def money(minor: int) -> str:
        return minor_money_text(minor, currency)

    subject = f"Invoice {invoice.invoice_no}"
    for row, before in history_with_previous(Invoice, id=invoice.pk):
        if row.history_type == "+":
            status = row.get_status_display().lower()
            entries.append(
                TimelineEntry.of(
                    row, subject, f"Invoice created ({status}, total {money(row.total_minor)})."
                )
            )
        elif before is not None:
            changes = []
            for name in _INVOICE_FIELDS:
                old, new = getattr(before, name), getattr(row, name)
                if old == new:
                    continue
                if name == "total_minor":
                    changes.append(f"total {money(old)} → {money(new)}")
                elif name == "revenue_code_id":
                    changes.append("revenue code changed")
                elif name == "aging_date":
                    # A re-age moves the invoice's one aging date: say for how much.
                    balance = row.total_minor - row.paid_minor - row.written_off_minor
                    changes.append(
                        f"aging date {old} → {new} (re-aged, for all of its balance of "
                        f"{money(balance)})"
                    )
                else:
                    changes.append(f"{name.replace('_', ' ')} {old} → {new}")
            if changes:
                sent = became(row, before, Invoice.Status.SENT)
                posted: PostingKey | None = (
                    ("billing.invoice", invoice.pk, "invoice_sent") if sent else None
                )
                entries.append(
                    TimelineEntry.of(row, subject, "Changed " + "; ".join(changes) + ".", posted)
                )

    for row, before in history_with_previous(Payment, invoice_id=invoice.pk):
        subject = f"Payment {row.id}"
        posted = None
        if row.history_type == "+":
            method = row.get_method_display().lower()
            reference = f", reference {row.reference}" if row.reference else ""
            description = (
                f"Payment of {money(row.amount_minor)} recorded "
                f"(paid {row.paid_on} by {method}{reference})."
            )
            posted = ("billing.payment", row.id, "payment")
        elif became(row, before, Payment.Status.REMOVED):
            description = f"Payment of {money(row.amount_minor)} removed: {row.removal_reason}"
            posted = ("billing.payment", row.id, "payment_void")
        else:
            description = "Payment details edited."
        entries.append(TimelineEntry.of(row, subject, description, posted))
    return entries


def _journal_by_event(invoice: Invoice) -> dict[tuple[str, int, str, int], list]:
    """The invoice's journal entries with their lines, keyed by (source, id, event,
    sequence). Two queries."""
    entries = {
        entry.pk: entry
        for entry in JournalEntry.objects.filter(invoice=invoice).order_by("id")[:TIMELINE_LIMIT]
    }
    lines: dict[int, list[Posting]] = {pk: [] for pk in entries}
    for line in (
        JournalLine.objects.filter(entry_id__in=list(entries))
        .select_related("accounting_code")
        .order_by("entry_id", "-debit_minor", "id")
    ):
        lines[line.entry_id].append(
            Posting(
                line.accounting_code.code,
                line.accounting_code.name,
                line.debit if line.debit_minor else None,
                line.credit if line.credit_minor else None,
            )
        )
    return {
        (entry.source_type, entry.source_id, entry.event, entry.sequence): [entry, lines[pk]]
        for pk, entry in entries.items()
    }


def with_postings(invoice: Invoice, entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """``entries`` with the journal entry each event posted, plus the entries no
    history row stands for (reclassifications, and rows seeded or backfilled in
    bulk, which have no history), newest first."""
    journal = _journal_by_event(invoice)
    shown = []
    for entry in entries:
        found = journal.pop((*entry.posted, 0), None) if entry.posted else None
        if found:
            entry = replace(entry, entry_number=found[0].pk, postings=tuple(found[1]))
        shown.append(entry)
    for journal_entry, postings in journal.values():
        shown.append(
            TimelineEntry(
                journal_entry.posted_at,
                journal_entry.created_by_label or "unknown",
                f"Journal entry {journal_entry.pk}",
                f"{journal_entry.get_event_display()} dated {journal_entry.entry_date}: "
                f"{journal_entry.memo}",
                entry_number=journal_entry.pk,
                postings=tuple(postings),
            )
        )
    shown.sort(key=lambda entry: entry.at, reverse=True)
    return shown
