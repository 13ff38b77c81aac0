"""Webhook delivery on the task worker (``manage.py db_worker``), and its wake-ups.

Woken three ways, each enough on its own for what it covers:

- when a transaction that wrote events commits (``wake_on_commit``, called by
  ``record_event``): a task for each active endpoint that is not waiting or leased
  and has no task enqueued and not yet started;
- when an attempt fails: the sender enqueues one task to run when the retry is due;
- by ``manage.py deliver_webhooks`` (cron), which sends whatever is due, so a lost
  task (a worker killed, a failed enqueue) delays a delivery and never loses it.

Extra tasks are harmless: a sender that finds the endpoint leased or not due ends.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from billing.models import WebhookEndpoint
from billing.sync.webhooks.delivery import DeliveryRun, deliver_endpoint, due_endpoint_ids

# Its own queue, so a long bulk run on the default queue never holds deliveries back:
# run a worker for it (``db_worker --queue-name webhooks``; docs/operations.md).
QUEUE = "webhooks"
WAKE_STALE = datetime.timedelta(minutes=5)


@task(queue_name=QUEUE)
def deliver_webhooks(endpoint_id: int) -> dict[str, int]:
    """Send one endpoint's due events; returns the counts of what happened."""
    run = deliver_and_reschedule(endpoint_id)
    return {"delivered": run.delivered, "failed": run.failed, "given_up": run.given_up}


def deliver_and_reschedule(endpoint_id: int) -> DeliveryRun:
    """Send what is due here and now; enqueue the retry a failure needs, or a fresh
    task when this one stopped with more to send."""
    run = deliver_endpoint(endpoint_id)
    if run.retry_at is not None:
        enqueue_delivery(endpoint_id, run_after=run.retry_at)
    elif run.more:
        enqueue_delivery(endpoint_id)
    return run


def enqueue_delivery(endpoint_id: int, *, run_after: datetime.datetime | None = None) -> None:
    if run_after is None:
        deliver_webhooks.enqueue(endpoint_id)
    else:
        deliver_webhooks.using(run_after=run_after).enqueue(endpoint_id)


def wake_on_commit() -> None:
    """Wake the senders once the caller's transaction commits (never for a rollback).

    A transaction that writes several events registers the wake-up once, not once
    per event.
    """
    connection = transaction.get_connection()
    # Registered at this level of savepoints already? (One registered in a savepoint
    # since released is not recognised: a second wake-up, which woken_at makes cheap.)
    here = set(connection.savepoint_ids)
    for savepoints, callback, _ in connection.run_on_commit:
        if callback is _wake_due_endpoints and savepoints == here:
            return
    transaction.on_commit(_wake_due_endpoints, robust=True)


def _wake_due_endpoints() -> None:
    # An endpoint waiting for a retry has its own wake-up; a leased one's sender
    # looks for the next event after its POST, and finds these. One that already has
    # a wake-up enqueued and not yet started needs no second one: that task reads
    # the feed after this commit. (A wake-up left unstarted for WAKE_STALE, a worker
    # down, is enqueued again; the sweep sends meanwhile.)
    now = timezone.now()
    for endpoint_id in due_endpoint_ids(now):
        first = (
            WebhookEndpoint.objects.filter(pk=endpoint_id)
            .filter(Q(woken_at__isnull=True) | Q(woken_at__lt=now - WAKE_STALE))
            .update(woken_at=now)
        )
        if first:
            enqueue_delivery(endpoint_id)
