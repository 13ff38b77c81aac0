"""The events feed at depth (measure_events): seeding many events with one bulk SQL
statement, the page request, and the bare SELECT it is compared with.

Events are made by SQL, not by ``record_event``: what is measured is a page's read,
and the rows only need the feed's shape (the payload ``record_event`` writes, with
numbers and external ids of a realistic length). Table and column names come from
the models' metadata; the values are parameters.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.test import Client

from billing.models import Event, EventCounter

PAGE = 1000
# Rows per INSERT ... SELECT: each statement is its own transaction, so a long seed
# reports progress and never holds one huge transaction.
BATCH = 500_000


def seed_events(count: int, note: Callable[[str], None]) -> int:
    """Append ``count`` events after the last one; returns the last id."""
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        first = cursor.fetchone()[0] + 1
    last = first + count - 1
    for start in range(first, last + 1, BATCH):
        end = min(start + BATCH - 1, last)
        with connection.cursor() as cursor:
            cursor.execute(_insert_sql(table), [start, end])
        note(f"    events {end:,} / {last:,}")
    EventCounter.objects.update_or_create(pk=1, defaults={"last_id": last})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {table}")
    return last


def _insert_sql(table: str) -> str:
    """One INSERT ... SELECT over a series of ids: payment.recorded events, each with
    an account, an invoice, an amount and details, as ``record_event`` builds them."""
    if connection.vendor == "postgresql":
        series = "generate_series(%s::bigint, %s::bigint) AS s(g)"
        payload = (
            "jsonb_build_object("
            "'id', g, 'type', 'payment.recorded', "
            "'occurred_at', "
            "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
            "'account', jsonb_build_object('acct_no', 300000 + g %% 20000, "
            "'external_id', 'cus_' || lpad((g %% 20000)::text, 14, '0')), "
            "'invoice', jsonb_build_object('invoice_no', 500000 + g, "
            "'external_id', 'in_' || lpad(g::text, 20, '0')), "
            "'object', jsonb_build_object('kind', 'payment', 'number', g), "
            "'currency', 'USD', "
            "'amounts', "
            "jsonb_build_object('amount', ((g %% 99999) / 100.0)::numeric(12, 2)::text), "
            "'details', jsonb_build_object('paid_on', '2026-12-07', 'method', 'check', "
            "'reference', 'chq ' || g, 'payment_external_id', NULL))"
        )
        return (
            f"INSERT INTO {table} (id, type, occurred_at, account_id, invoice_id, actor_label, "
            f"payload) SELECT g, 'payment.recorded', now(), NULL, NULL, 'API key sync', "
            f"{payload} FROM {series}"
        )
    payload = (
        "json_object('id', g, 'type', 'payment.recorded', "
        "'occurred_at', strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now'), "
        "'account', json_object('acct_no', 300000 + g %% 20000, "
        "'external_id', printf('cus_%%014d', g %% 20000)), "
        "'invoice', json_object('invoice_no', 500000 + g, "
        "'external_id', printf('in_%%020d', g)), "
        "'object', json_object('kind', 'payment', 'number', g), "
        "'currency', 'USD', "
        "'amounts', json_object('amount', printf('%%.2f', (g %% 99999) / 100.0)), "
        "'details', json_object('paid_on', '2026-12-07', 'method', 'check', "
        "'reference', 'chq ' || g, 'payment_external_id', NULL))"
    )
    return (
        f"WITH RECURSIVE s(g) AS (SELECT %s UNION ALL SELECT g + 1 FROM s WHERE g < %s) "
        f"INSERT INTO {table} (id, type, occurred_at, account_id, invoice_id, actor_label, "
        f"payload) SELECT g, 'payment.recorded', strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now'), "
        f"NULL, NULL, 'API key sync', {payload} FROM s"
    )


def feed_page(client: Client, key: str, after: int) -> Callable:
    """``GET /api/v1/events?after=...&limit=1000``, as the billing system sends it."""
    headers = {"Authorization": f"Bearer {key}"}
    params = {"after": str(after), "limit": str(PAGE)}
    return lambda: client.get("/api/v1/events", params, headers=headers)


def feed_bare_select(after: int) -> tuple[str, list]:
    """The rows of the same page: the payloads after the cursor, one more than the
    page (whether more follow), on the primary key."""
    table = Event._meta.db_table
    return f"SELECT payload FROM {table} WHERE id > %s ORDER BY id LIMIT %s", [after, PAGE + 1]
