"""The Transactions > Write-Offs page: tables, picker and entry drawers, confirm pop-out.

Each step is a plain URL. Without htmx it renders the whole page; with htmx it
renders the page's named partial.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import reswap, retarget, trigger_client_event

from billing import extensions
from billing.actors import Actor
from billing.csv_export import csv_response
from billing.errors import BillingError
from billing.models import Account, Invoice
from billing.money import money_text
from billing.receivables.selectors import account_for, invoice_for
from billing.rules import today
from billing.web.forms import attach_billing_error
from billing.web.htmx import CLOSE_POPOUT, HtmxHttpRequest, htmx_done, render_page
from billing.web.pagination import keyset_window, page_window
from writeoffs.lifecycle.create import WriteOffPlan, writeoff_create, writeoff_plan
from writeoffs.lifecycle.holds import (
    DisputeHoldPlan,
    dispute_hold_create,
    dispute_hold_plan,
    resolve_expire_hold_days,
)
from writeoffs.models import DisputeHold, Settlement, Source, WriteOff
from writeoffs.selectors import (
    DISPUTE_SORTS,
    WRITEOFF_SORTS,
    active_writeoffs_totals,
    disputes_for,
    open_holds_total,
    parse_sort,
    pickable_invoices,
    writeoff_table,
    writeoffs_for,
)
from writeoffs.web import exports
from writeoffs.web.context_processors import announce_approvals_count
from writeoffs.web.forms import DisputeHoldForm, EntryForm, WriteOffForm
from writeoffs.web.table_rows import TableAccess, dispute_rows, writeoff_rows

ROWS_PER_PAGE = 25


INVOICES_PER_PAGE = 10


TEMPLATE = "writeoffs/page.html"


@dataclass(frozen=True)
class EntryKind:
    """What differs between creating a write-off and creating a dispute hold:
    names, the form, the table's rows and sorts, and the service's plan and create."""

    key: str
    tab: str
    perm: str
    title: str
    submit_label: str
    noun: str
    form_class: type[EntryForm]
    sorts: dict[str, str]
    table: Callable[[Account, tuple[str, bool] | None], QuerySet]
    # A page of the table's model rows as the template prints them.
    present: Callable[[list[Any], Account, TableAccess], list[Any]]
    # The table's footer: the total of its active rows (for write-offs, gross,
    # recovered and net: ``WriteOffTotals``).
    active_total: Callable[[Account], object]
    plan: Callable[..., WriteOffPlan | DisputeHoldPlan]
    create: Callable[..., WriteOff | DisputeHold]

    def url(self, step: str, account: Account, invoice: Invoice | None = None) -> str:
        args = [account.acct_no] if invoice is None else [account.acct_no, invoice.invoice_no]
        return reverse(f"{self.key}_{step}", args=args)


WRITEOFF = EntryKind(
    key="writeoff",
    tab="writeoffs",
    perm="writeoffs.add_writeoff",
    title="Create a Write-off",
    submit_label="Create Write-Off",
    noun="Write-off",
    form_class=WriteOffForm,
    sorts=WRITEOFF_SORTS,
    table=writeoff_table,
    present=writeoff_rows,
    active_total=active_writeoffs_totals,
    plan=writeoff_plan,
    create=writeoff_create,
)


DISPUTE = EntryKind(
    key="dispute",
    tab="disputes",
    perm="writeoffs.add_disputehold",
    title="Create a Dispute Hold",
    submit_label="Create Dispute Hold",
    noun="Dispute hold",
    form_class=DisputeHoldForm,
    sorts=DISPUTE_SORTS,
    table=disputes_for,
    present=dispute_rows,
    active_total=open_holds_total,
    plan=dispute_hold_plan,
    create=dispute_hold_create,
)


KIND_FOR_TAB = {WRITEOFF.tab: WRITEOFF, DISPUTE.tab: DISPUTE}


@login_required
@permission_required("writeoffs.view_writeoff", raise_exception=True)
@permission_required("writeoffs.view_disputehold", raise_exception=True)
@require_http_methods(["GET"])
def writeoff_page(request: HtmxHttpRequest, acct_no: int) -> HttpResponse:
    """The Write-offs and Disputes subtabs. htmx gets only the tabs and their panel."""
    account = account_for(acct_no)
    kind = KIND_FOR_TAB.get(request.GET.get("tab", ""), WRITEOFF)
    sort = parse_sort(request.GET.get("sort", ""), kind.sorts)
    # Keyset pages: page 2,000 of a busy account costs what page 1 does.
    window = keyset_window(kind.table(account, sort), request.GET, ROWS_PER_PAGE)
    active_total = kind.active_total(account)
    access = TableAccess(
        user_id=request.user.pk,
        highlight=request.GET.get("highlight", ""),
        can_reverse=request.user.has_perm("writeoffs.reverse_writeoff"),
        can_approve=request.user.has_perm("writeoffs.approve_writeoff"),
        can_settle=request.user.has_perm("writeoffs.settle_disputehold"),
    )
    context = {
        **_page_context(account, kind),
        "step": "tabs",
        "rows": replace(window, items=kind.present(window.items, account, access)),
        "sort": request.GET.get("sort", "") if sort else "",
        "highlight": access.highlight,
        "active_total": active_total,
        "today": today(),
        "can_create": request.user.has_perm(kind.perm),
        "can_settle": access.can_settle,
        "can_reverse": access.can_reverse,
        "can_approve": access.can_approve,
        "csv_url": reverse(f"{kind.key}_csv", args=[account.acct_no])
        + (f"?{urlencode({'sort': request.GET['sort']})}" if sort else ""),
    }
    return render_page(request, TEMPLATE, context, partial="tabs")


@login_required
@permission_required(WRITEOFF.perm, raise_exception=True)
@require_http_methods(["GET"])
def writeoff_picker(request: HtmxHttpRequest, acct_no: int) -> HttpResponse:
    return _picker(request, acct_no, WRITEOFF)


@login_required
@permission_required(DISPUTE.perm, raise_exception=True)
@require_http_methods(["GET"])
def dispute_picker(request: HtmxHttpRequest, acct_no: int) -> HttpResponse:
    return _picker(request, acct_no, DISPUTE)


def _picker(request: HtmxHttpRequest, acct_no: int, kind: EntryKind) -> HttpResponse:
    account = account_for(acct_no)
    query = request.GET.get("q", "").strip()[:25]
    invoices = page_window(
        pickable_invoices(account, query), request.GET.get("page"), INVOICES_PER_PAGE
    )
    extensions.flag_invoices(invoices.items)
    context = {
        **_page_context(account, kind),
        "step": "picker",
        "invoices": invoices,
        "query": query,
    }
    # A search or a page turn inside the drawer replaces only the results.
    in_drawer_results = request.htmx and request.htmx.target == "picker-results"
    return render_page(
        request,
        TEMPLATE,
        context,
        partial="picker_results" if in_drawer_results else "picker",
    )


@login_required
@permission_required(WRITEOFF.perm, raise_exception=True)
@require_http_methods(["GET", "POST"])
def writeoff_entry(request: HtmxHttpRequest, acct_no: int, invoice_no: int) -> HttpResponse:
    return _entry(request, acct_no, invoice_no, WRITEOFF)


@login_required
@permission_required(DISPUTE.perm, raise_exception=True)
@require_http_methods(["GET", "POST"])
def dispute_entry(request: HtmxHttpRequest, acct_no: int, invoice_no: int) -> HttpResponse:
    return _entry(request, acct_no, invoice_no, DISPUTE)


def _entry(
    request: HtmxHttpRequest, acct_no: int, invoice_no: int, kind: EntryKind
) -> HttpResponse:
    """GET shows the form; POST checks it through the service and shows the confirm pop-out."""
    account = account_for(acct_no)
    invoice = invoice_for(account, invoice_no)
    if request.method == "GET":
        form = kind.form_class(initial=kind.form_class.initial_from(request.GET), invoice=invoice)
        return _render_entry(request, account, invoice, kind, form)

    form = kind.form_class(request.POST, invoice=invoice)
    plan = _plan(request, invoice, kind, form)
    if plan is None:
        return _render_entry(request, account, invoice, kind, form)
    return _render_confirm(request, account, invoice, kind, form, plan)


@login_required
@permission_required(WRITEOFF.perm, raise_exception=True)
@require_http_methods(["POST"])
def writeoff_confirm(request: HtmxHttpRequest, acct_no: int, invoice_no: int) -> HttpResponse:
    return _confirm(request, acct_no, invoice_no, WRITEOFF)


@login_required
@permission_required(DISPUTE.perm, raise_exception=True)
@require_http_methods(["POST"])
def dispute_confirm(request: HtmxHttpRequest, acct_no: int, invoice_no: int) -> HttpResponse:
    return _confirm(request, acct_no, invoice_no, DISPUTE)


def _confirm(
    request: HtmxHttpRequest, acct_no: int, invoice_no: int, kind: EntryKind
) -> HttpResponse:
    """Create the entry through the service, which checks everything again under the lock.

    The idempotency token was minted when the pop-out was rendered, so a double
    click or a resubmitted form returns the first entry instead of a second one.
    """
    account = account_for(acct_no)
    invoice = invoice_for(account, invoice_no)
    form = kind.form_class(request.POST, invoice=invoice)
    token = _idempotency_token(request.POST.get("idempotency_token", ""))
    if not form.is_valid() or token is None:
        if token is None:
            form.add_error(None, "This confirmation expired. Check the entry and confirm again.")
        return _render_entry(request, account, invoice, kind, form, from_popout=True)
    try:
        entry = kind.create(
            invoice_id=invoice.pk,
            actor=Actor.for_request(request),
            idempotency_key=token,
            source=Source.UI,
            **form.plan_arguments(),
        )
    except BillingError as error:
        invoice.refresh_from_db()
        attach_billing_error(form, error, translate=form.in_plain_words)
        return _render_entry(request, account, invoice, kind, form, from_popout=True)

    message = (
        f"{kind.noun} {entry.number} created on invoice {invoice.invoice_no} "
        f"for {money_text(entry.amount, invoice.currency)}."
    )
    if getattr(entry, "is_pending", False):
        message += (
            " It is over your approval limit and waits for approval; the amount is reserved "
            "until then."
        )
    return _done(request, account, kind, entry.pk, message)


def _page_context(account: Account, kind: EntryKind) -> dict[str, Any]:
    return {
        "account": account,
        "section": "writeoffs",
        "kind": kind,
        "tab": kind.tab,
        "picker_url": kind.url("picker", account),
        "Settlement": Settlement,
    }


def _plan(request: HtmxHttpRequest, invoice: Invoice, kind: EntryKind, form: EntryForm):
    """The service's plan for this input, or ``None`` with every refusal on the form.

    The service is asked even when the form refused a field, so one submit shows
    the form's errors and the service's together (a field the form refused keeps
    the form's message).
    """
    valid = form.is_valid()
    try:
        plan = kind.plan(invoice=invoice, actor=Actor.for_request(request), **form.plan_arguments())
    except BillingError as error:
        attach_billing_error(form, error, translate=form.in_plain_words)
        return None
    return plan if valid else None


def _render_entry(
    request: HtmxHttpRequest,
    account: Account,
    invoice: Invoice,
    kind: EntryKind,
    form: EntryForm,
    *,
    from_popout: bool = False,
) -> HttpResponse:
    context = {
        **_page_context(account, kind),
        "step": "entry",
        "invoice": invoice,
        "form": form,
        "entry_url": kind.url("entry", account, invoice),
        "today": today(),
        "default_expire_hold_days": resolve_expire_hold_days(None),
    }
    response = render_page(request, TEMPLATE, context, partial="entry")
    if request.htmx:
        # The entry form posts into the pop-out; a refusal belongs in the drawer.
        retarget(response, "#drawer-content")
        reswap(response, "innerHTML")
        if from_popout:
            trigger_client_event(response, CLOSE_POPOUT)
    return response


def _render_confirm(
    request: HtmxHttpRequest,
    account: Account,
    invoice: Invoice,
    kind: EntryKind,
    form: EntryForm,
    plan: WriteOffPlan | DisputeHoldPlan,
) -> HttpResponse:
    """The pop-out: the plan's concrete values, frozen in hidden fields, and a fresh token."""
    # The amount as read (a Decimal): the hidden field shows it as the language types it.
    frozen = {**form.cleaned_data, "amount": plan.amount}
    as_typed = {name: form.data.get(name, "") for name in form.fields}
    context = {
        **_page_context(account, kind),
        "step": "confirm",
        "invoice": invoice,
        "plan": plan,
        "confirm_form": kind.form_class(initial=frozen),
        "idempotency_token": uuid.uuid4(),
        "confirm_url": kind.url("confirm", account, invoice),
        "edit_url": f"{kind.url('entry', account, invoice)}?{urlencode(as_typed)}",
        "window_days": settings.WRITEOFF_APPROVAL_WINDOW_DAYS,
    }
    return render_page(request, TEMPLATE, context, partial="confirm")


def _idempotency_token(raw: str) -> str | None:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return None


@login_required
@permission_required("writeoffs.view_writeoff", raise_exception=True)
@require_http_methods(["GET"])
def writeoff_csv(request: HtmxHttpRequest, acct_no: int) -> StreamingHttpResponse:
    """The Write-offs table as a CSV file, in the table's current order."""
    account = account_for(acct_no)
    rows = writeoffs_for(account, parse_sort(request.GET.get("sort", ""), WRITEOFF_SORTS))
    return csv_response(
        f"writeoffs-{account.acct_no}.csv", exports.WRITEOFF_HEADER, exports.writeoff_rows(rows)
    )


@login_required
@permission_required("writeoffs.view_disputehold", raise_exception=True)
@require_http_methods(["GET"])
def dispute_csv(request: HtmxHttpRequest, acct_no: int) -> StreamingHttpResponse:
    """The Disputes table as a CSV file, in the table's current order."""
    account = account_for(acct_no)
    rows = disputes_for(account, parse_sort(request.GET.get("sort", ""), DISPUTE_SORTS))
    return csv_response(
        f"disputes-{account.acct_no}.csv", exports.DISPUTE_HEADER, exports.dispute_rows(rows)
    )


def _done(
    request: HtmxHttpRequest, account: Account, kind: EntryKind, pk: int, message: str
) -> HttpResponse:
    """After a create, settlement or reversal: htmx refreshes the table with the row
    highlighted; without JS, back to the table's tab with the row highlighted."""
    page = reverse("writeoff_page", args=[account.acct_no])
    next_url = f"{page}?{urlencode({'tab': kind.tab, 'highlight': pk})}"
    response = htmx_done(request, kind=kind.key, pk=pk, message=message, next_url=next_url)
    # A create or conversion may have gone pending, a withdrawal ended one.
    return announce_approvals_count(request, response)
