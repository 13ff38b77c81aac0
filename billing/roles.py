"""The billing roles' permissions, in one place: the staff groups and the API keys' roles.

``ensure_billing_groups`` runs after every migrate (and after the test runner
flushes a database), so the groups always exist with exactly these permissions.
An API key's role (``ApiKey.Role``) maps onto the same sets (``API_ROLE_PERMISSIONS``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    "writeoffs.view_writeoff",
    "writeoffs.view_disputehold",
    "billing.view_journalentry",
    "billing.view_journalline",
    "billing.view_accountingperiodlock",
    "writeoffs.view_approvallimit",
]
_CREATE = ["billing.add_payment", "writeoffs.add_writeoff", "writeoffs.add_disputehold"]
_SUPERVISE = [
    "billing.remove_payment",
    "writeoffs.reverse_writeoff",
    "writeoffs.settle_disputehold",
]
_BOOKS = ["billing.export_journal"]
# Segregation of duties: the controller closes periods and reads everything, and
# creates, settles and reverses nothing.
_CLOSE = ["billing.move_lock_date"]

_APPROVE = ["writeoffs.approve_writeoff"]
# The controller approves and edits limits, and creates, settles and reverses nothing
# (segregation of duties).
_CONTROL = ["writeoffs.add_approvallimit", "writeoffs.change_approvallimit"]

ROLE_PERMISSIONS = {
    VIEWER: _VIEW,
    CLERK: _VIEW + _CREATE,
    SUPERVISOR: _VIEW + _CREATE + _SUPERVISE + _BOOKS + _APPROVE,
    CONTROLLER: _VIEW + _BOOKS + _CLOSE + _APPROVE + _CONTROL,
}

# An API key writes like a clerk or a supervisor (it reads nothing the API does not
# return, and approval is never an API call); keyed by ApiKey.Role's values.
API_ROLE_PERMISSIONS = {
    "clerk": frozenset(_CREATE),
    "supervisor": frozenset(_CREATE + _SUPERVISE + _BOOKS),
}


def _permissions(names: list[str]) -> list[Permission]:
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
    for group_name, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.set(_permissions(names))
