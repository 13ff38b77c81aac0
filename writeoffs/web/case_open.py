"""Opening a dispute case from an account, as the seed's flow opens a dispute hold:
the invoice-picker drawer (several invoices may be ticked), the entry drawer (an
amount per invoice, the category, the customer's contact, comments) and the confirm
pop-out, which freezes each amount and opens the case through ``case_open``.

Each step is also a plain URL that renders as a whole page, so the flow works
without JavaScript.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget, trigger_client_event

from billing import extensions
from billing.actors import Actor
from billing.errors import BillingError
from billing.models import Account, Invoice
from billing.receivables.selectors import account_for
from billing.rules import today
from billing.web.forms import AmountField, attach_billing_error
from billing.web.htmx import CLOSE_POPOUT, HtmxHttpRequest, render_page
from billing.web.pagination import page_window
from writeoffs.cases.open import CaseHold, case_open
from writeoffs.models import CaseCategory
from writeoffs.selectors import pickable_invoices

TEMPLATE = "writeoffs/case_open.html"
INVOICES_PER_PAGE = 25
# A case gathers a handful of invoices; the picker refuses more than this at once.
MAX_INVOICES = 20
PERMISSION = "writeoffs.add_case"


class CaseOpenForm(forms.Form):
    category = forms.ChoiceField(label="Category")
    contact_name = forms.CharField(label="Customer contact name", required=False, max_length=150)
    contact_email = forms.CharField(label="Customer contact email", required=False, max_length=254)
    comments = forms.CharField(
        label="Comments", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, invoices: list[Invoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invoices = invoices
        cast(forms.ChoiceField, self.fields["category"]).choices = [("", "Choose a category")] + [
            (c.code, f"{c.name} ({c.target_days} days)")
            for c in CaseCategory.objects.filter(active=True)
        ]
        for invoice in invoices:
            self.fields[f"amount_{invoice.invoice_no}"] = AmountField(
                label=f"Amount to hold on invoice {invoice.invoice_no} ({invoice.currency})",
                currency=invoice.currency,
                required=False,
                help_text=(f"Empty: all of the available {invoice.available} {invoice.currency}."),
            )

    @property
    def amount_rows(self) -> list[tuple[Invoice, forms.BoundField]]:
        return [(invoice, self[f"amount_{invoice.invoice_no}"]) for invoice in self.invoices]

    def holds(self) -> list[CaseHold]:
        """One hold per invoice; an empty amount is the whole available amount now."""
        return [
            CaseHold(invoice_no=invoice.invoice_no, amount=self.frozen_amount(invoice))
            for invoice in self.invoices
        ]

    def frozen_amount(self, invoice: Invoice) -> str:
        amount: Decimal | None = self.cleaned_data.get(f"amount_{invoice.invoice_no}")
        return format(amount if amount is not None else invoice.available, "f")

    def field_for(self, service_field: str | None) -> str | None:
        """``holds.1.amount`` is the second invoice's amount."""
        if not service_field:
            return None
        parts = service_field.split(".")
        if parts[0] == "holds" and len(parts) > 1 and parts[1].isdigit():
            index = int(parts[1])
            if index < len(self.invoices):
                return f"amount_{self.invoices[index].invoice_no}"
            return None
        return parts[0] if parts[0] in self.fields else None


def _chosen_invoices(account: Account, raw: list[str]) -> list[Invoice]:
    numbers = []
    for value in raw[:MAX_INVOICES]:
        if value.isdigit() and int(value) not in numbers:
            numbers.append(int(value))
    found = {i.invoice_no: i for i in pickable_invoices(account).filter(invoice_no__in=numbers)}
    return [found[number] for number in numbers if number in found]


def _context(account: Account, **extra: Any) -> dict[str, Any]:
    return {
        "account": account,
        "section": "writeoffs",
        "picker_url": reverse("case_open_picker", args=[account.acct_no]),
        "entry_url": reverse("case_open_entry", args=[account.acct_no]),
        "confirm_url": reverse("case_open_confirm", args=[account.acct_no]),
        "back_url": reverse("writeoff_page", args=[account.acct_no]) + "?tab=disputes",
        "max_invoices": MAX_INVOICES,
        **extra,
    }


@login_required
@permission_required(PERMISSION, raise_exception=True)
@require_http_methods(["GET"])
def case_open_picker(request: HtmxHttpRequest, acct_no: int) -> HttpResponse:
    """Tick the invoices the customer disputes, then go on to the amounts."""
    account = account_for(acct_no)
    query = request.GET.get("q", "").strip()[:25]
    invoices = page_window(
        pickable_invoices(account, query), request.GET.get("page"), INVOICES_PER_PAGE
    )
    extensions.flag_invoices(invoices.items)
    context = _context(account, step="picker", invoices=invoices, query=query)
    return render_page(request, TEMPLATE, context, partial="picker")


def _entry_form(request: HtmxHttpRequest, account: Account, data=None):
    source = data if data is not None else request.GET
    invoices = _chosen_invoices(account, source.getlist("invoice"))
    return CaseOpenForm(data, invoices=invoices), invoices


@login_required
@permission_required(PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def case_open_entry(request: HtmxHttpRequest, acct_no: int) -> HttpResponse:
    """GET: the entry drawer for the ticked invoices. POST: checked; the confirm
    pop-out when it passes, the drawer with the refusals next to their fields if not."""
    account = account_for(acct_no)
    form, invoices = _entry_form(
        request, account, request.POST if request.method == "POST" else None
    )
    if request.method == "POST" and form.is_valid() and invoices:
        context = _context(
            account,
            step="confirm",
            form=form,
            invoices=invoices,
            holds=[(invoice, Decimal(form.frozen_amount(invoice))) for invoice in invoices],
            category=CaseCategory.objects.get(code=form.cleaned_data["category"]),
            today=today(),
            idempotency_token=uuid.uuid4().hex,
        )
        return render_page(request, TEMPLATE, context, partial="confirm")
    if request.method == "POST" and not invoices:
        form.add_error(None, "Choose at least one invoice with an available balance.")
    return _render_entry(request, account, form, invoices)


def _render_entry(
    request: HtmxHttpRequest,
    account: Account,
    form: CaseOpenForm,
    invoices: list[Invoice],
    *,
    from_popout: bool = False,
) -> HttpResponse:
    context = _context(account, step="entry", form=form, invoices=invoices)
    response = render_page(request, TEMPLATE, context, partial="entry")
    if request.htmx and request.method == "POST":
        # The entry form posts into the pop-out; a refusal belongs in the drawer.
        retarget(response, "#drawer-content")
        reswap(response, "innerHTML")
        if from_popout:
            trigger_client_event(response, CLOSE_POPOUT)
    return response


@login_required
@permission_required(PERMISSION, raise_exception=True)
@require_http_methods(["POST"])
def case_open_confirm(request: HtmxHttpRequest, acct_no: int) -> HttpResponse:
    """Open the case as confirmed. A refusal (an amount no longer available, say) goes
    back to the entry drawer with the input kept."""
    account = account_for(acct_no)
    form, invoices = _entry_form(request, account, request.POST)
    if form.is_valid() and invoices:
        try:
            case = case_open(
                account_id=account.pk,
                category=form.cleaned_data["category"],
                holds=form.holds(),
                contact_name=form.cleaned_data["contact_name"],
                contact_email=form.cleaned_data["contact_email"],
                comments=form.cleaned_data["comments"],
                actor=Actor.for_request(request),
                idempotency_key=request.POST.get("idempotency_token", "")[:64] or None,
            )
        except BillingError as error:
            for each in getattr(error, "errors", [error]):
                field = form.field_for(each.field)
                attach_billing_error(form, BillingError(each.code, each.message, field=field))
        else:
            messages.success(
                request,
                f"Case {case.number} opened with {len(invoices)} dispute hold(s).",
            )
            case_url = reverse("case_detail", args=[case.number])
            if request.htmx:
                response = HttpResponseClientRedirect(case_url)
                patch_vary_headers(response, ["HX-Request"])
                return response
            return redirect(case_url)
    return _render_entry(request, account, form, invoices, from_popout=True)
