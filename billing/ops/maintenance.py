"""Purges for the daily run: records that only matter for a while.

Each purge deletes in batches of ``BATCH_SIZE`` rows, one short transaction per
batch, so a year of backlog never holds a long lock or one huge transaction.
Only these tables are ever purged: ledger rows, their history and the journal
are kept for good.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.utils import timezone

from billing.models import (
    IDEMPOTENCY_WINDOW,
    WEBHOOK_LOG_RETENTION,
    ApiIdempotencyRecord,
    WebhookDelivery,
)

BATCH_SIZE = 1000


@dataclass(frozen=True)
class Purged:
    """What one purge removed: ``count`` rows of ``what``, older than ``cutoff``."""

    what: str
    count: int
    cutoff: datetime.datetime


def _delete_in_batches(queryset: models.QuerySet, batch_size: int) -> int:
    removed = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                return removed
            removed += queryset.model.objects.filter(pk__in=ids).delete()[0]
        if len(ids) < batch_size:
            return removed


def purge_expired_records(
    *, now: datetime.datetime | None = None, batch_size: int | None = None
) -> list[Purged]:
    """Delete API idempotency records past their window, expired sessions, sign-in
    logs and lockout records older than SIGNIN_LOG_RETENTION_DAYS, and webhook
    delivery attempts older than WEBHOOK_LOG_RETENTION (90 days)."""
    retention = settings.SIGNIN_LOG_RETENTION_DAYS
    if isinstance(retention, bool) or not (isinstance(retention, int) and retention >= 1):
        # The system check billing.W020 reports it at start-up too.
        raise ImproperlyConfigured(
            f"SIGNIN_LOG_RETENTION_DAYS is {retention!r}; it must be a whole number of days, "
            "at least 1. Nothing was purged."
        )
    now = now or timezone.now()
    batch_size = batch_size or BATCH_SIZE
    idempotency_cutoff = now - IDEMPOTENCY_WINDOW
    signin_cutoff = now - datetime.timedelta(days=retention)
    webhook_cutoff = now - WEBHOOK_LOG_RETENTION
    targets = [
        (
            "expired API idempotency records",
            ApiIdempotencyRecord.objects.filter(created_at__lt=idempotency_cutoff),
            idempotency_cutoff,
        ),
        ("expired sessions", Session.objects.filter(expire_date__lt=now), now),
        (
            "sign-in log entries",
            AccessLog.objects.filter(attempt_time__lt=signin_cutoff),
            signin_cutoff,
        ),
        (
            "failed sign-in log entries",
            AccessFailureLog.objects.filter(attempt_time__lt=signin_cutoff),
            signin_cutoff,
        ),
        (
            "sign-in lockout records",
            AccessAttempt.objects.filter(attempt_time__lt=signin_cutoff),
            signin_cutoff,
        ),
        (
            "webhook delivery log entries",
            WebhookDelivery.objects.filter(attempted_at__lt=webhook_cutoff),
            webhook_cutoff,
        ),
    ]
    return [
        Purged(what, _delete_in_batches(queryset, batch_size), cutoff)
        for what, queryset, cutoff in targets
    ]
