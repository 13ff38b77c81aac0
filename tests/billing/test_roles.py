"""The roles' permissions, defined once for staff groups and API keys: billing's own in
billing/roles.py, each app's registered with them (billing.extensions)."""

from billing.actors import Actor
from billing.models import ApiKey
from billing.roles import API_ROLES, CLERK, SUPERVISOR, api_role_permissions, role_permissions


def test_every_api_key_role_has_a_permission_set():
    assert set(API_ROLES) == set(ApiKey.Role.values)
    assert all(api_role_permissions(role) for role in ApiKey.Role.values)


def test_an_api_key_writes_exactly_what_the_staff_role_of_the_same_name_writes():
    # Approval and voiding an invoice are never API calls: only a signed-in person
    # approves or voids.
    screens_only = {"writeoffs.approve_writeoff", "billing.void_invoice"}
    for role, group in [(ApiKey.Role.CLERK, CLERK), (ApiKey.Role.SUPERVISOR, SUPERVISOR)]:
        writes = {
            perm
            for perm in role_permissions(group)
            if ".view_" not in perm and perm not in screens_only
        }
        api_writes = {perm for perm in api_role_permissions(role) if ".view_" not in perm}
        assert api_writes == writes
        # A key reads its cases (GET /api/v1/cases/{number}).
        assert "writeoffs.view_case" in api_role_permissions(role)


def test_an_api_key_actor_is_granted_only_its_roles_permissions():
    clerk_key = ApiKey(name="k", role=ApiKey.Role.CLERK)
    actor = Actor.for_api_key(clerk_key)
    assert actor.has_perm("writeoffs.add_writeoff")
    assert not actor.has_perm("writeoffs.reverse_writeoff")
    assert Actor.for_api_key(ApiKey(name="s", role=ApiKey.Role.SUPERVISOR)).has_perm(
        "writeoffs.reverse_writeoff"
    )
