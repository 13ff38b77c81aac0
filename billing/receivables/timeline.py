"""The invoice's timeline (its History): every recorded change, in words.

Each event is named the way a person would say it ("Revenue code changed from 4000
to 4100 (reason: …)", "Payment of 20.00 USD removed: …"), never by a field or model
name, with dates in the app's one format and moments in TIME_ZONE. Billing's part is
the invoice and its payments; the apps that keep other rows against the invoice add
theirs (``billing.extensions.register_invoice_page_context``) with the helpers here,
and ``with_postings`` puts the journal entry each event posted beside it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst

from billing.models import AccountingCode, Invoice, JournalEntry, JournalLine, Payment
from billing.money import minor_money_text


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


def shown_date(value: datetime.date | datetime.datetime) -> str:
    """A date, or a moment in TIME_ZONE, as every screen shows it ("Dec 7, 2026")."""
    if isinstance(value, datetime.datetime):
        return date_format(timezone.localtime(value), "DATETIME_FORMAT")
    return date_format(value)


def reason_of(row) -> str:
    """`` (reason: …)`` for a change made with a reason (history's change reason)."""
    reason = (getattr(row, "history_change_reason", "") or "").strip()
    return f" (reason: {reason})" if reason else ""


class CodeNames:
    """Accounting codes by id, read once and only if a change names one."""

    def __init__(self) -> None:
        self._codes: dict[int, str] | None = None

    def __call__(self, code_id: int | None) -> str:
        if code_id is None:
            return "none"
        if self._codes is None:
            self._codes = dict(AccountingCode.objects.values_list("id", "code"))
        return self._codes.get(code_id, "an unknown code")


def concrete_field(model: type[models.Model], name: str) -> models.Field:
    """A field of the row by its name or attname (``revenue_code_id``)."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field), name
    return field


def field_label(model: type[models.Model], name: str) -> str:
    """A field as a person names it: its verbose name, "total" for ``total_minor``."""
    if name.endswith("_minor"):
        return capfirst(name.removesuffix("_minor").replace("_", " "))
    return capfirst(str(concrete_field(model, name).verbose_name))


def field_value(
    model: type[models.Model],
    name: str,
    value: Any,
    *,
    money: Callable[[int], str],
    code_name: CodeNames,
) -> str:
    """A field's value in words: money with its currency, an accounting code's number,
    a choice's label, a date in the app's format, "none" for nothing."""
    if value is None or value == "":
        return "none"
    if name.endswith("_minor"):
        return money(value)
    field = concrete_field(model, name)
    if field.is_relation and field.related_model is AccountingCode:
        return code_name(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.date):
        return shown_date(value)
    return str(value)


def changed_fields(
    model: type[models.Model],
    before,
    row,
    names: tuple[str, ...],
    *,
    money: Callable[[int], str],
    code_name: CodeNames,
) -> list[str]:
    """ "Due date changed from Dec 1, 2026 to Dec 8, 2026", per field of ``names`` that
    changed between ``before`` and ``row``."""
    changes = []
    for name in names:
        old, new = getattr(before, name), getattr(row, name)
        if old == new:
            continue

        def value(of: Any, name: str = name) -> str:
            return field_value(model, name, of, money=money, code_name=code_name)

        changes.append(f"{field_label(model, name)} changed from {value(old)} to {value(new)}")
    return changes


def sentences(changes: list[str], row) -> str:
    """Changes made in one edit, as one sentence ending with the edit's reason."""
    return "; ".join(changes) + reason_of(row) + "."


# The invoice's own fields a change of which the timeline shows. Its running totals
# are left out: they change with a payment, write-off or hold, each its own entry.
# Its status and aging date have their own words below.
_INVOICE_FIELDS = ("bill_date", "due_date", "total_minor", "revenue_code_id")


def _invoice_change(row, before, money: Callable[[int], str], code_name: CodeNames) -> str:
    """What one change to the invoice did, in words ("" for nothing the timeline shows)."""
    changes = []
    if became(row, before, Invoice.Status.SENT):
        billed = f"{money(row.total_minor)} billed on {shown_date(row.bill_date)}"
        changes.append(f"Invoice sent: {billed}")
    if became(row, before, Invoice.Status.VOID):
        changes.append(
            f"Invoice voided: its {money(row.total_minor)} reversed out of the books, "
            f"nothing due on it (reason: {row.void_reason})"
        )
    if before.aging_date != row.aging_date:
        # A re-age moves the invoice's one aging date: say for how much.
        balance = row.total_minor - row.paid_minor - row.written_off_minor
        changes.append(
            f"Aging date moved from {shown_date(before.aging_date)} to "
            f"{shown_date(row.aging_date)} (re-aged), for all of its balance of {money(balance)}"
        )
    changes += changed_fields(
        Invoice, before, row, _INVOICE_FIELDS, money=money, code_name=code_name
    )
    if not changes:
        return ""
    if became(row, before, Invoice.Status.VOID):
        return "; ".join(changes) + "."
    return sentences(changes, row)


def invoice_and_payment_timeline(
    invoice: Invoice, code_name: CodeNames | None = None
) -> list[TimelineEntry]:
    """The recorded changes to the invoice and its payments, oldest first per record.
    Two queries, however long the history (three when a change names a code)."""
    currency = invoice.currency
    code_name = code_name or CodeNames()
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
            description = _invoice_change(row, before, money, code_name)
            if description:
                posted: PostingKey | None = None
                if became(row, before, Invoice.Status.SENT):
                    posted = ("billing.invoice", invoice.pk, "invoice_sent")
                elif became(row, before, Invoice.Status.VOID):
                    posted = ("billing.invoice", invoice.pk, "invoice_void")
                entries.append(TimelineEntry.of(row, subject, description, posted))

    for row, before in history_with_previous(Payment, invoice_id=invoice.pk):
        subject = f"Payment {row.id}"
        posted = None
        if row.history_type == "+":
            method = row.get_method_display().lower()
            reference = f", reference {row.reference}" if row.reference else ""
            description = (
                f"Payment of {money(row.amount_minor)} recorded "
                f"(paid {shown_date(row.paid_on)} by {method}{reference})."
            )
            posted = ("billing.payment", row.id, "payment")
        elif became(row, before, Payment.Status.REMOVED):
            description = f"Payment of {money(row.amount_minor)} removed: {row.removal_reason}"
            posted = ("billing.payment", row.id, "payment_void")
        else:
            changes = changed_fields(
                Payment, before, row, ("reference",), money=money, code_name=code_name
            )
            if not changes:
                continue
            description = sentences(changes, row)
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
                f"{journal_entry.get_event_display()} dated "
                f"{shown_date(journal_entry.entry_date)}: {journal_entry.memo}",
                entry_number=journal_entry.pk,
                postings=tuple(postings),
            )
        )
    shown.sort(key=lambda entry: entry.at, reverse=True)
    return shown
