"""Webhooks (SPEC Part 3, "Out: the events feed"): the events feed pushed to the
billing system's URLs, one endpoint at a time and in feed order.

An endpoint keeps its own cursor (``last_event_id``): the last event it was sent or
given up on. The one event after it that the endpoint wants is its *head*; nothing
behind the head is sent until the head is delivered or given up, so a receiver sees
events in feed order. While the head fails, ``retry_*`` holds its retry state.
``billing.sync.webhooks`` is the one writer of these rows.
"""

from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone

# How long the delivery log keeps an attempt; the daily run's purge deletes older ones.
WEBHOOK_LOG_RETENTION = datetime.timedelta(days=90)


class WebhookEndpoint(models.Model):
    """A URL registered in admin, with the secret its POSTs are signed with.

    The secret is stored as it is, not hashed: every delivery signs with it, so it
    must be readable. It is shown on the endpoint's admin page (to copy into the
    receiver), never written to a log or the delivery log, and never in ``str()``.
    """

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=64)
    active = models.BooleanField(default=True)
    # Event type names (EventType values) this endpoint is sent; empty: every type.
    event_types = models.JSONField(default=list, blank=True)
    # The cursor: the last event delivered or given up. Events up to it are done.
    last_event_id = models.PositiveBigIntegerField(default=0)
    # The head's attempts: which event, when it was first tried (retries stop 24 hours
    # later), how many attempts failed, and when the next one is due.
    head_event_id = models.PositiveBigIntegerField(null=True, blank=True)
    head_first_attempt_at = models.DateTimeField(null=True, blank=True)
    head_failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A sender's claim on the endpoint while its POST is out (see delivery.py): a
    # second worker or the sweep leaves a leased endpoint alone until the lease ends.
    lease_token = models.CharField(max_length=32, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    # When a wake-up task was enqueued that has not started yet: the commits until it
    # starts need no task of their own (a bulk run's thousands of events enqueue one).
    woken_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(url__startswith="https://")
                | models.Q(url__startswith="http://"),
                name="webhook_endpoint_url_http",
            ),
            models.CheckConstraint(
                condition=models.Q(head_event_id__isnull=True)
                | models.Q(head_event_id__gt=models.F("last_event_id")),
                name="webhook_endpoint_head_after_cursor",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<WebhookEndpoint {self.pk} {self.name}>"


class DeliveryOutcome(models.TextChoices):
    DELIVERED = "delivered", "Delivered"
    # Failed, and tried again at next_attempt_at.
    FAILED = "failed", "Failed, will retry"
    # Failed for the last time (24 hours after the first attempt): the endpoint moved on.
    GIVEN_UP = "given_up", "Given up"


class WebhookDelivery(models.Model):
    """One attempt to POST one event to one endpoint: the delivery log."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    # Null for a test ping sent from admin, which is no event of the feed.
    event = models.ForeignKey(
        "billing.Event", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    attempt = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    outcome = models.CharField(max_length=12, choices=DeliveryOutcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_endpoint"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(attempt__gte=1), name="webhook_delivery_attempt_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=DeliveryOutcome.values),
                name="webhook_delivery_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} event {self.event_id} attempt {self.attempt}"
