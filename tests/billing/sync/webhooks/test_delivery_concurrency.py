"""Senders side by side on PostgreSQL: the task worker, a second worker and the sweep
all sending one endpoint's events at once still deliver each once, in feed order,
with one POST out at a time (the lease). SQLite runs one writer at a time, so the
test runs on PostgreSQL only (``DATABASE_URL=postgres://... pytest``)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from billing.actors import Actor
from billing.events import record_event
from billing.models import WebhookDelivery
from billing.sync.webhooks.delivery import deliver_endpoint
from billing.sync.webhooks.endpoints import webhook_endpoint_create
from tests.webhook_receiver import Answer

SENDERS = 4
EVENTS = 30

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; run with DATABASE_URL=postgres://...")


def test_senders_racing_on_one_endpoint_deliver_each_event_once_in_order(receiver):
    endpoint = webhook_endpoint_create(name="raced", url=receiver.url, start_after=0)
    with transaction.atomic():
        ids = [
            record_event(
                "payment.recorded", actor=Actor.for_system(), obj_kind="payment", obj_number=n
            ).id
            for n in range(EVENTS)
        ]
    receiver.answer(Answer(200, delay=0.01))
    start = threading.Barrier(SENDERS)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            start.wait()
            # Each sender goes on until nothing is left: the lease turns the others away
            # while a POST is out, and they come back for the next event.
            while WebhookDelivery.objects.count() < EVENTS:
                deliver_endpoint(endpoint.pk)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert receiver.event_ids() == ids
    assert list(WebhookDelivery.objects.order_by("id").values_list("event_id", flat=True)) == ids
