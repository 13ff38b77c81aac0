"""Reads that views share.

Every object a view shows is fetched through a getter scoped to the account in
the URL, so another account's invoice is a 404, never someone else's data.

Reads of the rows other apps keep against an invoice, including their parts of the
overview and the invoice's timeline (``billing.receivables.timeline``), are those
apps' own: they reach billing's pages through billing.extensions.
"""

from __future__ import annotations

from django.db.models import F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from billing import extensions
from billing.models import Account, Invoice, Payment
from billing.parsing import is_ascii_digits
from billing.rules import today


def account_for(acct_no: int) -> Account:
    return get_object_or_404(Account, acct_no=acct_no)


def invoice_for(account: Account, invoice_no: int) -> Invoice:
    """The invoice ``invoice_no`` if it belongs to ``account``; 404 otherwise."""
    return get_object_or_404(
        Invoice.objects.select_related("revenue_code"), account=account, invoice_no=invoice_no
    )


def currencies_in_use() -> list[str]:
    """The currencies accounts bill in, for a currency filter's choices (a few rows
    from the accounts' currency index)."""
    return sorted(Account.objects.order_by().values_list("currency", flat=True).distinct())


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
    if is_ascii_digits(query):
        match |= Q(acct_no=int(query))
    else:
        match |= Q(name__icontains=query)
    return accounts.filter(match)


# The account list's sorts: the query parameter's value (``-`` first for descending)
# and the column it orders by; anything else sorts by account number.
ACCOUNT_SORTS = {
    "acct_no": "acct_no",
    "name": "name",
    "balance_due": "balance_due_minor",
    "overdue": "overdue_minor",
    "held": "held_minor",
}


def account_sort(raw: object) -> str:
    """``raw`` if it names a sort of the account list (e.g. ``-balance_due``), else ``acct_no``."""
    text = str(raw or "")
    return text if text.lstrip("-") in ACCOUNT_SORTS else "acct_no"


def accounts_with_balances(accounts: QuerySet[Account], sort: str) -> QuerySet[Account]:
    """``accounts`` with each one's balance due, overdue and on-hold amounts (minor
    units, over its sent invoices: a draft or void invoice owes nothing), sorted by
    ``sort`` (see ``account_sort``), the account number breaking ties.

    One grouped query over the invoices' stored running totals: no invoice is loaded.
    """
    sent = Q(invoices__status=Invoice.Status.SENT)
    due = F("invoices__total_minor") - F("invoices__paid_minor") - F("invoices__written_off_minor")
    overdue = (
        sent
        & Q(invoices__aging_date__lt=today())
        & Q(invoices__total_minor__gt=F("invoices__paid_minor") + F("invoices__written_off_minor"))
    )
    annotated = accounts.annotate(
        balance_due_minor=Coalesce(Sum(due, filter=sent), Value(0)),
        overdue_minor=Coalesce(Sum(due, filter=overdue), Value(0)),
        held_minor=Coalesce(Sum("invoices__held_minor", filter=sent), Value(0)),
    )
    column = ACCOUNT_SORTS[sort.lstrip("-")]
    descending = sort.startswith("-")
    order = F(column).desc() if descending else F(column).asc()
    return annotated.order_by(order, "acct_no")


# --- Invoices, payments and the account overview --------------------------


def invoices_filtered(account: Account, filters: dict) -> QuerySet[Invoice]:
    """The account's invoices, newest first, narrowed by the Invoices page's filters.

    Each filter reads a running total stored on the invoice row, so no filter
    needs a join or an aggregate.
    """
    # Ends on the primary key, for keyset pages; invoice_no is unique, so it never ties.
    invoices = Invoice.objects.filter(account=account).order_by("-bill_date", "-invoice_no", "-id")
    if filters.get("q"):
        invoices = invoices.filter(invoice_no=filters["q"])
    if filters.get("status"):
        invoices = invoices.filter(status=filters["status"])
    if filters.get("written_off"):
        invoices = invoices.filter(written_off_minor__gt=0)
    if filters.get("disputed"):
        invoices = invoices.filter(held_minor__gt=0)
    # Filters of rows billing does not keep (e.g. "recovered": some write-off was
    # partly paid after all), registered by the apps that keep them.
    for name, narrow in extensions.hooks.invoice_filters.items():
        if filters.get(name):
            invoices = invoices.filter(narrow(account))
    if filters.get("overdue"):
        # As Invoice.is_overdue: a draft or void invoice is never overdue.
        invoices = invoices.filter(
            status=Invoice.Status.SENT,
            aging_date__lt=today(),
            total_minor__gt=F("paid_minor") + F("written_off_minor"),
        )
    return invoices


def account_payments(account: Account) -> QuerySet[Payment]:
    return (
        Payment.objects.filter(account=account)
        .select_related("invoice")
        .order_by("-paid_on", "-id")
    )


def payment_for(account: Account, payment_id: int) -> Payment:
    return get_object_or_404(
        Payment.objects.select_related("invoice"), account=account, pk=payment_id
    )


def sent_invoice_sums(account: Account) -> tuple[int, int]:
    """Balance due and held, in minor units, over the account's sent invoices.

    The sums run over integer minor-unit columns, which every database (SQLite
    included) adds exactly.
    """
    sums = Invoice.objects.filter(account=account, status=Invoice.Status.SENT).aggregate(
        balance_due=Sum(F("total_minor") - F("paid_minor") - F("written_off_minor")),
        held=Sum("held_minor"),
    )
    return sums["balance_due"] or 0, sums["held"] or 0
