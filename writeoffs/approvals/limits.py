"""Approval limits: how much a requester may write off alone, per currency.

A user's limit is the highest of their roles' limits (a role with no row for the
currency has limit 0, except the finance controller, who is unlimited in every
currency unless a row says otherwise); an API key has its role's limit. ``None``
means unlimited. A currency in use without a row for a limited role is a
configuration warning (``missing_limit_rows``: the limits screen in admin and
``manage.py check``). The system has no limit of its own: an expiry conversion is checked
against the limit of the person or key that created the hold
(``hold_requester``), who is then the write-off's requester.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import Group

from billing import roles
from billing.actors import Actor
from billing.models import Account
from writeoffs.models import ApprovalLimit

if TYPE_CHECKING:
    from writeoffs.models import DisputeHold

# The group each approval-limit role is held through.
ROLE_GROUPS = {
    roles.CLERK: ApprovalLimit.Role.CLERK,
    roles.SUPERVISOR: ApprovalLimit.Role.SUPERVISOR,
    roles.CONTROLLER: ApprovalLimit.Role.CONTROLLER,
}

# The SPEC's defaults in minor units (500_00 is 500.00; None = unlimited), for the
# currencies the product bills in. In a currency added later the clerk and the
# supervisor have limit 0 until a controller adds their rows (a warning says so
# until then); the controller is unlimited there. The data migration seeds the same
# values.
DEFAULT_LIMITS = {
    ApprovalLimit.Role.CLERK: 500_00,
    ApprovalLimit.Role.SUPERVISOR: 5_000_00,
    ApprovalLimit.Role.CONTROLLER: None,
}
DEFAULT_CURRENCIES = ("USD", "EUR")

# Where ``actor_roles`` keeps a user's roles on the user object.
_ROLES_CACHE = "_approval_roles_cache"


def actor_roles(actor: Actor) -> list[str]:
    """The approval-limit roles an actor holds (none for an inactive user or a revoked
    key): a key's one role, or the roles of a user's groups."""
    if actor.api_key is not None:
        return [] if actor.api_key.revoked else [actor.api_key.role]
    user = actor.user
    if user is None or not user.is_active:
        return []
    # Kept on the user object, as Django keeps its permissions (``_perm_cache``): the
    # service's permission check and this one then see the same groups, read once per
    # object (a request, or a command's user). A change of groups applies from the
    # next request.
    cached: tuple[str, ...] | None = user.__dict__.get(_ROLES_CACHE)
    if cached is None:
        # Group names map to roles in Python: a CASE in SQL cost more to build than
        # the statement costs to run (every write-off create checks a limit).
        names = Group.objects.filter(user=user, name__in=ROLE_GROUPS).values_list("name", flat=True)
        cached = user.__dict__[_ROLES_CACHE] = tuple(ROLE_GROUPS[name] for name in names)
    return list(cached)


def approval_limit_minor(actor: Actor, currency: str) -> int | None:
    """The largest amount, in ``currency``'s minor units, ``actor`` may write off or
    approve alone: the highest of their roles' limits (a role with no row for the
    currency has limit 0). ``None`` means unlimited. Two small statements for a user
    (their groups, then the limits), one for a key.

    The system actor has no limit: pass ``hold_requester(hold)`` for an expiry.
    """
    if actor.system:
        raise ValueError("The system has no approval limit; use the hold creator's.")
    held = actor_roles(actor)
    if not held:
        return 0
    # Unordered: the highest is taken below, and the model's ordering cost more to
    # compile than the statement costs to run.
    rows = dict(
        ApprovalLimit.objects.filter(role__in=held, currency=currency)
        .order_by()
        .values_list("role", "limit_minor")
    )
    if ApprovalLimit.Role.CONTROLLER in held and ApprovalLimit.Role.CONTROLLER not in rows:
        # The controller is unlimited in every currency: a currency nobody has added
        # rows for yet must not leave its pending write-offs with no possible approver.
        return None
    limits = list(rows.values())
    capped = [limit for limit in limits if limit is not None]
    if len(capped) != len(limits):  # some role has no limit
        return None
    return max(capped, default=0)


# The roles whose limit in a currency without their row is 0 (the controller's is
# unlimited): a missing row for one of them is a configuration warning.
LIMITED_ROLES = (ApprovalLimit.Role.CLERK, ApprovalLimit.Role.SUPERVISOR)


def missing_limit_rows() -> list[tuple[str, str]]:
    """``(role, currency)`` for each limited role without a row in a currency in use:
    one an account bills in, or one a limit row names. Sorted by currency, then role."""
    have = set(ApprovalLimit.objects.order_by().values_list("role", "currency"))
    billed = Account.objects.order_by().values_list("currency", flat=True).distinct()
    currencies = {currency for _, currency in have} | set(billed)
    return [
        (role, currency)
        for currency in sorted(currencies)
        for role in LIMITED_ROLES
        if (role, currency) not in have
    ]


def missing_limit_message(role: str, currency: str) -> str:
    return (
        f"No {ApprovalLimit.Role(role).label} approval limit for {currency}: "
        "the role's limit there is 0."
    )


def within_limit(limit_minor: int | None, amount_minor: int) -> bool:
    return limit_minor is None or amount_minor <= limit_minor


def hold_requester(hold: DisputeHold) -> Actor:
    """Whom an expiry conversion of ``hold`` is requested for: its creator."""
    if hold.api_key is not None:
        return Actor.for_api_key(hold.api_key)
    if hold.created_by is not None:
        return Actor.for_user(hold.created_by)
    # A hold with no recorded creator (seeded data): nobody's limit covers it.
    return Actor()


def ensure_default_limits(**kwargs) -> None:
    """Put the default limits back when the table is empty.

    The data migration seeds them once; this runs after every migrate so a test
    database that was flushed gets them again. Rows are never deleted in normal
    use (admin refuses), so an empty table only follows a flush.
    """
    if ApprovalLimit.objects.exists():
        return
    ApprovalLimit.objects.bulk_create(
        ApprovalLimit(role=role, currency=currency, limit_minor=limit)
        for role, limit in DEFAULT_LIMITS.items()
        for currency in DEFAULT_CURRENCIES
    )
