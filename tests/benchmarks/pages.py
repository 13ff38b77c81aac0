"""What the benchmark requests, and the bare SQL it compares against.

Kept apart from ``run.py`` so the measured URLs and the floors sit side by side:
each floor fetches the same rows as the page, on the same index.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection
from django.test import Client
from django.urls import NoReverseMatch, reverse

from billing.models import Account, Invoice
from writeoffs.models import WriteOff

HTMX = {"HX-Request": "true"}
GZIP = {"Accept-Encoding": "gzip"}


class NotReady(Exception):
    """The page this measurement needs does not exist yet."""


def _url(name: str, **kwargs) -> str:
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch as error:
        raise NotReady(f"no URL named {name!r}") from error


def writeoffs_page(client: Client, account: Account) -> Callable:
    url = _url("writeoff_page", acct_no=account.acct_no)
    return lambda: client.get(url, headers=GZIP)


def writeoffs_partial(client: Client, account: Account) -> Callable:
    """The Write-offs tab's table, as htmx swaps it in."""
    url = _url("writeoff_table", acct_no=account.acct_no)
    return lambda: client.get(url, headers={**HTMX, **GZIP})


def writeoffs_deep_page(client: Client, account: Account, page: int) -> Callable:
    """Page ``page`` of the table, reached the way its Next links reach it."""
    url = _url("writeoff_table", acct_no=account.acct_no)
    return lambda: client.get(url, {"page": page}, headers={**HTMX, **GZIP})


def writeoffs_bare_select(account: Account) -> tuple[str, list]:
    """The table's 25 rows (with the invoice number and currency) in one indexed SELECT."""
    w = WriteOff._meta.db_table
    i = Invoice._meta.db_table
    sql = (
        f"SELECT w.id, w.writeoff_date, w.amount_minor, w.reason_code, w.comments, "
        f"w.created_by_label, w.status, i.invoice_no, i.currency "
        f"FROM {w} w INNER JOIN {i} i ON i.id = w.invoice_id "
        f"WHERE w.account_id = %s ORDER BY w.id DESC LIMIT 25"
    )
    return sql, [account.pk]


def picker_search(client: Client, account: Account) -> tuple[Callable, str, list]:
    """Search the invoice picker for one of the account's invoice numbers, and the
    bare SELECT of the same rows on the (account, status, invoice_no) index."""
    invoice = (
        Invoice.objects.filter(account=account, status=Invoice.Status.SENT)
        .order_by("invoice_no")
        .first()
    )
    term = str(invoice.invoice_no)
    url = _url("writeoff_picker", acct_no=account.acct_no)
    i = Invoice._meta.db_table
    sql = (
        f"SELECT id, invoice_no, bill_date, due_date, currency, total_minor, paid_minor, "
        f"written_off_minor, held_minor FROM {i} "
        f"WHERE account_id = %s AND status = 'sent' AND invoice_no >= %s AND invoice_no < %s "
        f"ORDER BY invoice_no LIMIT 25"
    )
    low = int(term)
    return (
        lambda: client.get(url, {"q": term}, headers={**HTMX, **GZIP}),
        sql,
        [account.pk, low, low + 1],
    )


def profile(bench, name: str, requests: int) -> None:
    """Run one request ``requests`` times under pyinstrument and print where time goes."""
    from pyinstrument import Profiler

    calls = {
        "partial": lambda: writeoffs_partial(bench.clerk_client, bench.account),
        "deep": lambda: writeoffs_deep_page(
            bench.clerk_client, bench.account, max(bench.busy_writeoffs // 25, 1)
        ),
        "picker": lambda: picker_search(bench.clerk_client, bench.account)[0],
        "page": lambda: writeoffs_page(bench.clerk_client, bench.account),
        "admin-invoices": lambda: lambda: bench.admin_client.get("/admin/billing/invoice/"),
        "admin-writeoffs": lambda: lambda: bench.admin_client.get("/admin/writeoffs/writeoff/"),
    }
    call = calls[name]()
    for _ in range(3):
        call()
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(requests):
        call()
    profiler.stop()
    print(f"{connection.vendor}: {name} x {requests}")
    print(profiler.output_text(unicode=True, color=False, show_all=False))
