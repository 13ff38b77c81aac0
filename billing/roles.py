"""The billing roles, as Django groups.

Run after every migrate (and after the test runner flushes a database), so the
groups always exist with exactly these permissions.
"""

from django.contrib.auth.models import Group, Permission

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
    "writeoffs.view_approvallimit",
]
_CREATE = ["billing.add_payment", "writeoffs.add_writeoff", "writeoffs.add_disputehold"]
_SUPERVISE = [
    "billing.remove_payment",
    "writeoffs.reverse_writeoff",
    "writeoffs.settle_disputehold",
]

_APPROVE = ["writeoffs.approve_writeoff"]
# The controller approves and edits limits, and creates, settles and reverses nothing
# (segregation of duties).
_CONTROL = ["writeoffs.add_approvallimit", "writeoffs.change_approvallimit"]

ROLE_PERMISSIONS = {
    VIEWER: _VIEW,
    CLERK: _VIEW + _CREATE,
    SUPERVISOR: _VIEW + _CREATE + _SUPERVISE + _APPROVE,
    CONTROLLER: _VIEW + _APPROVE + _CONTROL,
}


def _permissions(names: list[str]) -> list[Permission]:
    wanted = {tuple(name.split(".", 1)) for name in names}
    found = Permission.objects.filter(
        content_type__app_label__in={app for app, _ in wanted},
        codename__in={codename for _, codename in wanted},
    ).select_related("content_type")
    return [p for p in found if (p.content_type.app_label, p.codename) in wanted]


def ensure_billing_groups(**kwargs) -> None:
    # post_migrate fires once per app; permissions of apps later in the list may not
    # exist yet on the early calls, and the last call completes every group.
    for group_name, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.set(_permissions(names))
