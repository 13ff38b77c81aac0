"""What the benchmark requests, and the bare SQL it compares against.

Kept apart from ``run.py`` so the measured URLs and the floors sit side by side:
each floor fetches the same rows as the page, on the same index.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.db import connection
from django.test import Client
from django.urls import NoReverseMatch, reverse

from billing.models import Account, Invoice
from writeoffs.models import WriteOff

HTMX = {"HX-Request": "true"}
PAGE_SIZE = 25
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


def writeoffs_partial_url(account: Account) -> str:
    """The Write-offs tab's table, as htmx swaps it in (with the ``PARTIAL_HEADERS``)."""
    return _url("writeoff_page", acct_no=account.acct_no) + "?tab=writeoffs"


PARTIAL_HEADERS = {**HTMX, **GZIP}


def writeoffs_partial(client: Client, account: Account) -> Callable:
    url = writeoffs_partial_url(account)
    return lambda: client.get(url, headers=PARTIAL_HEADERS)


def writeoffs_deep_page(client: Client, account: Account, page: int) -> Callable:
    """Page ``page`` of the table, through the link page ``page - 1``'s Next button carries."""
    from billing.web.pagination import keyset_cursor
    from writeoffs.selectors import writeoffs_for

    rows = writeoffs_for(account)
    url = _url("writeoff_page", acct_no=account.acct_no)
    params = {"tab": "writeoffs", "page": page}
    if page > 1:
        ordering = [(name.lstrip("-"), name.startswith("-")) for name in rows.query.order_by]
        last_of_previous = rows[(page - 1) * PAGE_SIZE - 1]
        params["after"] = keyset_cursor(last_of_previous, ordering)
    return lambda: client.get(url, params, headers={**HTMX, **GZIP})


def writeoffs_bare_select(account: Account) -> tuple[str, list]:
    """The table's 25 rows (with the invoice number and currency) in one indexed SELECT,
    from what the page's URL gives: the account number.

    The account is a scalar subquery, not a join (PostgreSQL plans that join as a backward
    scan of every write-off). On PostgreSQL the rows are picked by key from the account's
    index first, as the page does: asked for whole rows ordered by key, it walks the primary
    key backwards past every newer write-off of other accounts.
    """
    a = Account._meta.db_table
    w = WriteOff._meta.db_table
    i = Invoice._meta.db_table
    columns = (
        "w.id, w.writeoff_date, w.amount_minor, w.reason_code, w.comments, "
        "w.created_by_label, w.status, i.invoice_no, i.currency"
    )
    account_id = f"(SELECT a.id FROM {a} a WHERE a.acct_no = %s)"
    if connection.vendor == "postgresql":
        where = (
            f"w.id IN (SELECT u.id FROM {w} u WHERE u.account_id = {account_id} "
            f"ORDER BY u.id DESC LIMIT 25)"
        )
    else:
        where = f"w.account_id = {account_id}"
    sql = (
        f"SELECT {columns} FROM {w} w INNER JOIN {i} i ON i.id = w.invoice_id "
        f"WHERE {where} ORDER BY w.id DESC LIMIT 25"
    )
    return sql, [account.acct_no]


def picker_search(client: Client, account: Account) -> tuple[Callable, str, list]:
    """Search the invoice picker for one of the account's invoice numbers, and the
    bare SELECT of the same rows on the (account, status, invoice_no) index."""
    from writeoffs.selectors import pickable_invoices

    # A whole number, as read off a paper invoice: the search a clerk makes most.
    invoice = pickable_invoices(account).order_by("invoice_no").first()
    term = str(invoice.invoice_no)
    url = _url("writeoff_picker", acct_no=account.acct_no)
    # A search typed in the open drawer swaps only the results.
    headers = {**HTMX, **GZIP, "HX-Target": "picker-results"}
    a = Account._meta.db_table
    i = Invoice._meta.db_table
    # The same rows in the same order: sent, with something available, newest first.
    sql = (
        f"SELECT i.id, i.invoice_no, i.bill_date, i.due_date, i.currency, i.total_minor, "
        f"i.paid_minor, i.written_off_minor, i.held_minor "
        f"FROM {i} i WHERE i.account_id = (SELECT a.id FROM {a} a WHERE a.acct_no = %s) "
        f"AND i.status = 'sent' AND i.invoice_no >= %s "
        f"AND i.invoice_no < %s "
        f"AND i.total_minor - i.paid_minor - i.written_off_minor - i.held_minor > 0 "
        f"ORDER BY i.bill_date DESC, i.invoice_no DESC LIMIT 11"
    )
    low = int(term)
    return (
        lambda: client.get(url, {"q": term}, headers=headers),
        sql,
        [account.acct_no, low, low + 1],
    )


def profile(bench, name: str, requests: int) -> None:
    """Run one request ``requests`` times under pyinstrument and print where time goes."""

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
    calls["create"] = lambda: service_create(bench)
    calls["case"] = lambda: case_page(bench)
    calls["import-preview"] = lambda: import_preview(bench)
    calls["approvals"] = lambda: approvals_queue(bench)
    profile_calls(name, calls[name](), requests)


def case_page(bench, holds: int = 10) -> Callable:
    """A case's page (its holds tab) for a case on ``holds`` of the busy account's
    invoices, opened through the service (the seed opens no cases)."""
    from billing.actors import Actor
    from writeoffs.cases.open import CaseHold, case_open
    from writeoffs.models import CaseCategory
    from writeoffs.selectors import pickable_invoices

    invoices = pickable_invoices(bench.account).order_by("invoice_no")[:holds]
    case = case_open(
        account_id=bench.account.pk,
        category=CaseCategory.objects.order_by("pk").values_list("code", flat=True).first(),
        holds=[CaseHold(invoice_no=invoice.invoice_no, amount="0.01") for invoice in invoices],
        actor=Actor.for_user(bench.admin_user),
        comments="Benchmark case",
    )
    url = _url("case_detail", number=case.number)
    return lambda: bench.admin_client.get(url, headers=GZIP)


def import_preview(bench, rows: int = 1000) -> Callable:
    """The import screen's preview of a checked accounts file of ``rows`` rows, a tenth
    of them refused (a currency that is not a code), checked as the worker checks it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from billing.actors import Actor
    from billing.sync.imports.runs import import_run_check
    from billing.sync.tasks import create_import_run

    lines = ["external_id,name,currency"]
    for n in range(rows):
        lines.append(f"bench_{n},Benchmark customer {n},{'dollars' if n % 10 == 0 else 'USD'}")
    upload = SimpleUploadedFile("accounts.csv", "\n".join(lines).encode())
    run = create_import_run(
        kind="accounts", upload=upload, mapping=None, actor=Actor.for_user(bench.admin_user)
    )
    import_run_check(run.pk)
    url = _url("import_detail", import_id=run.pk)
    return lambda: bench.admin_client.get(url, headers=GZIP)


def approvals_queue(bench, count: int = 60) -> Callable:
    """The approvals queue after the clerk asked, through the service, for ``count``
    write-offs of one cent over their approval limit, so each waits for approval."""
    from django.db.models import F

    from billing.actors import Actor
    from billing.money import from_minor
    from writeoffs.approvals.limits import approval_limit_minor
    from writeoffs.lifecycle.create import writeoff_create

    actor = Actor.for_user(bench.clerk)
    currency = bench.account.currency
    limit = approval_limit_minor(actor, currency)
    if limit is None:
        raise SystemExit("approvals: the clerk has no approval limit, so nothing would wait")
    invoices = (
        Invoice.objects.filter(status=Invoice.Status.SENT, currency=currency)
        .exclude(account=bench.account)
        .alias(
            available=F("total_minor") - F("paid_minor") - F("written_off_minor") - F("held_minor")
        )
        .filter(available__gt=limit)
        .order_by("id")
        .values_list("id", flat=True)[:count]
    )
    for invoice_id in invoices:
        writeoff_create(
            invoice_id=invoice_id,
            amount=str(from_minor(limit + 1, currency)),
            reason_code=1,
            comments="Benchmark request over the limit",
            actor=actor,
            idempotency_key=uuid.uuid4().hex,
        )
    pending = WriteOff.objects.filter(status=WriteOff.Status.PENDING).count()
    print(f"approvals: {pending:,} write-offs pending")
    url = _url("approval_queue")
    return lambda: bench.admin_client.get(url, headers=GZIP)


def profile_calls(name: str, call: Callable[[], object], requests: int) -> None:
    """Print pyinstrument's profile of ``requests`` calls of ``call``, after 3 to warm up."""
    from pyinstrument import Profiler

    for _ in range(3):
        call()
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(requests):
        call()
    profiler.stop()
    print(f"{connection.vendor}: {name} x {requests}")
    print(profiler.output_text(unicode=True, color=False, show_all=True))
    # The same samples by function, self time as a share of the whole: the top frames.
    from pyinstrument.renderers import ConsoleRenderer

    flat = ConsoleRenderer(unicode=True, flat=True, time="percent_of_total", show_all=True)
    print("\n".join(profiler.output(flat).splitlines()[:40]))


def invoices_with_room(busy: Account, count: int) -> list[tuple[int, int]]:
    """(invoice, account) of sent invoices with at least 1.00 available, by id, outside
    the busy account (whose table the page measures read)."""
    from django.db.models import F

    return list(
        Invoice.objects.filter(status=Invoice.Status.SENT)
        .exclude(account=busy)
        .alias(
            available=F("total_minor") - F("paid_minor") - F("written_off_minor") - F("held_minor")
        )
        .filter(available__gte=100)
        .order_by("id")
        .values_list("id", "account_id")[:count]
    )


def goodwill_writeoff(invoice_id: int, actor) -> WriteOff:
    """One write-off of 0.01 through the service: E's and S's create."""
    import uuid

    from writeoffs.lifecycle.create import writeoff_create

    return writeoff_create(
        invoice_id=invoice_id,
        amount="0.01",
        reason_code=1,
        comments="Benchmark goodwill credit",
        actor=actor,
        idempotency_key=uuid.uuid4().hex,
    )


def service_create(bench, count: int = 1000) -> Callable:
    """A call that writes off 0.01 of the next invoice with room for it."""
    from billing.actors import Actor

    invoices = iter(invoices_with_room(bench.account, count))
    actor = Actor.for_user(bench.clerk)
    return lambda: goodwill_writeoff(next(invoices)[0], actor)
