"""The write-offs and disputes on billing's own pages: what the account overview and
the invoice page (with its Record Payment and Remove payment drawers) show of them.

Registered with billing (``billing.extensions``) in ``WriteoffsConfig.ready()``;
billing's views add each function's dict to their own context, and its templates
(templates/billing/account_overview.html, invoice_detail.html) read these names.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from billing.models import Account, Invoice
from writeoffs.models import WriteOff
from writeoffs.selectors import (
    account_totals,
    invoice_credit_notes,
    invoice_disputes,
    invoice_writeoffs,
    latest_disputes,
    latest_writeoffs,
)
from writeoffs.timeline import invoice_timeline

LATEST_ENTRIES = 5


def account_overview_context(request: HttpRequest, account: Account) -> dict[str, Any]:
    """The overview's totals (balance due, held, this year's write-offs) and its
    latest write-offs and disputes."""
    return {
        "totals": account_totals(account),
        "latest_writeoffs": latest_writeoffs(account, LATEST_ENTRIES),
        "latest_disputes": latest_disputes(account, LATEST_ENTRIES),
    }


def invoice_page_context(request: HttpRequest, invoice: Invoice) -> dict[str, Any]:
    """The invoice's write-offs and disputes, its timeline (every change, write-offs
    and holds included), and which of the write-off actions the user may start."""
    user = request.user
    writeoffs = invoice_writeoffs(invoice)
    disputes = invoice_disputes(invoice)
    open_to_entries = invoice.status == Invoice.Status.SENT and invoice.available_minor > 0
    return {
        "writeoffs": writeoffs,
        "active_writeoffs": [w for w in writeoffs if w.status == WriteOff.Status.ACTIVE],
        "disputes": disputes,
        # In an open dispute case: collections are paused (the page flags it).
        "in_dispute": any(hold.in_open_case for hold in disputes),
        "credit_notes": invoice_credit_notes(writeoffs),
        "timeline": invoice_timeline(invoice),
        # Seed 003's "Write Off Invoice", worded as everywhere else ("Create a Write-off"):
        # the Write-Offs page's own entry drawer, for this invoice.
        "can_write_off": user.has_perm("writeoffs.add_writeoff") and open_to_entries,
        "can_dispute": user.has_perm("writeoffs.add_disputehold") and open_to_entries,
        # Bad-debt recovery: the customer pays a written-off invoice after all.
        "can_record_recovery": user.has_perm("billing.add_payment")
        and invoice.status == Invoice.Status.SENT
        and any(w.is_recoverable for w in writeoffs),
    }
