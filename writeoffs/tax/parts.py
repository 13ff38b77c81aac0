"""The net and tax parts of an amount about to be written off, for the screens that
show it before it posts (the review pop-out): the same split the posting makes."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from billing.ledger.tax import invoice_parts, relief_due_on, split
from billing.models import Invoice
from billing.money import from_minor


@dataclass(frozen=True)
class AmountParts:
    net: Decimal
    tax: Decimal
    # A bad debt's tax waits on "tax relief pending" until this day; None when the tax
    # goes to tax payable at once.
    relief_pending_until: datetime.date | None


def amount_parts(
    invoice: Invoice, amount_minor: int, *, revenue_impacting: bool, on: datetime.date
) -> AmountParts | None:
    """``amount_minor`` of ``invoice`` as net and tax, posted ``on``; None for an
    untaxed invoice (all of it is net)."""
    if not invoice.tax_minor:
        return None
    lines = invoice_parts(invoice.pk)
    due = None if revenue_impacting else relief_due_on(invoice.due_date, lines)
    pending = due is not None and on < due
    parts = split(amount_minor, lines, relief_pending=pending)
    return AmountParts(
        net=from_minor(parts.net_minor, invoice.currency),
        tax=from_minor(parts.tax_minor, invoice.currency),
        relief_pending_until=due if pending else None,
    )
