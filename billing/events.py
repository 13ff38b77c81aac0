"""Writing the events feed (SPEC Part 3, "Out: the events feed").

Each service that changes something the billing system must hear about calls
``record_event`` inside its own transaction, as its last write, so that the event
commits with the change or not at all.

Why a counter row, and not the table's sequence: on PostgreSQL a sequence hands
out ids when rows are inserted, not when they commit, so a reader paging on
``id > cursor`` can pass over an id whose writer commits a moment later, and never
see it. Here every writer locks the one ``EventCounter`` row, takes the next id
and holds the lock until it commits (or rolls back, which gives the id back). So
an id becomes visible only after every smaller id has committed, and a reader's
``id > cursor`` never skips one. The cost: event writers queue on that row for the
rest of their transaction, which is why the call comes last, after the service's
own row locks and postings. docs/api.md, "Events feed", has the figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from billing.actors import Actor
from billing.models import Account, Event, EventCounter, EventType, Invoice
from billing.sync.webhooks.tasks import wake_on_commit

COUNTER_ID = 1


def record_event(
    type: EventType | str,
    *,
    actor: Actor,
    obj_kind: str,
    obj_number: int | str,
    invoice: Invoice | None = None,
    account: Account | None = None,
    amounts: Mapping[str, Decimal] | None = None,
    currency: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> Event:
    """Write one event in the caller's transaction and return it.

    ``obj_kind`` and ``obj_number`` name the object the event is about (a write-off
    and its id, a dispute hold and its ``dispute_no``, a payment and its number).
    ``amounts`` are Decimals in ``currency`` (the invoice's by default) and go out
    as plain decimal strings. ``account`` defaults to the invoice's account.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event runs inside the service's transaction.")
    event_type = EventType(type)
    if account is None and invoice is not None:
        account = invoice.account
    if currency is None:
        currency = invoice.currency if invoice is not None else getattr(account, "currency", None)
    occurred_at = timezone.now()
    event_id = _next_id()
    payload: dict[str, Any] = {
        "id": event_id,
        "type": event_type.value,
        "occurred_at": occurred_at.isoformat().replace("+00:00", "Z"),
        "account": _account_part(account),
        "invoice": _invoice_part(invoice),
        "object": {"kind": obj_kind, "number": obj_number},
        "currency": currency,
        "amounts": {name: _plain(amount) for name, amount in (amounts or {}).items()},
    }
    if details:
        payload["details"] = dict(details)
    # The webhook senders hear of the event once it has committed.
    wake_on_commit()
    return Event.objects.create(
        id=event_id,
        type=event_type.value,
        occurred_at=occurred_at,
        account=account,
        invoice=invoice,
        actor_label=actor.label[:150],
        payload=payload,
    )


def _next_id() -> int:
    """The next event id. The UPDATE takes the counter row's lock, held until commit."""
    next_id = _take_next_id()
    if next_id is None:
        # A fresh database (or one a test flushed): start the counter after any
        # events already there. ignore_conflicts makes a concurrent first writer
        # wait for the other's row instead of failing, then take its turn on it.
        last = Event.objects.aggregate(last=Max("id"))["last"] or 0
        EventCounter.objects.bulk_create(
            [EventCounter(pk=COUNTER_ID, last_id=last)], ignore_conflicts=True
        )
        next_id = _take_next_id()
        assert next_id is not None
    return next_id


def _take_next_id() -> int | None:
    # One statement (PostgreSQL and SQLite 3.35+ both return the updated value), so
    # the bulk worker's per-item cost grows by this and the event's INSERT only.
    table = connection.ops.quote_name(EventCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_id = last_id + 1 WHERE id = %s RETURNING last_id",  # noqa: S608
            [COUNTER_ID],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _account_part(account: Account | None) -> dict[str, Any] | None:
    if account is None:
        return None
    return {"acct_no": account.acct_no, "external_id": account.external_id}


def _invoice_part(invoice: Invoice | None) -> dict[str, Any] | None:
    if invoice is None:
        return None
    return {"invoice_no": invoice.invoice_no, "external_id": invoice.external_id}


def _plain(amount: Decimal) -> str:
    """``1234.50``: a plain decimal string, never a float or an exponent."""
    return format(Decimal(amount), "f")
