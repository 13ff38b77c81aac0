"""End to end through a real ``db_worker`` on the ``webhooks`` queue: a committed
event wakes the endpoint, and the worker process POSTs it, signed, to the receiver."""

from __future__ import annotations

import pytest
from django.db import transaction

from billing.actors import Actor
from billing.events import record_event
from billing.models import WebhookDelivery
from billing.sync.webhooks.endpoints import webhook_endpoint_create
from billing.sync.webhooks.sending import signature
from tests.workers import start_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

RECEIVER_ON_THIS_HOST = {"WEBHOOK_ALLOW_PRIVATE_TARGETS": "1"}


def run_worker(queues: str) -> str:
    worker = start_worker(
        "webhooks-test", batch=True, queues=queues, extra_env=RECEIVER_ON_THIS_HOST
    )
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, output
    return output


def test_a_committed_event_is_posted_by_the_worker_on_the_webhooks_queue(receiver):
    endpoint = webhook_endpoint_create(name="billing", url=receiver.url)
    with transaction.atomic():
        event = record_event(
            "payment.recorded", actor=Actor.for_system(), obj_kind="payment", obj_number=7
        )
    # The bulk-run worker (the default queue) leaves it alone.
    run_worker("default")
    assert receiver.requests == []
    run_worker("webhooks")
    assert receiver.event_ids() == [event.id]
    request = receiver.requests[0]
    timestamp = int(request.headers["Webhook-Timestamp"])
    assert request.headers["Webhook-Signature"] == signature(
        endpoint.secret, timestamp, request.body
    )
    assert WebhookDelivery.objects.get().outcome == "delivered"
