"""A dispute case's timeline, each event in words: "Case opened by clerk", "Status
changed from Open to In review", "Assigned to dana", "Dispute hold 12 of 40.00 USD on
invoice 1001 released", "Note added", "Attached statement.pdf (12 KB)". Newest first,
in local time like the rest of the screen (the template formats ``at``)."""

from __future__ import annotations

from billing.money import minor_money_text
from billing.receivables.timeline import TimelineEntry, shown_date
from writeoffs.cases.files import describe_size
from writeoffs.models import Case, CaseStatus, DisputeHold

# How many changes of each kind a case page reads; a case has far fewer.
TIMELINE_LIMIT = 500


def _status_label(value: str) -> str:
    return CaseStatus(value).label if value in CaseStatus.values else value


def _case_changes(case: Case) -> list[TimelineEntry]:
    """Assignee, due date, contact and root cause changes, from the case's history."""
    entries: list[TimelineEntry] = []
    rows = list(
        case.history.select_related("assignee", "root_cause", "category").order_by("history_id")[
            :TIMELINE_LIMIT
        ]
    )
    for before, row in zip([None, *rows], rows, strict=False):
        if before is None:
            continue
        words = []
        if row.assignee_id != before.assignee_id:
            words.append(
                f"Assigned to {row.assignee.get_username()}." if row.assignee_id else "Unassigned."
            )
        if row.due_date != before.due_date:
            words.append(
                f"Due date changed from {shown_date(before.due_date)} to "
                f"{shown_date(row.due_date)}."
            )
        if row.category_id != before.category_id:
            words.append(f"Category changed to {row.category.name}.")
        if (row.contact_name, row.contact_email) != (before.contact_name, before.contact_email):
            contact = " ".join(p for p in (row.contact_name, f"<{row.contact_email}>") if p)
            words.append(f"Customer contact changed to {contact}.")
        if row.root_cause_id and row.root_cause_id != before.root_cause_id:
            words.append(f"Root cause: {row.root_cause.name}.")
        if words:
            actor = row.history_actor or (
                row.history_user.get_username() if row.history_user_id else "unknown"
            )
            entries.append(TimelineEntry(row.history_date, actor, str(case), " ".join(words)))
    return entries


def _hold_entries(hold: DisputeHold) -> list[TimelineEntry]:
    money = minor_money_text(hold.amount_minor, hold.invoice.currency)
    subject = f"Dispute hold {hold.number}"
    entries = [
        TimelineEntry(
            hold.created_at,
            hold.created_by_label,
            subject,
            f"{money} on invoice {hold.invoice.invoice_no} put on hold, expiring "
            f"{shown_date(hold.expires_on)}.",
        )
    ]
    settlement = hold.settlement
    if settlement is not None and hold.settled_at is not None:
        why = f": {hold.settlement_comments}" if hold.settlement_comments else "."
        entries.append(
            TimelineEntry(
                hold.settled_at,
                hold.settled_by_label,
                subject,
                f"{money} on invoice {hold.invoice.invoice_no} {settlement.outcome}{why}",
            )
        )
    return entries


def case_timeline(case: Case) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for change in case.status_changes.all()[:TIMELINE_LIMIT]:
        if change.from_status:
            description = (
                f"Status changed from {_status_label(change.from_status)} to "
                f"{_status_label(change.to_status)}."
            )
        else:
            description = f"Case opened ({_status_label(change.to_status)})."
        entries.append(
            TimelineEntry(change.changed_at, change.changed_by_label, str(case), description)
        )
    entries.extend(_case_changes(case))
    for hold in case.holds.select_related("invoice")[:TIMELINE_LIMIT]:
        entries.extend(_hold_entries(hold))
    for note in case.notes.all()[:TIMELINE_LIMIT]:
        entries.append(TimelineEntry(note.created_at, note.author_label, "Note", "Note added."))
    for attachment in case.attachments.all()[:TIMELINE_LIMIT]:
        entries.append(
            TimelineEntry(
                attachment.uploaded_at,
                attachment.uploaded_by_label,
                "Attachment",
                f"Attached {attachment.original_name} ({describe_size(attachment.size)}).",
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries
