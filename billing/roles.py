"""The billing roles' permissions, in one place: the staff groups and the API keys' roles.

``ensure_billing_groups`` runs after every migrate (and after the test runner
flushes a database), so the groups always exist with exactly these permissions.
An API key's role (``ApiKey.Role``) maps onto the same sets (``api_role_permissions``).
Billing lists its own permissions; each app built on it registers its own per role
(``billing.extensions``), so every role reads whole here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from billing import extensions

if TYPE_CHECKING:
    from django.contrib.auth.models import Permission

VIEWER = "Billing viewer"
CLERK = "Billing clerk"
SUPERVISOR = "Billing supervisor"
CONTROLLER = "Finance controller"

_VIEW = [
    "billing.view_account",
    "billing.view_invoice",
    "billing.view_invoiceline",
    "billing.view_payment",
    "billing.view_accountingcode",
    "billing.view_journalentry",
    "billing.view_journalline",
    "billing.view_accountingperiodlock",
    "billing.view_taxrate",
]
_CREATE = ["billing.add_payment"]
# Bringing the billing system's accounts, invoices and payments in (SPEC Part 3).
_IMPORT = ["billing.import_billing"]
_SUPERVISE = ["billing.remove_payment"]
# Voiding an invoice issued in error: a supervisor's, and the controller's, who owns
# the books it reverses out of.
_VOID = ["billing.void_invoice"]
_BOOKS = ["billing.export_journal"]
# Segregation of duties: the controller closes periods and reads everything, and
# creates, settles and reverses nothing.
_CLOSE = ["billing.move_lock_date"]
# Tax rates are the books' too: the controller keeps them (admin, with history).
_TAX = ["billing.add_taxrate", "billing.change_taxrate"]

ROLES = (VIEWER, CLERK, SUPERVISOR, CONTROLLER)
# Billing's own permissions per role; the apps built on billing add theirs
# (billing.extensions.register_role_permissions).
_OWN_ROLE_PERMISSIONS = {
    VIEWER: _VIEW,
    CLERK: _VIEW + _CREATE + _IMPORT,
    SUPERVISOR: _VIEW + _CREATE + _IMPORT + _SUPERVISE + _BOOKS + _VOID,
    CONTROLLER: _VIEW + _BOOKS + _CLOSE + _VOID + _TAX,
}

# An API key writes like a clerk or a supervisor (it reads nothing the API does not
# return, and approval is never an API call); keyed by ApiKey.Role's values.
API_ROLES = ("clerk", "supervisor")
_OWN_API_ROLE_PERMISSIONS = {
    "clerk": _CREATE + _IMPORT,
    "supervisor": _CREATE + _IMPORT + _SUPERVISE + _BOOKS,
}


def role_permissions(role: str) -> frozenset[str]:
    """The staff group ``role``'s permissions: billing's and those registered for it."""
    registered = extensions.hooks.role_permissions.get(role, set())
    return frozenset(_OWN_ROLE_PERMISSIONS.get(role, [])) | registered


def api_role_permissions(role: str) -> frozenset[str]:
    """What an API key of ``role`` may do: billing's and what was registered for it."""
    registered = extensions.hooks.api_role_permissions.get(role, set())
    return frozenset(_OWN_API_ROLE_PERMISSIONS.get(role, [])) | registered


def _permissions(names: frozenset[str]) -> list[Permission]:
    from django.contrib.auth.models import Permission

    wanted = {tuple(name.split(".", 1)) for name in names}
    found = Permission.objects.filter(
        content_type__app_label__in={app for app, _ in wanted},
        codename__in={codename for _, codename in wanted},
    ).select_related("content_type")
    return [p for p in found if (p.content_type.app_label, p.codename) in wanted]


def ensure_billing_groups(**kwargs) -> None:
    from django.contrib.auth.models import Group

    # post_migrate fires once per app; permissions of apps later in the list may not
    # exist yet on the early calls, and the last call completes every group.
    for group_name in ROLES:
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.set(_permissions(role_permissions(group_name)))
