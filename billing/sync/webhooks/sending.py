"""One webhook POST: its body, its signature, where it may go, and what came back.

The signed string is ``f"{timestamp}.{body}"``: the ``Webhook-Timestamp`` header (Unix
seconds), a full stop, and the body's exact bytes; the signature is its HMAC-SHA256
under the endpoint's secret, in lowercase hex, sent as ``Webhook-Signature``.
docs/api.md, "Webhooks", shows a receiver checking it; a test runs that snippet.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from billing.errors import INVALID_INPUT, BillingError

TIMESTAMP_HEADER = "Webhook-Timestamp"
SIGNATURE_HEADER = "Webhook-Signature"
EVENT_ID_HEADER = "Webhook-Event-Id"
EVENT_TYPE_HEADER = "Webhook-Event-Type"
# The same for every attempt at one event on one endpoint: a receiver that keeps
# the keys it has handled ignores a repeat (a retry after its answer was lost).
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "ar-back-office-webhooks/1"

# What the delivery log keeps of an answer or an error.
EXCERPT_CHARS = 500
_READ_BYTES = 4096
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c1d2e-8b53-4c47-9d0a-3f2f6a0e5b71")


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    response_excerpt: str
    error: str
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def event_body(payload: Mapping[str, Any]) -> bytes:
    """The POST body: the event exactly as the feed lists it (``Event.payload``, built
    once by ``record_event``), as compact UTF-8 JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def idempotency_key(endpoint_id: int, event_id: int) -> str:
    return str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{endpoint_id}:{event_id}"))


def signed_headers(
    *, secret: str, body: bytes, event_id: int | str, event_type: str, key: str
) -> dict[str, str]:
    # A fresh timestamp on every attempt: a receiver may refuse old ones (replays).
    timestamp = int(time.time())
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        EVENT_ID_HEADER: str(event_id),
        EVENT_TYPE_HEADER: event_type,
        IDEMPOTENCY_HEADER: key,
    }


def check_url(url: str) -> str:
    """Refuse what can never be an endpoint: not http(s), no host, credentials in the
    URL, or an address literal inside the network (unless private targets are allowed).
    Host names are resolved and checked again at each delivery (``post``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BillingError(
            INVALID_INPUT, "The URL must start with https:// (or http://).", field="url"
        )
    if parts.username is not None or parts.password is not None:
        raise BillingError(INVALID_INPUT, "Put no user name or password in the URL.", field="url")
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return url
    if not _may_reach(address):
        raise BillingError(
            INVALID_INPUT,
            f"{address} is an address inside the network; webhooks go to public addresses "
            "(WEBHOOK_ALLOW_PRIVATE_TARGETS).",
            field="url",
        )
    return url


def post(url: str, *, body: bytes, headers: Mapping[str, str]) -> SendResult:
    """POST once, never following a redirect, within ``WEBHOOK_TIMEOUT_SECONDS`` per
    network wait. Every failure comes back as a result, never raised."""
    started = time.monotonic()
    status: int | None = None
    excerpt = error = ""
    try:
        _check_target(url)
        # check_url allowed http(s) only (S310's concern: no file: or custom schemes).
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            status = response.status
            excerpt = _excerpt(response.read(_READ_BYTES))
    except urllib.error.HTTPError as answer:  # non-2xx, a redirect included
        status = answer.code
        excerpt = _excerpt(answer.read(_READ_BYTES))
        if 300 <= answer.code < 400:
            error = f"Redirect to {answer.headers.get('Location', '?')} not followed."
        answer.close()
    except BillingError as refused:
        error = refused.message
    except (urllib.error.URLError, OSError, ValueError) as failure:
        reason = getattr(failure, "reason", failure)
        error = f"{type(reason).__name__}: {reason}"[:EXCERPT_CHARS]
    return SendResult(
        status_code=status,
        response_excerpt=excerpt,
        error=error,
        duration_ms=round((time.monotonic() - started) * 1000),
    )


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as what it is (a 3xx, a failed delivery): following it
    would send the signed event to a URL nobody registered, maybe inside the network."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_RefuseRedirects)


def _check_target(url: str) -> None:
    check_url(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = {
            str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        }
    except OSError as failure:
        raise BillingError(INVALID_INPUT, f"{host} does not resolve: {failure}") from None
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not _may_reach(address):
            raise BillingError(
                INVALID_INPUT,
                f"{host} resolves to {address}, inside the network: not sent "
                "(WEBHOOK_ALLOW_PRIVATE_TARGETS).",
            )


def _may_reach(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return settings.WEBHOOK_ALLOW_PRIVATE_TARGETS or address.is_global


def _excerpt(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
