"""Who performs a ledger change: a signed-in user, an API key, or the system.

Services take an ``Actor`` rather than a request, so that the UI, admin, API and
management commands all go through the same permission check and all leave the
same trace in history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

from billing.roles import api_role_permissions

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest

    from billing.models import ApiKey


@dataclass(frozen=True)
class Actor:
    user: User | None = None
    api_key: ApiKey | None = None
    system: bool = False

    @classmethod
    def for_user(cls, user: User) -> Actor:
        return cls(user=user)

    @classmethod
    def for_request(cls, request: HttpRequest) -> Actor:
        """The signed-in user behind a view's request (every view is ``@login_required``).

        An anonymous request never gets this far; refusing it here narrows
        ``request.user`` to a ``User`` for the services.
        """
        user = request.user
        if not user.is_authenticated:
            raise PermissionDenied
        return cls.for_user(user)

    @classmethod
    def for_api_key(cls, api_key: ApiKey) -> Actor:
        return cls(api_key=api_key)

    @classmethod
    def for_system(cls) -> Actor:
        return cls(system=True)

    @property
    def label(self) -> str:
        if self.system:
            return "system"
        if self.api_key is not None:
            return f"API key {self.api_key.name}"
        if self.user is not None:
            return self.user.get_username()
        return "unknown"

    @property
    def idempotency_scope(self) -> str:
        if self.system:
            return "system"
        if self.api_key is not None:
            return f"key:{self.api_key.pk}"
        if self.user is not None:
            return f"user:{self.user.pk}"
        return "anonymous"

    def has_perm(self, perm: str) -> bool:
        if self.system:
            return True
        if self.api_key is not None:
            return not self.api_key.revoked and perm in api_role_permissions(self.api_key.role)
        if self.user is not None:
            return self.user.is_active and self.user.has_perm(perm)
        return False
