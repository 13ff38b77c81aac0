"""The entry drawer's forms.

They only turn text into values of the right type. Every money rule (amount
within available, dates, comments, codes, expiry days) is the service's: the
view calls ``writeoff_plan`` / ``dispute_hold_plan`` and attaches the
``BillingError`` to ``error.field`` (``billing.web.forms.attach_billing_error``).
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import QueryDict

from billing.errors import INVALID_EXPIRE_HOLD_DAYS, BillingError
from billing.models import Account, AccountingCode, Invoice, Payment
from billing.money import money_text
from billing.rules import today
from billing.web.fields import DateField
from billing.web.forms import AmountField, amount_field, amount_for_invoice, attach_billing_error
from writeoffs.bulk.runs import max_balance_field
from writeoffs.lifecycle.holds import EXPIRE_HOLD_DAYS_MIN
from writeoffs.models import WRITEOFF_REASON_CODES, ReasonCode, Settlement


class MarkedRequiredCharField(forms.CharField):
    """Shown as required (label and ``required`` attribute), but the rule itself is the
    service's: ``clean_comments`` refuses empty comments with its own code and message."""

    def validate(self, value: Any) -> None:
        pass


def revenue_impacting_field(
    *, describedby: str, hides: str, widget_id: str | None = None
) -> forms.BooleanField:
    """The Revenue-impacting switch a write-off and a dispute conversion share; off,
    it shows the expense code select (``hides``: the element it hides while on)."""
    attrs = {"id": widget_id} if widget_id else {}
    attrs.update(
        {
            "class": "form-check-input",
            "role": "switch",
            "aria-describedby": describedby,
            "data-hides": hides,
        }
    )
    return forms.BooleanField(
        label="Revenue-impacting",
        required=False,
        initial=True,
        help_text="Posts against the invoice's revenue code. Turn off to post to an expense code.",
        widget=forms.CheckboxInput(attrs=attrs),
    )


def expense_code_field(*, help_text: str, widget: forms.Select | None = None) -> forms.Field:
    """The active expense codes, for an entry that is not revenue-impacting."""
    return forms.ModelChoiceField(
        label="Expense accounting code",
        required=False,
        queryset=AccountingCode.objects.filter(kind=AccountingCode.Kind.EXPENSE, active=True),
        empty_label="Choose an expense code",
        help_text=help_text,
        widget=widget,
    )


class EntryForm(forms.Form):
    # The API keeps seed 001's "empty means the full balance"; a person must say so:
    # an amount, or the Full balance button. An empty field is never a silent default.
    amount = AmountField(
        label="Amount",
        help_text="Up to the available balance. Full balance fills it in.",
        error_messages={"required": "Enter an amount, or select Full balance."},
    )
    comments = MarkedRequiredCharField(
        label="Comments",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    #: How the live "after this entry" line names the entry (static/js/remaining-balance.js).
    remaining_kind = ""

    @staticmethod
    def in_plain_words(error: BillingError) -> str:
        """How the drawer words a service's refusal (``attach_billing_error``'s translate)."""
        return error.message

    def __init__(self, *args: Any, invoice: Invoice | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if invoice is not None:
            amount_for_invoice(
                self,
                invoice,
                output="entry-remaining",
                extra={"data-remaining-kind": self.remaining_kind},
            )

    @classmethod
    def initial_from(cls, query: QueryDict) -> dict[str, Any]:
        """Initial values from a query string (the no-JavaScript Cancel link keeps input)."""
        initial: dict[str, Any] = {}
        for name, field in cls.base_fields.items():
            if name not in query:
                continue
            try:
                initial[name] = field.to_python(query[name])
            except ValidationError:
                continue
        return initial

    def plan_arguments(self) -> dict[str, Any]:
        """The cleaned fields as the kind's plan and create services take them. The
        amount is the ``Decimal`` the field read; a refused one goes as empty (the
        plan then checks the other fields, and the field keeps its own message)."""
        raise NotImplementedError


class WriteOffForm(EntryForm):
    remaining_kind = "writeoff"
    field_order = [
        "amount",
        "reason_code",
        "writeoff_date",
        "revenue_impacting",
        "accounting_code",
        "comments",
    ]

    reason_code = forms.TypedChoiceField(
        label="Reason code",
        coerce=int,
        choices=[("", "Choose a reason")]
        + [(code, f"{code} · {ReasonCode(code).label}") for code in WRITEOFF_REASON_CODES],
    )
    writeoff_date = DateField(label="Write-off date", initial=today)
    revenue_impacting = revenue_impacting_field(
        describedby="id_revenue_impacting_helptext", hides="div_id_accounting_code"
    )
    accounting_code = expense_code_field(
        help_text="Only for a write-off that is not revenue-impacting."
    )

    def plan_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        code = data.get("accounting_code")
        return {
            "amount": data.get("amount") or "",
            "reason_code": data.get("reason_code"),
            "comments": data.get("comments", ""),
            "writeoff_date": data.get("writeoff_date"),
            "revenue_impacting": bool(data.get("revenue_impacting")),
            "accounting_code_id": code.pk if code else None,
        }


class DisputeHoldForm(EntryForm):
    remaining_kind = "dispute"
    field_order = ["amount", "expire_hold_days", "comments"]

    expire_hold_days = forms.IntegerField(
        label="Expire hold days",
        required=False,
        help_text="Optional: override the default number of days before the hold expires.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The range, for the expiry preview (static/js/app.js shows a date only within it).
        self.fields["expire_hold_days"].widget.attrs.update(
            {"min": EXPIRE_HOLD_DAYS_MIN, "max": settings.DISPUTE_HOLD_OVERRIDE_MAX_DAYS}
        )

    def plan_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "amount": data.get("amount") or "",
            "comments": data.get("comments", ""),
            "expire_hold_days": data.get("expire_hold_days"),
        }

    @staticmethod
    def in_plain_words(error: BillingError) -> str:
        """The UI's wording of a refusal whose API wording is seed 001's (kept for the API)."""
        if error.code == INVALID_EXPIRE_HOLD_DAYS:
            return (
                f"Enter a whole number of days from {EXPIRE_HOLD_DAYS_MIN} to "
                f"{settings.DISPUTE_HOLD_OVERRIDE_MAX_DAYS}, or leave it empty for the "
                f"default of {settings.DISPUTE_HOLD_EXPIRATION_DAYS} days."
            )
        return error.message


class SettleForm(forms.Form):
    """Settling a dispute hold: a reason code and the posting (revenue-impacting, or an
    expense code) when converting, as a write-off chooses; optional comments.

    The conversion's two fields carry ids of their own: the entry drawer's write-off
    form, which may be on the page at the same time, uses the default ones.
    """

    # Like the create drawer: no preselected reason, the person chooses one.
    reason_code = forms.TypedChoiceField(
        label="Reason code",
        coerce=int,
        choices=cast(forms.ChoiceField, WriteOffForm.base_fields["reason_code"]).choices,
    )
    revenue_impacting = revenue_impacting_field(
        describedby="settle_revenue_impacting_helptext",
        hides="settle_accounting_code_group",
        widget_id="settle_revenue_impacting",
    )
    accounting_code = expense_code_field(
        help_text="Only for a conversion that is not revenue-impacting.",
        widget=forms.Select(
            attrs={
                "id": "settle_accounting_code",
                "class": "form-select",
                "aria-describedby": "settle_accounting_code_helptext",
            }
        ),
    )
    comments = forms.CharField(
        label="Comments", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    field_order = ["reason_code", "revenue_impacting", "accounting_code", "comments"]

    def __init__(self, *args, action: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.action = action
        if action != Settlement.CONVERT:
            for name in ("reason_code", "revenue_impacting", "accounting_code"):
                del self.fields[name]

    def settle_arguments(self) -> dict:
        """The service's arguments. Revenue-impacting is ``accounting_code_id=None``;
        off, the chosen code (none chosen: the service refuses, next to the field)."""
        data = self.cleaned_data
        arguments = {"comments": data["comments"]}
        if self.action == Settlement.CONVERT:
            arguments["reason_code"] = data["reason_code"]
            if not data.get("revenue_impacting"):
                code = data.get("accounting_code")
                # No code is 0, never None (which means revenue-impacting): the
                # service refuses it next to the field, as it does for a write-off.
                arguments["accounting_code_id"] = code.pk if code else 0
        return arguments


class RecoveryForm(forms.Form):
    """Record Recovery: a payment on a written-off invoice, reinstating bad debt."""

    paid_on = DateField(label="Recovery date")
    amount = AmountField(label="Amount")
    method = forms.ChoiceField(label="Method", choices=Payment.Method.choices)
    reference = forms.CharField(label="Reference", required=False, max_length=100)
    writeoffs = forms.MultipleChoiceField(
        label="Reinstate from these write-offs",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="In the order shown; none ticked means newest first.",
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args, recoverable: list, currency: str, **kwargs) -> None:
        kwargs.setdefault("initial", {"paid_on": today(), "idempotency_key": uuid.uuid4().hex})
        super().__init__(*args, **kwargs)
        amount_field(self).set_currency(currency)
        self.fields["amount"].label = f"Amount ({currency})"
        cast(forms.MultipleChoiceField, self.fields["writeoffs"]).choices = [
            (
                str(w.pk),
                f"Write-off {w.pk} of {w.writeoff_date:%b %-d, %Y}: "
                f"{money_text(w.amount - w.recovered, currency)} recoverable",
            )
            for w in recoverable
        ]


class BulkRunForm(forms.Form):
    """A bulk run's criteria and what its write-offs carry; the service checks the rules."""

    older_than_days = forms.IntegerField(
        label="Days past the aging date, at least",
        initial=90,
        min_value=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    account_statuses = forms.MultipleChoiceField(
        label="Account status",
        choices=Account.Status.choices,
        initial=[Account.Status.ACTIVE],
        widget=forms.CheckboxSelectMultiple,
    )
    exclude_held = forms.BooleanField(
        label="Leave out invoices with open dispute holds", required=False, initial=True
    )
    reason_code = WriteOffForm.base_fields["reason_code"]
    revenue_impacting = forms.BooleanField(
        label="Revenue-impacting",
        required=False,
        initial=True,
        help_text="Posts against each invoice's revenue code. Turn off to post to an expense code.",
    )
    accounting_code = WriteOffForm.base_fields["accounting_code"]
    comments = forms.CharField(
        label="Comments", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, currencies: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currencies = currencies
        amounts = {
            max_balance_field(currency): AmountField(
                currency=currency,
                label=f"Largest balance ({currency})",
                required=False,
                help_text="Leave empty to leave this currency out.",
            )
            for currency in currencies
        }
        self.fields = {**amounts, **self.fields}

    def create_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        code = data.get("accounting_code")
        return {
            "max_balance": {
                currency: data[max_balance_field(currency)]
                for currency in self.currencies
                if data.get(max_balance_field(currency)) is not None
            },
            "older_than_days": data["older_than_days"],
            "account_statuses": data["account_statuses"],
            "exclude_held": bool(data.get("exclude_held")),
            "reason_code": data["reason_code"],
            "comments": data.get("comments", ""),
            "revenue_impacting": bool(data.get("revenue_impacting")),
            "accounting_code_id": code.pk if code else None,
        }

    def add_billing_error(self, error: BillingError) -> None:
        if error.field == "max_balance" and self.currencies:
            error.field = max_balance_field(self.currencies[0])
        attach_billing_error(self, error)
