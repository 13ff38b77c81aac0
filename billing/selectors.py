"""Reads that views share.

Every object a view shows is fetched through a getter scoped to the account in
the URL, so another account's invoice is a 404, never someone else's data.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from billing.models import Account, Invoice, JournalEntry, JournalLine, Payment
from billing.money import format_money, from_minor
from billing.parsing import is_ascii_digits
from billing.rules import today
from writeoffs.models import DisputeHold, WriteOff


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


@dataclass(frozen=True)
class AccountTotals:
    currency: str
    balance_due_minor: int
    held_minor: int
    written_off_this_year_minor: int
    year: int

    @property
    def balance_due(self) -> Decimal:
        return from_minor(self.balance_due_minor, self.currency)

    @property
    def held(self) -> Decimal:
        return from_minor(self.held_minor, self.currency)

    @property
    def available(self) -> Decimal:
        return from_minor(self.balance_due_minor - self.held_minor, self.currency)

    @property
    def written_off_this_year(self) -> Decimal:
        return from_minor(self.written_off_this_year_minor, self.currency)


def account_totals(account: Account) -> AccountTotals:
    """Balance due and held over the account's sent invoices, and this year's write-offs.

    The sums run over integer minor-unit columns, which every database (SQLite
    included) adds exactly.
    """
    year = today().year
    sums = Invoice.objects.filter(account=account, status=Invoice.Status.SENT).aggregate(
        balance_due=Sum(F("total_minor") - F("paid_minor") - F("written_off_minor")),
        held=Sum("held_minor"),
    )
    written_off = WriteOff.objects.filter(
        account=account, status=WriteOff.Status.ACTIVE, writeoff_date__year=year
    ).aggregate(total=Sum("amount_minor"))
    return AccountTotals(
        currency=account.currency,
        balance_due_minor=sums["balance_due"] or 0,
        held_minor=sums["held"] or 0,
        written_off_this_year_minor=written_off["total"] or 0,
        year=year,
    )


@dataclass(frozen=True)
class Posting:
    code: str
    name: str
    debit: Decimal | None
    credit: Decimal | None


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime.datetime
    actor: str
    subject: str
    description: str
    # The journal entry the event posted, if any: its number and lines.
    entry_number: int | None = None
    postings: tuple[Posting, ...] = ()


def _journal_by_event(invoice: Invoice) -> dict[tuple[str, int, str], list]:
    """The invoice's journal entries with their lines, keyed by (source, id, event);
    reclassifications by their sequence too. Two queries."""
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


# Changes to these are the consequence of a payment, write-off or hold, which the
# timeline already shows as its own entry.
_RUNNING_TOTALS = {"paid_minor", "written_off_minor", "held_minor"}
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


def invoice_timeline(invoice: Invoice) -> list[TimelineEntry]:
    """Every recorded change to the invoice and its payments, write-offs and holds,
    newest first, with who made it, and the journal entry each event posted. Six
    queries, however long the history."""
    currency = invoice.currency
    entries: list[TimelineEntry] = []
    journal = _journal_by_event(invoice)

    def money(minor: int) -> str:
        return f"{format_money(from_minor(minor, currency), currency)} {currency}"

    def add(row, subject: str, description: str, posted: tuple | None = None) -> None:
        actor = row.history_actor or (
            row.history_user.get_username() if row.history_user_id else "unknown"
        )
        found = journal.pop((*posted, 0), None) if posted else None
        entries.append(
            TimelineEntry(
                row.history_date,
                actor,
                subject,
                description,
                entry_number=found[0].pk if found else None,
                postings=tuple(found[1]) if found else (),
            )
        )

    def oldest_first(model, **scope) -> list:
        newest = model.history.filter(**scope).select_related("history_user")
        newest = newest.order_by("-history_date", "-history_id")[:TIMELINE_LIMIT]
        return sorted(newest, key=lambda row: (row.history_date, row.history_id))

    def became(row, before, status: str) -> bool:
        return row.status == status and getattr(before, "status", None) != status

    subject = f"Invoice {invoice.invoice_no}"
    before = None
    for row in oldest_first(Invoice, id=invoice.pk):
        if row.history_type == "+":
            status = row.get_status_display().lower()
            add(row, subject, f"Invoice created ({status}, total {money(row.total_minor)}).")
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
                else:
                    changes.append(f"{name.replace('_', ' ')} {old} → {new}")
            if changes:
                sent = became(row, before, Invoice.Status.SENT)
                posted = ("billing.invoice", invoice.pk, "invoice_sent") if sent else None
                add(row, subject, "Changed " + "; ".join(changes) + ".", posted)
        before = row

    seen: dict[int, object] = {}
    for row in oldest_first(Payment, invoice_id=invoice.pk):
        before, seen[row.id] = seen.get(row.id), row
        subject = f"Payment {row.id}"
        if row.history_type == "+":
            method = row.get_method_display().lower()
            reference = f", reference {row.reference}" if row.reference else ""
            add(
                row,
                subject,
                f"Payment of {money(row.amount_minor)} recorded "
                f"(paid {row.paid_on} by {method}{reference}).",
                ("billing.payment", row.id, "payment"),
            )
        elif became(row, before, Payment.Status.REMOVED):
            add(
                row,
                subject,
                f"Payment of {money(row.amount_minor)} removed: {row.removal_reason}",
                ("billing.payment", row.id, "payment_void"),
            )
        else:
            add(row, subject, "Payment details edited.")

    seen = {}
    for row in oldest_first(WriteOff, invoice_id=invoice.pk):
        before, seen[row.id] = seen.get(row.id), row
        subject = f"Write-off {row.id}"
        if row.history_type == "+":
            origin = f" from dispute hold {row.origin_dispute_id}" if row.origin_dispute_id else ""
            add(
                row,
                subject,
                f"Wrote off {money(row.amount_minor)}{origin} "
                f"({row.get_reason_code_display()}), dated {row.writeoff_date}.",
                (
                    "writeoffs.writeoff",
                    row.id,
                    "dispute_conversion" if row.origin_dispute_id else "writeoff",
                ),
            )
        elif became(row, before, WriteOff.Status.REVERSED):
            add(
                row,
                subject,
                f"Write-off of {money(row.amount_minor)} reversed: {row.reversal_reason}",
                ("writeoffs.writeoff", row.id, "writeoff_reversal"),
            )
        else:
            add(row, subject, "Write-off comments or accounting code edited.")

    outcome = {
        DisputeHold.Status.WRITTEN_OFF: "converted to a permanent write-off",
        DisputeHold.Status.RELEASED: "released",
        DisputeHold.Status.RELEASED_REAGED: "released and re-aged",
    }
    seen = {}
    for row in oldest_first(DisputeHold, invoice_id=invoice.pk):
        before, seen[row.id] = seen.get(row.id), row
        subject = f"Dispute hold {row.id}"
        if row.history_type == "+":
            add(
                row,
                subject,
                f"Put {money(row.amount_minor)} on dispute hold, expiring {row.expires_on}.",
            )
        elif row.status in outcome and became(row, before, row.status):
            add(row, subject, f"Dispute hold of {money(row.amount_minor)} {outcome[row.status]}.")
        else:
            add(row, subject, "Dispute hold comments edited.")

    # Entries no history row stands for: reclassifications, and rows seeded or
    # backfilled in bulk (which have no history). Each shows as its own event.
    for entry, postings in journal.values():
        entries.append(
            TimelineEntry(
                entry.posted_at,
                entry.created_by_label or "unknown",
                f"Journal entry {entry.pk}",
                f"{entry.get_event_display()} dated {entry.entry_date}: {entry.memo}",
                entry_number=entry.pk,
                postings=tuple(postings),
            )
        )

    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries
