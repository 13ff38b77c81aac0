"""``manage.py deliver_webhooks``: the sweep that sends what a lost task left due."""

import io

import pytest
from django.core.management import call_command
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from billing.actors import Actor
from billing.events import record_event
from billing.sync.webhooks.endpoints import webhook_endpoint_create
from tests.webhook_receiver import Answer, clock, receiver

__all__ = ["clock", "receiver"]

pytestmark = pytest.mark.django_db


def sweep(*args):
    out = io.StringIO()
    call_command("deliver_webhooks", *args, stdout=out)
    return out.getvalue()


def test_the_sweep_with_nothing_to_do_exits_0_and_says_so():
    assert (
        sweep()
        == "Webhooks: 0 delivered, 0 failed (retried later), 0 given up, over 0 endpoint(s).\n"
    )


def test_the_sweep_sends_what_is_due_and_a_second_sweep_sends_nothing_again(receiver):
    webhook_endpoint_create(name="one", url=receiver.url)
    with transaction.atomic():
        record_event("payment.recorded", actor=Actor.for_system(), obj_kind="payment", obj_number=1)
    assert "1 delivered" in sweep()
    assert "0 delivered" in sweep()
    assert len(receiver.requests) == 1


def test_a_refusing_receiver_is_not_the_sweeps_failure(receiver):
    webhook_endpoint_create(name="one", url=receiver.url)
    with transaction.atomic():
        record_event("payment.recorded", actor=Actor.for_system(), obj_kind="payment", obj_number=1)
    receiver.answer(Answer(500))
    assert "1 failed" in sweep()
    # The retry is enqueued for when it is due, and the next sweep leaves it waiting.
    assert DBTaskResult.objects.count() == 1
    assert "over 0 endpoint(s)" in sweep()


def test_the_sweep_can_hand_due_endpoints_to_the_worker_instead(receiver):
    webhook_endpoint_create(name="one", url=receiver.url)
    assert sweep("--enqueue") == "Enqueued 1 endpoint(s) for the task worker.\n"
    assert DBTaskResult.objects.count() == 1
    assert receiver.requests == []
