"""The demo users (clerk, supervisor, controller, viewer) of a local demo database."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from billing.roles import CLERK, CONTROLLER, SUPERVISOR, VIEWER

# (username, group, staff): the supervisor and the controller open /admin/ (the
# controller edits the approval limits there).
DEMO_USERS = [
    ("clerk", CLERK, False),
    ("supervisor", SUPERVISOR, True),
    ("controller", CONTROLLER, True),
    ("viewer", VIEWER, False),
]


def demo_users(*, password: str | None, reset_password: bool) -> str:
    """Create or update the demo users; returns the sign-in line to print."""
    # The password is kept between runs (a person signed in yesterday signs in today),
    # unless one is given or a reset is asked for. Only a hash is stored, so a kept
    # password cannot be printed again.
    user_model = get_user_model()
    existing = user_model.objects.filter(username__in=[n for n, _, _ in DEMO_USERS])
    keep = (
        password is None
        and not reset_password
        and existing.count() == len(DEMO_USERS)
        and all(user.has_usable_password() for user in existing)
    )
    password = password or secrets.token_urlsafe(12)
    for username, group_name, is_staff in DEMO_USERS:
        user, _ = user_model.objects.get_or_create(username=username)
        user.is_staff = is_staff
        if not keep:
            user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=group_name)])
    names = ", ".join(name for name, _, _ in DEMO_USERS)
    if keep:
        return (
            f"Demo sign-in (local demo data only): users {names}; password unchanged "
            "(the one printed when they were created; --reset-demo-password prints a new one)."
        )
    return f"Demo sign-in (local demo data only): users {names}; password: {password}"
