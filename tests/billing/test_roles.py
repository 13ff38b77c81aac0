"""The roles' permissions are defined once (billing/roles.py) for staff groups and API keys."""

from billing.actors import Actor
from billing.models import ApiKey
from billing.roles import API_ROLE_PERMISSIONS, CLERK, ROLE_PERMISSIONS, SUPERVISOR


def test_every_api_key_role_has_a_permission_set():
    assert set(API_ROLE_PERMISSIONS) == set(ApiKey.Role.values)


def test_an_api_key_writes_exactly_what_the_staff_role_of_the_same_name_writes():
    # Approval is never an API call: only a signed-in person approves.
    for role, group in [(ApiKey.Role.CLERK, CLERK), (ApiKey.Role.SUPERVISOR, SUPERVISOR)]:
        writes = {
            perm
            for perm in ROLE_PERMISSIONS[group]
            if ".view_" not in perm and perm != "writeoffs.approve_writeoff"
        }
        assert API_ROLE_PERMISSIONS[role] == writes


def test_an_api_key_actor_is_granted_only_its_roles_permissions():
    clerk_key = ApiKey(name="k", role=ApiKey.Role.CLERK)
    actor = Actor.for_api_key(clerk_key)
    assert actor.has_perm("writeoffs.add_writeoff")
    assert not actor.has_perm("writeoffs.reverse_writeoff")
    assert Actor.for_api_key(ApiKey(name="s", role=ApiKey.Role.SUPERVISOR)).has_perm(
        "writeoffs.reverse_writeoff"
    )
