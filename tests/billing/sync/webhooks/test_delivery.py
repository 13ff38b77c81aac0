"""Sending the feed to webhook endpoints: each event once, in feed order per endpoint,
retried with backoff for 24 hours and then given up, against a real local receiver.
The clock is moved, never slept on."""

from __future__ import annotations

import datetime
import json
import random

import pytest
from django.db import transaction
from django.test import Client

from billing.actors import Actor
from billing.api.keys import api_key_create
from billing.events import record_event
from billing.factories import InvoiceFactory
from billing.models import DeliveryOutcome, Event, WebhookDelivery, WebhookEndpoint
from billing.sync.webhooks.delivery import (
    RETRY_WINDOW,
    _claim,
    _record,
    deliver_endpoint,
    due_endpoint_ids,
    retry_wait,
)
from billing.sync.webhooks.endpoints import webhook_endpoint_create, webhook_endpoint_update
from billing.sync.webhooks.sending import SendResult
from tests.webhook_receiver import Answer

pytestmark = pytest.mark.django_db


def write_events(count: int, type_: str = "payment.recorded") -> list[int]:
    ids = []
    with transaction.atomic():
        for number in range(count):
            event = record_event(
                type_, actor=Actor.for_system(), obj_kind="payment", obj_number=number + 1
            )
            ids.append(event.id)
    return ids


def endpoint_for(receiver, name="billing", **options) -> WebhookEndpoint:
    return webhook_endpoint_create(name=name, url=receiver.url, start_after=0, **options)


def outcomes(endpoint) -> list[tuple[int | None, int, str]]:
    return list(
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .order_by("id")
        .values_list("event_id", "attempt", "outcome")
    )


def test_an_endpoint_receives_each_event_once_in_feed_order(receiver):
    endpoint = endpoint_for(receiver)
    ids = write_events(3)
    run = deliver_endpoint(endpoint.pk)
    assert run.delivered == 3
    assert receiver.event_ids() == ids
    endpoint.refresh_from_db()
    assert endpoint.last_event_id == ids[-1]
    assert endpoint.head_event_id is None
    assert outcomes(endpoint) == [(event_id, 1, "delivered") for event_id in ids]
    # Nothing is sent twice.
    assert deliver_endpoint(endpoint.pk).delivered == 0
    assert len(receiver.requests) == 3


def test_the_body_is_the_event_exactly_as_the_feed_lists_it(receiver, invoice, clerk_actor):
    from billing.receivables.payments import payment_record

    endpoint = endpoint_for(receiver)
    payment_record(invoice_id=invoice.pk, amount="12.50", actor=clerk_actor)
    deliver_endpoint(endpoint.pk)
    key = api_key_create("feed-reader", "clerk")[1]
    feed = Client().get("/api/v1/events", headers={"Authorization": f"Bearer {key}"}).json()
    received = receiver.requests[0]
    assert json.loads(received.body) == feed["events"][0]
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["Webhook-Event-Type"] == "payment.recorded"
    assert received.headers["Webhook-Event-Id"] == str(feed["events"][0]["id"])


def test_a_failing_event_holds_back_the_events_after_it_until_it_is_delivered(receiver, clock):
    endpoint = endpoint_for(receiver)
    ids = write_events(3)
    receiver.answer(Answer(200), Answer(500, b"down"), Answer(200))
    run = deliver_endpoint(endpoint.pk)
    assert (run.delivered, run.failed) == (1, 1)
    assert receiver.event_ids() == [ids[0], ids[1]]
    endpoint.refresh_from_db()
    assert endpoint.last_event_id == ids[0]
    assert endpoint.head_event_id == ids[1]
    assert run.retry_at == endpoint.next_attempt_at > clock.now

    # Not due yet: event 3 is not sent ahead of event 2.
    assert deliver_endpoint(endpoint.pk).delivered == 0
    assert receiver.event_ids() == [ids[0], ids[1]]

    clock.move(hours=1)
    assert deliver_endpoint(endpoint.pk).delivered == 2
    assert receiver.event_ids() == [ids[0], ids[1], ids[1], ids[2]]
    assert outcomes(endpoint) == [
        (ids[0], 1, "delivered"),
        (ids[1], 1, "failed"),
        (ids[1], 2, "delivered"),
        (ids[2], 1, "delivered"),
    ]
    # Every attempt at one event carries the same idempotency key; another event's differs.
    keys = [request.headers["Idempotency-Key"] for request in receiver.requests]
    assert keys[1] == keys[2] and len({keys[0], keys[1], keys[3]}) == 3


def test_each_retry_waits_about_twice_as_long_as_the_last_up_to_an_hour(receiver, clock):
    endpoint = endpoint_for(receiver)
    write_events(1)
    receiver.answer(Answer(503))
    waits = []
    for _ in range(10):
        run = deliver_endpoint(endpoint.pk)
        assert run.failed == 1
        waits.append((run.retry_at - clock.now).total_seconds())
        clock.now = run.retry_at
    nominal = [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    for wait, full in zip(waits, nominal, strict=True):
        assert full / 2 <= wait <= full
    assert [d.attempt for d in WebhookDelivery.objects.order_by("id")] == list(range(1, 11))


def test_retry_wait_is_jittered_between_half_and_all_of_the_doubling_wait():
    rng = random.Random(7)
    seen = {retry_wait(3, rng) for _ in range(50)}
    assert len(seen) > 40
    assert all(
        datetime.timedelta(seconds=60) <= wait <= datetime.timedelta(seconds=120) for wait in seen
    )
    assert retry_wait(1000, rng) <= datetime.timedelta(hours=1)


def test_an_event_is_given_up_24_hours_after_its_first_attempt_and_the_next_one_follows(
    receiver, clock
):
    endpoint = endpoint_for(receiver)
    ids = write_events(2)
    receiver.answer(Answer(500))
    first_attempt = clock.now
    deliver_endpoint(endpoint.pk)
    clock.move(hours=23, minutes=59, seconds=45)
    run = deliver_endpoint(endpoint.pk)
    assert run.failed == 1
    # The last retry comes at the 24-hour mark, not an hour later.
    assert run.retry_at == first_attempt + RETRY_WINDOW

    clock.now = run.retry_at
    receiver.answer(Answer(500), Answer(200))
    run = deliver_endpoint(endpoint.pk)
    assert (run.given_up, run.delivered) == (1, 1)
    endpoint.refresh_from_db()
    assert endpoint.last_event_id == ids[1]
    assert outcomes(endpoint)[-2:] == [(ids[0], 3, "given_up"), (ids[1], 1, "delivered")]


def test_two_endpoints_are_delivered_independently(receiver, clock):
    failing = endpoint_for(receiver, name="failing")
    webhook_endpoint_update(
        endpoint_id=failing.pk,
        name="failing",
        url=receiver.url.replace("/hooks", "/broken"),
        event_types=[],
        active=True,
    )
    healthy = endpoint_for(receiver, name="healthy")
    ids = write_events(2)
    receiver.answer(Answer(500))
    assert deliver_endpoint(failing.pk).failed == 1
    receiver.answer(Answer(200))
    assert deliver_endpoint(healthy.pk).delivered == 2
    paths = [
        (request.path, int(request.headers["Webhook-Event-Id"])) for request in receiver.requests
    ]
    assert paths == [("/broken", ids[0]), ("/hooks", ids[0]), ("/hooks", ids[1])]
    assert due_endpoint_ids() == [healthy.pk]


def test_an_inactive_endpoint_is_sent_nothing(receiver):
    endpoint = endpoint_for(receiver, active=False)
    write_events(2)
    assert deliver_endpoint(endpoint.pk).outcomes == []
    assert receiver.requests == []
    assert due_endpoint_ids() == []


def test_an_endpoint_is_sent_only_the_event_types_it_asked_for(receiver):
    endpoint = endpoint_for(receiver, event_types=["invoice.voided"])
    write_events(2)
    voided = write_events(1, "invoice.voided")
    write_events(1)
    assert deliver_endpoint(endpoint.pk).delivered == 1
    assert receiver.event_ids() == voided
    endpoint.refresh_from_db()
    assert endpoint.last_event_id == voided[0]


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(receiver):
    endpoint = endpoint_for(receiver)
    write_events(1)
    receiver.answer(Answer(200, delay=1.5))
    run = deliver_endpoint(endpoint.pk)
    assert run.failed == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.status_code is None
    assert "timed out" in delivery.error.lower()
    assert delivery.duration_ms < 1400


def test_a_non_2xx_answer_is_a_failed_attempt_with_its_status_and_an_excerpt(receiver):
    endpoint = endpoint_for(receiver)
    write_events(1)
    receiver.answer(Answer(422, b"x" * 2000))
    deliver_endpoint(endpoint.pk)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.status_code) == (DeliveryOutcome.FAILED, 422)
    assert delivery.response_excerpt == "x" * 500
    assert delivery.next_attempt_at is not None


def test_a_redirect_is_not_followed_and_counts_as_a_failed_attempt(receiver):
    endpoint = endpoint_for(receiver)
    write_events(1)
    receiver.answer(Answer(302, location=receiver.url + "/elsewhere"), Answer(200))
    run = deliver_endpoint(endpoint.pk)
    assert run.failed == 1
    assert [request.path for request in receiver.requests] == ["/hooks"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status_code == 302
    assert "not followed" in delivery.error


def test_a_target_inside_the_network_is_refused_unless_allowed(receiver, settings):
    endpoint = endpoint_for(receiver)
    write_events(1)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    deliver_endpoint(endpoint.pk)
    assert receiver.requests == []
    assert "inside the network" in WebhookDelivery.objects.get().error


def test_a_leased_endpoint_is_left_to_the_sender_holding_it(receiver):
    endpoint = endpoint_for(receiver)
    write_events(1)
    claim = _claim(endpoint.pk)
    assert claim is not None
    assert deliver_endpoint(endpoint.pk).outcomes == []
    assert due_endpoint_ids() == []
    assert receiver.requests == []


def test_after_a_lease_runs_out_the_head_is_sent_again_and_the_late_outcome_dropped(
    receiver, clock
):
    endpoint = endpoint_for(receiver)
    ids = write_events(1)
    stale = _claim(endpoint.pk)  # a sender that died, or hung, during its POST
    assert stale is not None
    clock.move(minutes=5)
    assert deliver_endpoint(endpoint.pk).delivered == 1
    assert receiver.event_ids() == ids
    assert _record(stale, SendResult(200, "", "", 1)) is None
    assert outcomes(endpoint) == [(ids[0], 1, "delivered")]


def test_the_event_rows_the_log_names_are_kept(receiver):
    endpoint = endpoint_for(receiver)
    write_events(1)
    deliver_endpoint(endpoint.pk)
    assert WebhookDelivery.objects.get().event == Event.objects.get()


def test_an_invoice_voided_event_carries_the_invoice_numbers(receiver, supervisor_actor):
    from billing.receivables.invoices import invoice_void

    endpoint = endpoint_for(receiver)
    invoice = InvoiceFactory(total_minor=10_00, external_id="in_1")
    invoice_void(invoice_id=invoice.pk, reason="Issued twice", actor=supervisor_actor)
    deliver_endpoint(endpoint.pk)
    body = json.loads(receiver.requests[0].body)
    assert body["type"] == "invoice.voided"
    assert body["invoice"] == {"invoice_no": invoice.invoice_no, "external_id": "in_1"}
