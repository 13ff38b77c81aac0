"""Reads that views share.

Every object a view shows is fetched through a getter scoped to the account in
the URL, so another account's invoice is a 404, never someone else's data.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from billing.models import Account, Invoice


def account_for(acct_no: int) -> Account:
    return get_object_or_404(Account, acct_no=acct_no)


def invoice_for(account: Account, invoice_no: int) -> Invoice:
    """The invoice ``invoice_no`` if it belongs to ``account``; 404 otherwise."""
    return get_object_or_404(
        Invoice.objects.select_related("revenue_code"), account=account, invoice_no=invoice_no
    )


def accounts_matching(query: str) -> QuerySet[Account]:
    """Accounts whose number is ``query``, whose client account ID starts with it, or
    whose name contains it.

    A number is matched exactly on ``acct_no`` (its unique index) rather than as text.
    """
    accounts = Account.objects.order_by("acct_no")
    query = query.strip()
    if not query:
        return accounts
    match = Q(client_acct_id__istartswith=query)
    if query.isdigit():
        match |= Q(acct_no=int(query))
    else:
        match |= Q(name__icontains=query)
    return accounts.filter(match)
