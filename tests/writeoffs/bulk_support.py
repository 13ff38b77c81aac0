"""Invoices for bulk-run tests: small balances aged past their aging date."""

from __future__ import annotations

import datetime

from billing.factories import InvoiceFactory
from billing.models import Account, Invoice
from billing.rules import today


def small_invoice(
    account: Account, available_minor: int, *, days_past_aging: int = 120, **fields
) -> Invoice:
    """A sent invoice whose whole total is still available, aged ``days_past_aging``."""
    aging = today() - datetime.timedelta(days=days_past_aging)
    return InvoiceFactory(
        account=account,
        total_minor=available_minor,
        bill_date=aging - datetime.timedelta(days=30),
        due_date=aging,
        aging_date=aging,
        **fields,
    )


def criteria(**overrides) -> dict:
    """The keyword arguments of a run writing off USD balances up to 5.00, 90 days old."""
    return {
        "max_balance": {"USD": "5.00"},
        "older_than_days": 90,
        "reason_code": 0,
        "comments": "Month-end small balances",
        **overrides,
    }
