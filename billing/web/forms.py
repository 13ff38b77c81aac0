"""Forms for the invoice and payment pages.

Forms collect input and show errors; the money rules are the services'. A view
calls the service and attaches the ``BillingError`` it raises to the field it
names (``attach_billing_error``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied

from billing.errors import PERMISSION_DENIED, BillingError
from billing.models import Invoice, Payment
from billing.rules import check_text, today
from billing.web.fields import DateField, WholeNumberField


def attach_billing_error(
    form: forms.BaseForm,
    error: BillingError,
    *,
    translate: Callable[[BillingError], str] | None = None,
) -> None:
    """Show a service's refusal next to the field it is about (or above the form).

    A ``BillingErrors`` group shows each of its refusals. A field the form itself
    already refused keeps the form's message only: one message per problem.
    ``translate(error)`` may word a refusal for a person (the API keeps the
    service's wording).

    A refusal for the user's role is not something to correct in the form: it is
    a 403, whatever the view's own permission check let through.
    """
    for each in getattr(error, "errors", [error]):
        if each.code == PERMISSION_DENIED:
            raise PermissionDenied(each.message) from error
        field = each.field if each.field in form.fields else None
        if field is not None and form.has_error(field):
            continue
        form.add_error(field, translate(each) if translate else each.message)


class SearchForm(forms.Form):
    """A search box. Text the SPEC calls illegal (check_text: control and bidi-override
    characters) is refused with its message and searches nothing, like a form field."""

    q = forms.CharField(required=False, strip=True)

    def __init__(self, data, *, max_length: int) -> None:
        super().__init__(data)
        self.max_length = max_length

    def clean_q(self) -> str:
        try:
            return check_text(self.cleaned_data["q"], field="q")[: self.max_length]
        except BillingError as error:
            raise forms.ValidationError(error.message, code="illegal_characters") from None

    @property
    def query(self) -> str:
        """What to search for: nothing when the box holds illegal characters."""
        return self.cleaned_data.get("q", "") if self.is_valid() else ""


class InvoiceFilterForm(forms.Form):
    """The Invoices list's filters. Every field is optional; an invalid value is ignored."""

    q = WholeNumberField(label="Invoice No.", required=False, min_value=1)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *Invoice.Status.choices]
    )
    written_off = forms.BooleanField(label="Written off", required=False)
    disputed = forms.BooleanField(label="Disputed", required=False)
    recovered = forms.BooleanField(label="Recovered", required=False)
    overdue = forms.BooleanField(label="Overdue", required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update(
            {"placeholder": "Search by invoice number", "inputmode": "numeric"}
        )


class PaymentForm(forms.Form):
    """Record Payment (seed 003): a partial amount is fine; the remaining balance is shown."""

    paid_on = DateField(label="Payment date")
    amount = forms.CharField(
        label="Amount",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    # No preselected method: a payment recorded as "check" by default would be wrong silently.
    method = forms.ChoiceField(
        label="Method", choices=[("", "Choose a method"), *Payment.Method.choices]
    )
    reference = forms.CharField(label="Reference", required=False, max_length=100)
    # One token per opened drawer: a double submit or a retry records one payment.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args, invoice: Invoice, **kwargs) -> None:
        kwargs.setdefault("initial", {"paid_on": today(), "idempotency_key": uuid.uuid4().hex})
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        self.fields["amount"].widget.attrs.update(
            {
                "data-remaining-from": str(invoice.balance_due),
                "data-remaining-limit": str(invoice.available),
                "data-remaining-output": "payment-remaining",
                "aria-describedby": "payment-remaining",
            }
        )

    def clean(self) -> dict[str, Any] | None:
        if self.has_error("idempotency_key"):
            # An error on a hidden field would show nowhere and Save would seem to do
            # nothing: say it above the form, and carry a new token so saving again works.
            del self.errors["idempotency_key"]
            self.add_error(None, "This form expired. Check the payment and save it again.")
            # Bound data is a QueryDict (or a dict in tests); both copy to a mutable one.
            data = self.data.copy()  # type: ignore[attr-defined]  # Mapping declares no copy()
            data["idempotency_key"] = uuid.uuid4().hex
            self.data = data
        return super().clean()


class ReasonForm(forms.Form):
    """The reason a supervisor gives to remove a payment or reverse a write-off."""

    # Length and illegal characters are the service's checks (clean_comments).
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 3}))


class LockDateForm(forms.Form):
    """Move the lock date: the date the books close through, and why. The confirm
    step posts the same values again with ``confirmed`` set."""

    locked_through = DateField(label="Close the books through")
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 3}))
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class DateRangeForm(forms.Form):
    """A report's date range: both ends included; the start may be left empty."""

    start = DateField(label="From", required=False)
    end = DateField(label="Through")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("start", "The start must be on or before the end.")
        return data


class JournalExportForm(forms.Form):
    """The journal export: by date range, or by entry-number range."""

    start = DateField(label="From date", required=False)
    end = DateField(label="Through date", required=False)
    first_entry = WholeNumberField(label="From entry number", required=False, min_value=1)
    last_entry = WholeNumberField(label="Through entry number", required=False, min_value=1)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        dates = data.get("start") or data.get("end")
        numbers = data.get("first_entry") or data.get("last_entry")
        if not dates and not numbers and not self.errors:
            raise forms.ValidationError("Choose a date range or an entry-number range.")
        if dates and numbers:
            raise forms.ValidationError("Choose a date range or an entry-number range, not both.")
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("start", "The start must be on or before the end.")
        first, last = data.get("first_entry"), data.get("last_entry")
        if first and last and first > last:
            self.add_error("first_entry", "The first entry must be at or before the last.")
        return data
