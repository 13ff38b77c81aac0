"""Delivering the events feed to each webhook endpoint, in feed order.

Each attempt is three steps, so that no transaction stays open while a receiver
takes its time (on SQLite an open write would stop every other writer):

1. ``_claim``, a short transaction under the endpoint's row lock: find the head (the
   first wanted event after the cursor), check it is due, and lease the endpoint for
   the POST's longest time. A second worker, or the sweep beside it, finds the lease
   and leaves the endpoint alone; only one POST per endpoint is ever out, which is
   what keeps its events in order.
2. the POST, outside any transaction (``sending.post``).
3. ``_record``, again under the row lock: log the attempt, then move the cursor past
   the head (delivered, or given up 24 hours after its first attempt) or set the
   next attempt after a backoff. A sender that died after its POST leaves a lease
   that runs out; the head is sent again (at least once: the receiver drops the
   repeat by its ``Idempotency-Key``).

A sender that finds nothing due ends; the one whose attempt failed schedules the
retry (``DeliveryRun.retry_at``), so there is one wake-up per waiting endpoint.
"""

from __future__ import annotations

import datetime
import logging
import random
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.models import DeliveryOutcome, Event, WebhookDelivery, WebhookEndpoint
from billing.sync.webhooks import sending

log = logging.getLogger(__name__)

# SPEC Part 3: retried with backoff for 24 hours.
RETRY_WINDOW = datetime.timedelta(hours=24)
FIRST_RETRY_WAIT = datetime.timedelta(seconds=30)
LONGEST_RETRY_WAIT = datetime.timedelta(hours=1)
# The lease outlives the POST's own timeouts (connect plus read) by this much.
LEASE_MARGIN = datetime.timedelta(seconds=30)
# Attempts one sender makes before handing the endpoint to a fresh task.
ATTEMPTS_PER_RUN = 500

_jitter = random.Random()


def retry_wait(failures: int, rng: random.Random = _jitter) -> datetime.timedelta:
    """The wait after the ``failures``-th failed attempt at one event: 30 s doubling
    each time, at most 1 hour, and then a random part of it, between a half and
    the whole (jitter), so receivers coming back from an outage are not hit by
    every sender at once."""
    nominal = min(FIRST_RETRY_WAIT * 2 ** min(failures - 1, 20), LONGEST_RETRY_WAIT)
    return nominal * rng.uniform(0.5, 1.0)


@dataclass
class DeliveryRun:
    """What one sender did on one endpoint."""

    delivered: int = 0
    failed: int = 0
    given_up: int = 0
    # Set when this sender's last attempt failed: when the head is due again.
    retry_at: datetime.datetime | None = None
    # True when it stopped at ATTEMPTS_PER_RUN with more to send.
    more: bool = False
    outcomes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    endpoint_id: int
    token: str
    url: str
    secret: str
    event_id: int
    event_type: str
    payload: dict[str, Any]


def deliver_endpoint(endpoint_id: int, *, attempts: int = ATTEMPTS_PER_RUN) -> DeliveryRun:
    """Send the endpoint's due events in order, until nothing is due, an attempt fails,
    or ``attempts`` were made. Safe beside any other sender (the lease)."""
    run = DeliveryRun()
    # From here on, a commit wakes the endpoint again (tasks._wake_due_endpoints).
    WebhookEndpoint.objects.filter(pk=endpoint_id, woken_at__isnull=False).update(woken_at=None)
    for _ in range(attempts):
        claim = _claim(endpoint_id)
        if claim is None:
            return run
        body = sending.event_body(claim.payload)
        headers = sending.signed_headers(
            secret=claim.secret,
            body=body,
            event_id=claim.event_id,
            event_type=claim.event_type,
            key=sending.idempotency_key(claim.endpoint_id, claim.event_id),
        )
        result = sending.post(claim.url, body=body, headers=headers)
        delivery = _record(claim, result)
        if delivery is None:
            return run  # the lease ran out and another sender has the endpoint
        run.outcomes.append(delivery.outcome)
        if delivery.outcome == DeliveryOutcome.FAILED:
            run.failed += 1
            run.retry_at = delivery.next_attempt_at
            return run
        if delivery.outcome == DeliveryOutcome.DELIVERED:
            run.delivered += 1
        else:
            run.given_up += 1
    run.more = True
    return run


def due_endpoint_ids(now: datetime.datetime | None = None) -> list[int]:
    """Active endpoints that may have something to send now: not waiting for a retry
    and not leased. (Whether an event is there is the claim's question.)"""
    now = now or timezone.now()
    return list(
        WebhookEndpoint.objects.filter(active=True)
        .exclude(next_attempt_at__gt=now)
        .exclude(leased_until__gt=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def head_event(endpoint: WebhookEndpoint) -> Event | None:
    """The first event after the endpoint's cursor that it wants."""
    events = Event.objects.filter(id__gt=endpoint.last_event_id)
    if endpoint.event_types:
        events = events.filter(type__in=endpoint.event_types)
    return events.order_by("id").first()


def _claim(endpoint_id: int) -> _Claim | None:
    with transaction.atomic():
        now = timezone.now()
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if endpoint is None or not endpoint.active:
            return None
        if endpoint.leased_until is not None and endpoint.leased_until > now:
            return None
        if endpoint.next_attempt_at is not None and endpoint.next_attempt_at > now:
            return None
        event = head_event(endpoint)
        if event is None:
            return None
        if endpoint.head_event_id != event.id:
            # A new head (or the endpoint's event types changed under the old one).
            endpoint.head_event_id = event.id
            endpoint.head_first_attempt_at = now
            endpoint.head_failures = 0
        endpoint.next_attempt_at = None
        endpoint.lease_token = secrets.token_hex(16)
        endpoint.leased_until = now + _post_longest() + LEASE_MARGIN
        endpoint.save(
            update_fields=[
                "head_event_id",
                "head_first_attempt_at",
                "head_failures",
                "next_attempt_at",
                "lease_token",
                "leased_until",
            ]
        )
        return _Claim(
            endpoint_id=endpoint.pk,
            token=endpoint.lease_token,
            url=endpoint.url,
            secret=endpoint.secret,
            event_id=event.id,
            event_type=event.type,
            payload=event.payload,
        )


def _record(claim: _Claim, result: sending.SendResult) -> WebhookDelivery | None:
    with transaction.atomic():
        now = timezone.now()
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=claim.endpoint_id)
        if endpoint.lease_token != claim.token:
            log.warning(
                "Webhook endpoint %s: the lease ran out during the POST of event %s; "
                "its outcome is dropped and the event is sent again.",
                endpoint.pk,
                claim.event_id,
            )
            return None
        attempt = endpoint.head_failures + 1
        next_attempt_at = None
        if result.delivered:
            outcome = DeliveryOutcome.DELIVERED
        else:
            assert endpoint.head_first_attempt_at is not None
            deadline = endpoint.head_first_attempt_at + RETRY_WINDOW
            if now >= deadline:
                outcome = DeliveryOutcome.GIVEN_UP
            else:
                outcome = DeliveryOutcome.FAILED
                # The last retry comes at the deadline itself, not after it.
                next_attempt_at = min(now + retry_wait(attempt), deadline)
        if outcome == DeliveryOutcome.FAILED:
            endpoint.head_failures = attempt
        else:
            endpoint.last_event_id = claim.event_id
            endpoint.head_event_id = None
            endpoint.head_first_attempt_at = None
            endpoint.head_failures = 0
        endpoint.next_attempt_at = next_attempt_at
        endpoint.lease_token = ""
        endpoint.leased_until = None
        endpoint.save(
            update_fields=[
                "last_event_id",
                "head_event_id",
                "head_first_attempt_at",
                "head_failures",
                "next_attempt_at",
                "lease_token",
                "leased_until",
            ]
        )
        return WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_id=claim.event_id,
            attempt=attempt,
            attempted_at=now,
            outcome=outcome,
            status_code=result.status_code,
            response_excerpt=result.response_excerpt,
            error=result.error,
            duration_ms=result.duration_ms,
            next_attempt_at=next_attempt_at,
        )


def _post_longest() -> datetime.timedelta:
    # urllib's timeout bounds each wait (connect, each read), not the whole POST;
    # two waits cover a connect and an answer, the margin the rest.
    return datetime.timedelta(seconds=2 * settings.WEBHOOK_TIMEOUT_SECONDS)
