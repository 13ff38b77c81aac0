"""The events feed under concurrent writers, on PostgreSQL: the cursor never skips.

On PostgreSQL, ids from a sequence are taken at insert and become visible at commit,
so under concurrent writers they appear out of order: a reader paging on
``id > cursor`` can pass id 5 while its writer is still committing, having already
seen 6, and never return to it. Here writers hold their transactions open for a
random while after writing their event (a late commit), while a reader pages the
feed through the real API as fast as it can. Everything it saw, put together, must
be every event exactly once, in order.

SQLite has one writer at a time, so commits cannot interleave there: the test runs
on PostgreSQL only (``DATABASE_URL=postgres://... pytest``).
"""

from __future__ import annotations

import random
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from billing.actors import Actor
from billing.api.keys import api_key_create
from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.models import Event
from billing.receivables.payments import payment_record
from billing.roles import CLERK

WRITERS = 10
EVENTS_PER_WRITER = 8

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite allows one writer at a time, so commits never interleave; run with "
            "DATABASE_URL=postgres://... to test the cursor under concurrent writers."
        )


def test_a_reader_paging_during_late_commits_sees_every_event_once_in_order():
    clerk = UserFactory(username="feed-writer", groups=[CLERK])
    account = AccountFactory()
    # One invoice per writer: the writers contend only on the feed, not on an invoice.
    invoice_ids = [InvoiceFactory(account=account, total_minor=1_000_00).pk for _ in range(WRITERS)]
    raw_key = api_key_create("feed-race", "clerk")[1]
    reader_ready = threading.Event()
    writers_done = threading.Event()
    errors: list[BaseException] = []
    pages: list[list[int]] = []

    def write(i: int) -> None:
        rng = random.Random(i)
        try:
            actor = Actor.for_user(type(clerk).objects.get(pk=clerk.pk))
            assert reader_ready.wait(timeout=60)
            for _ in range(EVENTS_PER_WRITER):
                with transaction.atomic():
                    payment_record(invoice_id=invoice_ids[i], amount="1.00", actor=actor)
                    # The event is written; the commit comes late.
                    time.sleep(rng.uniform(0, 0.03))
                time.sleep(rng.uniform(0, 0.01))
        except BaseException as error:  # asserted on below
            errors.append(error)
        finally:
            connections.close_all()

    def read() -> None:
        client = Client()
        cursor = "0"  # before the first event (left out would do the same)
        try:
            # A first request loads the URLconf and middleware: the writers wait for
            # it, so the paging below overlaps their commits.
            assert client.get("/api/v1/events", {"limit": 1}).status_code == 401
            reader_ready.set()
            while True:
                finished = writers_done.is_set()
                response = client.get(
                    "/api/v1/events",
                    {"after": cursor, "limit": 7},
                    headers={"Authorization": f"Bearer {raw_key}"},
                )
                assert response.status_code == 200, response.content
                body = response.json()
                pages.append([event["id"] for event in body["events"]])
                cursor = body["next_cursor"]
                # Stop only on an empty page read after every writer had committed.
                if finished and not body["events"]:
                    return
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=120)
    writers_done.set()
    reader.join(timeout=120)

    assert not errors, errors
    seen = [event_id for page in pages for event_id in page]
    all_ids = list(Event.objects.order_by("id").values_list("id", flat=True))
    assert len(all_ids) == WRITERS * EVENTS_PER_WRITER
    assert len(seen) == len(set(seen)), "an event was returned twice"
    assert seen == all_ids, "the reader skipped or reordered an event"
    assert all_ids == list(range(1, len(all_ids) + 1))
    # The race really raced: the reader read while writers were still committing.
    assert sum(1 for page in pages if page) > 1
    assert sum(1 for page in pages if not page) > 1
