"""API keys: creating, revoking and authenticating them.

A key is 43 URL-safe characters from ``secrets`` (256 bits). Only its SHA-256
is stored: a key that random needs no slow password hash, and a leaked table
gives nobody a usable key. The first characters are kept in clear to find the
row without comparing every hash, and the hash is then compared in constant
time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from billing.errors import (
    AUTHENTICATION_FAILED,
    AUTHENTICATION_THROTTLED,
    INVALID_INPUT,
    BillingError,
)
from billing.models import ApiKey
from billing.ops.client_address import client_address
from billing.rules import check_text

PREFIX_LENGTH = 8
NAME_MAX_LENGTH: int = ApiKey._meta.get_field("name").max_length or 0
# token_urlsafe(32) gives 43 characters; anything outside this shape cannot be a key
# and is refused before it reaches the database.
_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}", re.ASCII)


def _hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(name: str, role: str = ApiKey.Role.CLERK) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw key, which is never shown again."""
    name = check_text(name or "", field="name").strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise BillingError(
            INVALID_INPUT,
            f"Give the key a name of 1 to {NAME_MAX_LENGTH} characters.",
            field="name",
        )
    if role not in ApiKey.Role.values:
        raise BillingError(
            INVALID_INPUT, f"Role must be one of {', '.join(ApiKey.Role.values)}.", field="role"
        )
    raw_key = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            api_key = ApiKey.objects.create(
                name=name, role=role, prefix=raw_key[:PREFIX_LENGTH], key_hash=_hash(raw_key)
            )
    except IntegrityError:
        raise BillingError(
            INVALID_INPUT, f"An API key named {name!r} already exists.", field="name"
        ) from None
    return api_key, raw_key


def api_key_revoke(name: str) -> ApiKey:
    """Revoke a key by name. Revoking a revoked key keeps its first revocation time."""
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().filter(name=name).first()
        if api_key is None:
            raise BillingError(INVALID_INPUT, f"No API key is named {name!r}.", field="name")
        if not api_key.revoked:
            api_key.revoked = True
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked", "revoked_at"])
    return api_key


def api_key_authenticate(raw_key: object) -> ApiKey:
    """The active key ``raw_key`` belongs to, or ``BillingError`` 1004.

    Every failure (malformed, unknown, revoked) gets the same answer, so a caller
    learns nothing about which keys exist.
    """
    if isinstance(raw_key, str) and _KEY_SHAPE.fullmatch(raw_key):
        digest = _hash(raw_key)
        for candidate in ApiKey.objects.filter(prefix=raw_key[:PREFIX_LENGTH]):
            if hmac.compare_digest(candidate.key_hash, digest) and not candidate.revoked:
                now = timezone.now()
                ApiKey.objects.filter(pk=candidate.pk).update(last_used_at=now)
                candidate.last_used_at = now
                return candidate
    raise BillingError(AUTHENTICATION_FAILED, "Authentication error: check client_no and auth_key.")


@dataclass(frozen=True)
class AuthenticationThrottle:
    """Failed API authentications from one client address, counted in Django's cache.

    The count lives for ``API_AUTH_FAILURE_WINDOW`` seconds from the first failure.
    Past ``API_AUTH_FAILURE_LIMIT`` failures the address is refused (1014, 429)
    before its key is looked at, so a guess costs a wait. Successes are not
    counted, and other addresses are not affected. Several workers share the
    count only through a shared cache (Redis in production, see CACHE_URL).
    """

    cache_key: str

    def refuse_if_exceeded(self) -> None:
        if cache.get(self.cache_key, 0) >= settings.API_AUTH_FAILURE_LIMIT:
            window = settings.API_AUTH_FAILURE_WINDOW
            raise BillingError(
                AUTHENTICATION_THROTTLED,
                "Too many failed authentications from this address; "
                f"try again in {window} seconds.",
                retry_after=window,
            )

    def record_failure(self) -> None:
        cache.add(self.cache_key, 0, timeout=settings.API_AUTH_FAILURE_WINDOW)
        try:
            cache.incr(self.cache_key)
        except ValueError:  # expired between the two calls
            cache.set(self.cache_key, 1, timeout=settings.API_AUTH_FAILURE_WINDOW)


def authentication_throttle(request: HttpRequest) -> AuthenticationThrottle:
    """The throttle of the request's client address, as the sign-in lockout sees it
    (billing.ops.client_address: REMOTE_ADDR, or behind a proxy the header it sets)."""
    address = client_address(request) or "unknown"
    digest = hashlib.sha256(address.encode("utf-8", "replace")).hexdigest()[:32]
    return AuthenticationThrottle(f"api-auth-failures:{digest}")
