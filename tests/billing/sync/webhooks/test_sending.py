"""One signed POST: the signature scheme receivers check, and the URLs refused."""

import hashlib
import hmac
import json

import pytest

from billing.errors import BillingError
from billing.sync.webhooks.sending import (
    check_url,
    event_body,
    idempotency_key,
    post,
    signature,
    signed_headers,
)
from tests.webhook_receiver import Answer


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body_in_lowercase_hex():
    body = b'{"id":1}'
    expected = hmac.new(b"whsec_k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("whsec_k", 1700000000, body) == expected
    assert signature("whsec_k", 1700000001, body) != expected
    assert signature("whsec_other", 1700000000, body) != expected


def test_signed_headers_carry_timestamp_signature_event_and_idempotency_key():
    body = event_body({"id": 9, "type": "payment.recorded"})
    headers = signed_headers(
        secret="whsec_k", body=body, event_id=9, event_type="payment.recorded", key="k-1"
    )
    timestamp = int(headers["Webhook-Timestamp"])
    assert headers["Webhook-Signature"] == signature("whsec_k", timestamp, body)
    assert headers["Webhook-Event-Id"] == "9"
    assert headers["Webhook-Event-Type"] == "payment.recorded"
    assert headers["Idempotency-Key"] == "k-1"


def test_the_body_is_compact_utf8_json_of_the_payload():
    body = event_body({"id": 1, "details": {"reason": "Fehlbuchung für März"}})
    assert body == '{"id":1,"details":{"reason":"Fehlbuchung für März"}}'.encode()
    assert json.loads(body)["details"]["reason"] == "Fehlbuchung für März"


def test_the_idempotency_key_is_one_per_endpoint_and_event():
    assert idempotency_key(1, 2) == idempotency_key(1, 2)
    assert len({idempotency_key(1, 2), idempotency_key(2, 1), idempotency_key(1, 3)}) == 3


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.com/hook", "https://"),
        ("file:///etc/passwd", "https://"),
        ("https:///nohost", "https://"),
        ("https://user:pw@example.com/", "no user name"),
        ("http://127.0.0.1:8000/hook", "inside the network"),
        ("http://10.1.2.3/hook", "inside the network"),
        ("http://169.254.169.254/latest/meta-data", "inside the network"),
        ("http://[::1]/hook", "inside the network"),
        ("http://[::ffff:127.0.0.1]/hook", "inside the network"),
    ],
)
def test_urls_that_can_never_be_an_endpoint_are_refused(url, words):
    with pytest.raises(BillingError) as refused:
        check_url(url)
    assert words in refused.value.message
    assert refused.value.field == "url"


def test_a_public_https_url_is_accepted():
    assert (
        check_url("https://billing.example.com/hooks/ar") == "https://billing.example.com/hooks/ar"
    )


def test_loopback_is_accepted_when_private_targets_are_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    assert check_url("http://127.0.0.1:8000/hook") == "http://127.0.0.1:8000/hook"


def test_a_host_name_that_resolves_inside_the_network_is_not_posted_to(receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    result = post(receiver.url.replace("127.0.0.1", "localhost"), body=b"{}", headers={})
    assert result.status_code is None
    assert "inside the network" in result.error
    assert receiver.requests == []


def test_a_refused_connection_is_a_result_not_an_exception(receiver):
    result = post("http://127.0.0.1:9/nothing-listens", body=b"{}", headers={})
    assert not result.delivered
    assert result.status_code is None
    assert "Connection" in result.error


def test_a_2xx_answer_is_delivered_and_its_excerpt_kept(receiver):
    receiver.answer(Answer(204, b""))
    result = post(receiver.url, body=b"{}", headers={"Content-Type": "application/json"})
    assert result.delivered and result.status_code == 204
