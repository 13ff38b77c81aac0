"""The client's address: the one way the app tells clients apart.

The sign-in lockout (django-axes, through ``AXES_CLIENT_IP_CALLABLE``) and the API
key throttle (billing.api.keys) both count failures per client address, and both
ask this function for it.

Without a proxy it is the connection's peer, ``REMOTE_ADDR``. Behind the shipped
nginx every connection comes from nginx over a unix socket, so ``REMOTE_ADDR`` is
empty; nginx writes the peer it saw into a header (billing/deploy/nginx.conf:
``proxy_set_header X-Real-IP $remote_addr``, which replaces whatever the client
sent), and ``CLIENT_ADDRESS_HEADER`` names that header. The app trusts that one
hop and nothing else:

- the header is read only when the setting names it; a client's own
  ``X-Forwarded-For`` or ``X-Real-IP`` is never looked at otherwise;
- a list (``X-Forwarded-For: client-claim, what-nginx-saw``) counts by its last
  entry, the one the trusted proxy wrote;
- a request without the header did not come through the proxy (a local probe on
  the socket): its ``REMOTE_ADDR`` is used.

An address that is missing or not an IP address is ``None``. The callers then
count all such requests together, which errs on the side of locking out; the
first one in each process is logged, since it means the setting is missing.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)

_warned = False


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address as the deployment defines it, or None if unknown."""
    header = settings.CLIENT_ADDRESS_HEADER
    forwarded = request.headers.get(header, "") if header else ""
    if forwarded:
        address = _ip(forwarded.rsplit(",", 1)[-1])
    else:
        address = _ip(request.META.get("REMOTE_ADDR", "") or "")
    if address is None:
        _warn_once(header)
    return address


def _ip(raw: str) -> str | None:
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return None


def _warn_once(header: str) -> None:
    global _warned
    if _warned:
        return
    _warned = True
    logger.warning(
        "The client address of a request is unknown (%s); sign-in lockouts and the API "
        "key throttle count every such request as one client. Behind a proxy, set "
        "CLIENT_ADDRESS_HEADER to the header it sets (X-Real-IP for billing/deploy/nginx.conf).",
        f"no usable {header} header or REMOTE_ADDR" if header else "REMOTE_ADDR is empty",
    )
