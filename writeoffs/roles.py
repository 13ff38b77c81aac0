"""The write-offs app's permissions per billing role, registered with billing's roles
(``billing.extensions``) in ``WriteoffsConfig.ready()``.

billing/roles.py holds the roles and billing's own permissions; together they are
each staff group's and each API key role's whole set.
"""

from __future__ import annotations

from billing.roles import CLERK, CONTROLLER, SUPERVISOR, VIEWER

_VIEW = [
    "writeoffs.view_writeoff",
    "writeoffs.view_disputehold",
    "writeoffs.view_approvallimit",
    # Dispute cases and what they draw on.
    "writeoffs.view_case",
    "writeoffs.view_casenote",
    "writeoffs.view_caseattachment",
    "writeoffs.view_casecategory",
    "writeoffs.view_rootcause",
]
_CREATE = [
    "writeoffs.add_writeoff",
    "writeoffs.add_disputehold",
    # Open, work (status, assignee) and add to a case; settling its holds is the
    # supervisor's, as settling any hold is.
    "writeoffs.add_case",
    "writeoffs.change_case",
    "writeoffs.add_casenote",
    "writeoffs.add_caseattachment",
]
_SUPERVISE = [
    "writeoffs.reverse_writeoff",
    "writeoffs.settle_disputehold",
    "writeoffs.edit_case_due_date",
]
_APPROVE = ["writeoffs.approve_writeoff"]
# The controller approves and edits limits, and creates, settles and reverses nothing
# (segregation of duties).
_CONTROL = [
    "writeoffs.add_approvallimit",
    "writeoffs.change_approvallimit",
    # The allowance for doubtful accounts: the matrix and the month end's provision.
    "writeoffs.view_provisionrate",
    "writeoffs.change_provisionrate",
    "writeoffs.view_provisionrun",
    "writeoffs.run_provision",
]

ROLE_PERMISSIONS = {
    VIEWER: _VIEW,
    CLERK: _VIEW + _CREATE,
    SUPERVISOR: _VIEW + _CREATE + _SUPERVISE + _APPROVE,
    CONTROLLER: _VIEW + _APPROVE + _CONTROL,
}

# An API key writes like a clerk or a supervisor; approval is never an API call.
# A key reads the cases it works (GET /api/v1/cases/{number}).
_API_READ = ["writeoffs.view_case"]
API_ROLE_PERMISSIONS = {
    "clerk": _CREATE + _API_READ,
    "supervisor": _CREATE + _SUPERVISE + _API_READ,
}
