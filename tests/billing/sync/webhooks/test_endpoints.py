"""Registering endpoints, and the services admin's actions call."""

import datetime

import pytest
from django.db import transaction

from billing.actors import Actor
from billing.errors import BillingError
from billing.events import record_event
from billing.models import WebhookDelivery
from billing.sync.webhooks.delivery import deliver_endpoint
from billing.sync.webhooks.endpoints import (
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
    webhook_retry_now,
    webhook_send_test,
)
from billing.sync.webhooks.sending import signature
from tests.webhook_receiver import Answer

pytestmark = pytest.mark.django_db


def write_event():
    with transaction.atomic():
        return record_event(
            "payment.recorded", actor=Actor.for_system(), obj_kind="payment", obj_number=1
        )


def test_a_new_endpoint_starts_after_the_last_event_so_history_is_not_replayed(receiver):
    earlier = write_event()
    endpoint = webhook_endpoint_create(name="billing", url=receiver.url)
    assert endpoint.last_event_id == earlier.id
    later = write_event()
    deliver_endpoint(endpoint.pk)
    assert receiver.event_ids() == [later.id]


def test_an_endpoint_may_start_from_the_beginning_of_the_feed(receiver):
    earlier = write_event()
    endpoint = webhook_endpoint_create(name="billing", url=receiver.url, start_after=0)
    deliver_endpoint(endpoint.pk)
    assert receiver.event_ids() == [earlier.id]


def test_each_endpoint_gets_its_own_generated_secret(receiver):
    first = webhook_endpoint_create(name="one", url=receiver.url)
    second = webhook_endpoint_create(name="two", url=receiver.url)
    assert first.secret.startswith("whsec_") and len(first.secret) == 54
    assert first.secret != second.secret
    assert first.secret not in repr(first) and first.secret not in str(first)


def test_rotating_the_secret_signs_the_next_delivery_with_the_new_one(receiver):
    endpoint = webhook_endpoint_create(name="one", url=receiver.url)
    old = endpoint.secret
    endpoint = webhook_endpoint_rotate_secret(endpoint_id=endpoint.pk)
    assert endpoint.secret != old
    write_event()
    deliver_endpoint(endpoint.pk)
    request = receiver.requests[0]
    timestamp = int(request.headers["Webhook-Timestamp"])
    assert request.headers["Webhook-Signature"] == signature(
        endpoint.secret, timestamp, request.body
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "bad\u202ename"}, "name"),
        ({"url": "ftp://example.com"}, "url"),
        ({"event_types": ["payment.recorded", "no.such"]}, "event_types"),
    ],
)
def test_bad_input_is_refused_with_the_field_named_and_nothing_written(changes, field):
    values = {"name": "billing", "url": "https://billing.example.com/hook", **changes}
    with pytest.raises(BillingError) as refused:
        webhook_endpoint_create(**values)
    assert refused.value.field == field
    from billing.models import WebhookEndpoint

    assert not WebhookEndpoint.objects.exists()


def test_a_second_endpoint_of_the_same_name_is_refused():
    webhook_endpoint_create(name="billing", url="https://billing.example.com/a")
    with pytest.raises(BillingError) as refused:
        webhook_endpoint_create(name="billing", url="https://billing.example.com/b")
    assert refused.value.field == "name"


def test_an_update_keeps_the_cursor_and_changes_what_an_admin_may_change(receiver):
    endpoint = webhook_endpoint_create(name="one", url=receiver.url, start_after=0)
    write_event()
    deliver_endpoint(endpoint.pk)
    endpoint.refresh_from_db()
    cursor = endpoint.last_event_id
    updated = webhook_endpoint_update(
        endpoint_id=endpoint.pk,
        name="renamed",
        url=receiver.url + "/v2",
        event_types=["invoice.voided"],
        active=False,
    )
    assert (updated.name, updated.active, updated.event_types) == (
        "renamed",
        False,
        ["invoice.voided"],
    )
    assert updated.last_event_id == cursor


def test_retry_now_makes_a_waiting_event_due_and_keeps_its_24_hours(receiver, clock):
    endpoint = webhook_endpoint_create(name="one", url=receiver.url, start_after=0)
    write_event()
    receiver.answer(Answer(500), Answer(200))
    deliver_endpoint(endpoint.pk)
    clock.move(seconds=5)
    assert webhook_retry_now(endpoint_id=endpoint.pk) is True
    endpoint.refresh_from_db()
    assert endpoint.next_attempt_at == clock.now
    assert endpoint.head_first_attempt_at == clock.now - datetime.timedelta(seconds=5)
    assert deliver_endpoint(endpoint.pk).delivered == 1
    assert webhook_retry_now(endpoint_id=endpoint.pk) is False


def test_a_test_event_is_signed_logged_and_moves_no_cursor(receiver):
    endpoint = webhook_endpoint_create(name="one", url=receiver.url)
    delivery = webhook_send_test(endpoint_id=endpoint.pk)
    assert delivery.outcome == "delivered" and delivery.event is None
    request = receiver.requests[0]
    assert request.headers["Webhook-Event-Type"] == "webhook.test"
    timestamp = int(request.headers["Webhook-Timestamp"])
    assert request.headers["Webhook-Signature"] == signature(
        endpoint.secret, timestamp, request.body
    )
    endpoint.refresh_from_db()
    assert endpoint.last_event_id == 0 and endpoint.head_event_id is None
    assert WebhookDelivery.objects.count() == 1
