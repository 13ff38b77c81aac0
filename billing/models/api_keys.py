"""API keys (stored hashed) and the API's idempotency records."""

from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone


class ApiKey(models.Model):
    """A key an integration authenticates with. Only a hash is stored."""

    class Role(models.TextChoices):
        CLERK = "clerk", "Clerk"
        SUPERVISOR = "supervisor", "Supervisor"

    name = models.CharField(max_length=100, unique=True)
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.CLERK)
    # The first characters of the key, to find the row without scanning every hash.
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# How long an Idempotency-Key is honoured; the daily run purges older records.
IDEMPOTENCY_WINDOW = datetime.timedelta(hours=24)


class ApiIdempotencyRecord(models.Model):
    """The first response to an API request sent with an ``Idempotency-Key`` header.

    A retry with the same key and the same request gets this response back and
    changes nothing; the same key with another request is a clash (409). Keys
    are scoped to the API key that sent them, and honoured for 24 hours.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    request_sha256 = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "API idempotency record"
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="api_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.api_key} · {self.key}"
