"""The task worker's side: senders woken once per committed transaction that wrote
events, a failure's retry enqueued for when it is due, and the task itself."""

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from billing.actors import Actor
from billing.events import record_event
from billing.models import WebhookDelivery
from billing.sync.webhooks.endpoints import webhook_endpoint_create
from billing.sync.webhooks.tasks import deliver_webhooks
from tests.webhook_receiver import Answer

pytestmark = pytest.mark.django_db

TASK_PATH = "billing.sync.webhooks.tasks.deliver_webhooks"


def write_events(count):
    with transaction.atomic():
        for number in range(count):
            record_event(
                "payment.recorded", actor=Actor.for_system(), obj_kind="payment", obj_number=number
            )


def enqueued():
    return list(
        DBTaskResult.objects.filter(task_path=TASK_PATH)
        .order_by("enqueued_at")
        .values_list("args_kwargs", flat=True)
    )


def test_a_transaction_that_writes_events_wakes_each_active_endpoint_once_on_commit(
    receiver, django_capture_on_commit_callbacks
):
    first = webhook_endpoint_create(name="one", url=receiver.url)
    second = webhook_endpoint_create(name="two", url=receiver.url)
    webhook_endpoint_create(name="off", url=receiver.url, active=False)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        write_events(3)
    assert len(callbacks) == 1
    assert enqueued() == [
        {"args": [first.pk], "kwargs": {}},
        {"args": [second.pk], "kwargs": {}},
    ]


def test_a_rolled_back_transaction_wakes_nobody(receiver, django_capture_on_commit_callbacks):
    webhook_endpoint_create(name="one", url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                write_events(1)
                raise RuntimeError("refused")
        except RuntimeError:
            pass
    assert callbacks == []
    assert enqueued() == []


def test_the_task_delivers_and_a_failure_enqueues_one_retry_for_when_it_is_due(receiver):
    endpoint = webhook_endpoint_create(name="one", url=receiver.url, start_after=0)
    write_events(2)
    receiver.answer(Answer(200), Answer(500))
    result = deliver_webhooks.call(endpoint.pk)
    assert result == {"delivered": 1, "failed": 1, "given_up": 0}
    retry = DBTaskResult.objects.get(task_path=TASK_PATH)
    endpoint.refresh_from_db()
    assert retry.run_after == endpoint.next_attempt_at
    assert retry.args_kwargs == {"args": [endpoint.pk], "kwargs": {}}


def test_a_task_for_an_endpoint_with_nothing_due_sends_nothing(receiver):
    endpoint = webhook_endpoint_create(name="one", url=receiver.url)
    assert deliver_webhooks.call(endpoint.pk) == {"delivered": 0, "failed": 0, "given_up": 0}
    assert not WebhookDelivery.objects.exists()
    assert enqueued() == []


def test_commits_before_the_enqueued_task_starts_enqueue_no_second_one(
    receiver, clock, django_capture_on_commit_callbacks
):
    endpoint = webhook_endpoint_create(name="one", url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        write_events(1)
    with django_capture_on_commit_callbacks(execute=True):
        write_events(1)
    assert len(enqueued()) == 1
    # The task starts: the commits after it wake the endpoint again.
    assert deliver_webhooks.call(endpoint.pk) == {"delivered": 2, "failed": 0, "given_up": 0}
    with django_capture_on_commit_callbacks(execute=True):
        write_events(1)
    assert len(enqueued()) == 2


def test_a_wake_up_left_unstarted_for_five_minutes_is_enqueued_again(
    receiver, clock, django_capture_on_commit_callbacks
):
    webhook_endpoint_create(name="one", url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        write_events(1)
    clock.move(minutes=5, seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        write_events(1)
    assert len(enqueued()) == 2


def test_deliveries_run_on_their_own_queue_beside_bulk_runs(receiver):
    endpoint = webhook_endpoint_create(name="one", url=receiver.url)
    from billing.sync.webhooks.tasks import enqueue_delivery

    enqueue_delivery(endpoint.pk)
    assert DBTaskResult.objects.get(task_path=TASK_PATH).queue_name == "webhooks"
