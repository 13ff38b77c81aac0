"""The receiver in docs/api.md ("Webhooks") verifies a delivery this code made: the
snippet is read from the doc and run, so the doc cannot drift from the signing."""

import re
import time
from pathlib import Path

import pytest
from django.db import transaction

from billing.actors import Actor
from billing.events import record_event
from billing.sync.webhooks.delivery import deliver_endpoint
from billing.sync.webhooks.endpoints import webhook_endpoint_create
from billing.sync.webhooks.sending import signature

pytestmark = pytest.mark.django_db

API_DOC = Path(__file__).resolve().parents[4] / "docs" / "api.md"
MARKER = "<!-- webhook-receiver:"


def documented_receiver() -> str:
    text = API_DOC.read_text()
    after_marker = text[text.index(MARKER) :]
    block = re.search(r"```python\n(.*?)```", after_marker, re.DOTALL)
    assert block is not None
    return block.group(1)


def test_the_documented_receiver_is_ten_lines_at_most():
    assert len(documented_receiver().strip().splitlines()) <= 10


@pytest.fixture
def verify():
    namespace: dict = {}
    exec(documented_receiver(), namespace)  # noqa: S102 - our own doc's snippet, under test
    return namespace["verify"]


@pytest.fixture
def delivery(receiver):
    endpoint = webhook_endpoint_create(name="billing", url=receiver.url)
    with transaction.atomic():
        record_event("payment.recorded", actor=Actor.for_system(), obj_kind="payment", obj_number=1)
    assert deliver_endpoint(endpoint.pk).delivered == 1
    return endpoint.secret, receiver.requests[0]


def test_the_documented_receiver_accepts_a_real_delivery(verify, delivery):
    secret, request = delivery
    assert verify(secret, request.headers, request.body) is True


def test_the_documented_receiver_refuses_a_changed_body_a_wrong_secret_and_an_old_timestamp(
    verify, delivery
):
    secret, request = delivery
    assert verify(secret, request.headers, request.body.replace(b"payment", b"pAyment")) is False
    assert verify(secret + "x", request.headers, request.body) is False
    # Signed correctly, but six minutes ago: a replay.
    then = int(time.time()) - 360
    old = {
        **request.headers,
        "Webhook-Timestamp": str(then),
        "Webhook-Signature": signature(secret, then, request.body),
    }
    assert verify(secret, old, request.body) is False
