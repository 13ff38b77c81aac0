"""Registering and managing webhook endpoints: the services admin calls.

The secret is made here (``whsec_`` and 48 hex digits from ``secrets``), never typed
in: a person-chosen secret is guessable. ``webhook_endpoint_rotate_secret`` makes a
new one; the receiver must take it before the next delivery verifies.
"""

from __future__ import annotations

import datetime
import secrets
import time
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from billing.errors import INVALID_INPUT, BillingError
from billing.models import DeliveryOutcome, Event, EventType, WebhookDelivery, WebhookEndpoint
from billing.rules import check_text
from billing.sync.webhooks import sending

SECRET_PREFIX = "whsec_"  # noqa: S105 - a label, not a secret
TEST_EVENT_TYPE = "webhook.test"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_hex(24)


def webhook_endpoint_create(
    *,
    name: str,
    url: str,
    event_types: Iterable[str] = (),
    active: bool = True,
    start_after: int | None = None,
) -> WebhookEndpoint:
    """Register an endpoint. It is sent the events written from now on, or from after
    event ``start_after`` (0: the whole feed) when given."""
    with transaction.atomic():
        name, url, types = endpoint_fields_check(name=name, url=url, event_types=event_types)
        if start_after is None:
            start_after = Event.objects.aggregate(last=Max("id"))["last"] or 0
        elif start_after < 0:
            raise BillingError(INVALID_INPUT, "Start after an event id, or 0.", field="start_after")
        return WebhookEndpoint.objects.create(
            name=name,
            url=url,
            secret=new_secret(),
            active=active,
            event_types=types,
            last_event_id=start_after,
        )


def webhook_endpoint_update(
    *, endpoint_id: int, name: str, url: str, event_types: Iterable[str], active: bool
) -> WebhookEndpoint:
    """Change what an admin may change. The cursor and the head's attempts stay: a
    changed URL gets the head next, and a deactivated endpoint, once active again,
    carries on from its cursor."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        name, url, types = endpoint_fields_check(
            name=name, url=url, event_types=event_types, endpoint_id=endpoint_id
        )
        endpoint.name, endpoint.url, endpoint.event_types, endpoint.active = (
            name,
            url,
            types,
            active,
        )
        endpoint.save(update_fields=["name", "url", "event_types", "active"])
        return endpoint


def webhook_endpoint_set_active(*, endpoint_id: int, active: bool) -> bool:
    """Activate or deactivate; False when it already was. A deactivated endpoint is
    sent nothing and keeps its cursor: once active again it carries on from there."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        if endpoint.active == active:
            return False
        endpoint.active = active
        endpoint.save(update_fields=["active"])
        return True


def webhook_endpoint_rotate_secret(*, endpoint_id: int) -> WebhookEndpoint:
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        endpoint.secret = new_secret()
        endpoint.save(update_fields=["secret"])
        return endpoint


def webhook_retry_now(*, endpoint_id: int, now: datetime.datetime | None = None) -> bool:
    """Make a waiting head due now (its 24 hours still count from its first attempt).
    False when the endpoint was not waiting. The caller then wakes a sender."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        if endpoint.next_attempt_at is None or endpoint.next_attempt_at <= now:
            return False
        endpoint.next_attempt_at = now
        endpoint.save(update_fields=["next_attempt_at"])
        return True


def webhook_send_test(*, endpoint_id: int) -> WebhookDelivery:
    """POST a ``webhook.test`` event, signed like any other, outside the feed: it has
    no event id in the feed, moves no cursor and is never retried. Logged."""
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    now = timezone.now()
    payload = {
        "id": 0,
        "type": TEST_EVENT_TYPE,
        "occurred_at": now.isoformat().replace("+00:00", "Z"),
        "details": {"endpoint": endpoint.name},
    }
    body = sending.event_body(payload)
    headers = sending.signed_headers(
        secret=endpoint.secret,
        body=body,
        event_id=0,
        event_type=TEST_EVENT_TYPE,
        key=f"test-{time.time_ns()}",
    )
    result = sending.post(endpoint.url, body=body, headers=headers)
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=None,
        attempt=1,
        attempted_at=now,
        outcome=DeliveryOutcome.DELIVERED if result.delivered else DeliveryOutcome.GIVEN_UP,
        status_code=result.status_code,
        response_excerpt=result.response_excerpt,
        error=result.error,
        duration_ms=result.duration_ms,
    )


def endpoint_fields_check(
    *, name: str, url: str, event_types: Iterable[str], endpoint_id: int | None = None
) -> tuple[str, str, list[str]]:
    """The checked name, URL and event types of a new or changed endpoint; the admin
    form asks this too, so it refuses exactly what the services refuse."""
    name = _name(name)
    url = sending.check_url(url.strip())
    types = _event_types(event_types)
    clashes = WebhookEndpoint.objects.filter(name=name)
    if endpoint_id is not None:
        clashes = clashes.exclude(pk=endpoint_id)
    if clashes.exists():
        raise BillingError(INVALID_INPUT, f"An endpoint is already named {name}.", field="name")
    return name, url, types


def _name(raw: str) -> str:
    name = check_text(raw or "", field="name").strip()
    if not name or len(name) > 100:
        raise BillingError(INVALID_INPUT, "Name the endpoint (up to 100 characters).", field="name")
    return name


def _event_types(raw: Iterable[str]) -> list[str]:
    types = list(dict.fromkeys(raw))
    unknown = [name for name in types if name not in EventType.values]
    if unknown:
        raise BillingError(
            INVALID_INPUT, f"Unknown event type(s): {', '.join(unknown)}.", field="event_types"
        )
    return types
