"""Small derived values on the billing models, which templates ask instead of recomputing."""

import datetime

from billing.factories import InvoiceFactory
from billing.rules import today


def test_an_invoice_is_overdue_only_with_a_balance_due_after_its_aging_date(account):
    yesterday = today() - datetime.timedelta(days=1)
    late = InvoiceFactory(account=account, invoice_no=1, total_minor=500, aging_date=yesterday)
    paid = InvoiceFactory(
        account=account, invoice_no=2, total_minor=500, paid_minor=500, aging_date=yesterday
    )
    due_today = InvoiceFactory(account=account, invoice_no=3, total_minor=500, aging_date=today())

    assert late.is_overdue
    assert not paid.is_overdue
    assert not due_today.is_overdue
