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
    "writeoffs.view_case",
]
_CREATE = ["writeoffs.add_writeoff", "writeoffs.add_disputehold"]
# A dispute case's files; the case itself and its notes are the cases services'.
_CASE_FILES = ["writeoffs.add_caseattachment"]
_SUPERVISE = ["writeoffs.reverse_writeoff", "writeoffs.settle_disputehold"]
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
    CLERK: _VIEW + _CREATE + _CASE_FILES,
    SUPERVISOR: _VIEW + _CREATE + _CASE_FILES + _SUPERVISE + _APPROVE,
    CONTROLLER: _VIEW + _APPROVE + _CONTROL,
}

# An API key writes like a clerk or a supervisor; approval is never an API call.
API_ROLE_PERMISSIONS = {
    "clerk": _CREATE + _CASE_FILES,
    "supervisor": _CREATE + _CASE_FILES + _SUPERVISE,
}
