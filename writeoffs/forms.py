"""The entry drawer's forms.

They only turn text into values of the right type. Every money rule (amount
within available, dates, comments, codes, expiry days) is the service's: the
view calls ``writeoff_plan`` / ``dispute_hold_plan`` and attaches the
``BillingError`` to ``error.field`` (``billing.forms.attach_billing_error``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from billing.models import AccountingCode
from billing.rules import today
from writeoffs.models import WRITEOFF_REASON_CODES, ReasonCode, Settlement


class EntryForm(forms.Form):
    amount = forms.CharField(
        label="Amount",
        required=False,
        max_length=30,
        help_text="Leave empty for the full available balance.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    comments = forms.CharField(
        label="Comments",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, currency: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if currency:
            self.fields["amount"].label = f"Amount ({currency})"

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


class WriteOffForm(EntryForm):
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
    writeoff_date = forms.DateField(
        label="Write-off date",
        initial=today,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    revenue_impacting = forms.BooleanField(
        label="Revenue-impacting",
        required=False,
        initial=True,
        help_text="Posts against the invoice's revenue code. Turn off to post to an expense code.",
        widget=forms.CheckboxInput(
            attrs={
                "class": "form-check-input",
                "role": "switch",
                "aria-describedby": "id_revenue_impacting_helptext",
                "data-hides": "div_id_accounting_code",
            }
        ),
    )
    accounting_code = forms.ModelChoiceField(
        label="Expense accounting code",
        required=False,
        queryset=AccountingCode.objects.filter(kind=AccountingCode.Kind.EXPENSE, active=True),
        empty_label="Choose an expense code",
        help_text="Only for a write-off that is not revenue-impacting.",
    )

    def plan_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        code = data.get("accounting_code")
        return {
            "amount": data.get("amount", ""),
            "reason_code": data.get("reason_code"),
            "comments": data.get("comments", ""),
            "writeoff_date": data.get("writeoff_date"),
            "revenue_impacting": bool(data.get("revenue_impacting")),
            "accounting_code_id": code.pk if code else None,
        }


class DisputeHoldForm(EntryForm):
    field_order = ["amount", "expire_hold_days", "comments"]

    expire_hold_days = forms.IntegerField(
        label="Expire hold days",
        required=False,
        help_text="Optional: override the default number of days before the hold expires.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def plan_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "amount": data.get("amount", ""),
            "comments": data.get("comments", ""),
            "expire_hold_days": data.get("expire_hold_days"),
        }


class SettleForm(forms.Form):
    """Settling a dispute hold: a reason code and the posting (revenue-impacting, or an
    expense code) when converting, as a write-off chooses; optional comments.

    The conversion's two fields carry ids of their own: the entry drawer's write-off
    form, which may be on the page at the same time, uses the default ones.
    """

    reason_code = forms.TypedChoiceField(
        label="Reason code",
        coerce=int,
        initial=ReasonCode.BAD_DEBT,
        choices=[(code, f"{code} · {ReasonCode(code).label}") for code in WRITEOFF_REASON_CODES],
    )
    revenue_impacting = forms.BooleanField(
        label="Revenue-impacting",
        required=False,
        initial=True,
        help_text="Posts against the invoice's revenue code. Turn off to post to an expense code.",
        widget=forms.CheckboxInput(
            attrs={
                "id": "settle_revenue_impacting",
                "class": "form-check-input",
                "role": "switch",
                "aria-describedby": "settle_revenue_impacting_helptext",
                "data-hides": "settle_accounting_code_group",
            }
        ),
    )
    accounting_code = forms.ModelChoiceField(
        label="Expense accounting code",
        required=False,
        queryset=AccountingCode.objects.filter(kind=AccountingCode.Kind.EXPENSE, active=True),
        empty_label="Choose an expense code",
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
