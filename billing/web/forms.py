"""Forms for the invoice and payment pages.

Forms collect input and show errors; the money rules are the services'. A view
calls the service and attaches the ``BillingError`` it raises to the field it
names (``attach_billing_error``). An amount is read once, by ``AmountField``
(``billing.money.parse_amount`` in the active language), and the service gets the
``Decimal`` it read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import QueryDict
from django.utils import translation

from billing.errors import PERMISSION_DENIED, BillingError
from billing.models import Invoice, Payment
from billing.money import amount_input_text, amount_widget_attrs, parse_amount
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


class AmountField(forms.CharField):
    """An amount as a person types it: in the active language's form (English
    ``1,234.56``), read by ``billing.money.parse_amount``, the one reader of amounts.

    It cleans to a ``Decimal`` with the currency's places, or refuses with the reader's
    message next to the field (``1,50`` in English: "Use a point for decimals, e.g.
    1.50"); the services then get that ``Decimal``, never the text. The currency comes
    from the form's invoice (``set_currency``), which also gives the input what
    static/js/remaining-balance.js needs to read it the same way. An initial
    ``Decimal`` (a confirm step's frozen amount) is shown as the language types it.
    """

    def __init__(self, *, currency: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        )
        super().__init__(**kwargs)
        self.currency: str | None = None
        if currency is not None:
            self.set_currency(currency)

    def set_currency(self, currency: str) -> None:
        self.currency = currency
        self.widget.attrs.update(amount_widget_attrs(currency))

    def clean(self, value: Any) -> Decimal | None:
        text = super().clean(value)
        if text in self.empty_values:
            return None
        if self.currency is None:
            raise ImproperlyConfigured("An AmountField needs its currency before it is cleaned.")
        try:
            return parse_amount(text, self.currency, locale=translation.get_language())
        except BillingError as error:
            raise forms.ValidationError(error.message, code="invalid_amount") from None

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, Decimal):
            return amount_input_text(value)
        return value


def amount_field(form: forms.BaseForm, name: str = "amount") -> AmountField:
    return cast(AmountField, form.fields[name])


def amount_for_invoice(
    form: forms.Form, invoice: Invoice, *, output: str, extra: dict[str, str]
) -> None:
    """Fit a form's amount field to the invoice it is about: the currency's places and
    separators, the currency in the label, and what the live "remaining" line
    (static/js/remaining-balance.js) reads, shown in the element ``output``."""
    amount_field(form).set_currency(invoice.currency)
    field = form.fields["amount"]
    field.label = f"Amount ({invoice.currency})"
    field.widget.attrs.update(
        {
            "data-remaining-from": str(invoice.balance_due),
            "data-remaining-limit": str(invoice.available),
            "data-remaining-output": output,
            **extra,
        }
    )


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
    """Record Payment (seed 003): a partial amount is fine; the remaining balance is shown.

    The drawer posts it to the review pop-out; the pop-out posts the same values again
    (the amount as read, frozen in a hidden field) to record the payment.
    """

    paid_on = DateField(label="Payment date")
    amount = AmountField(label="Amount")
    # No preselected method: a payment recorded as "check" by default would be wrong silently.
    method = forms.ChoiceField(
        label="Method", choices=[("", "Choose a method"), *Payment.Method.choices]
    )
    reference = forms.CharField(label="Reference", required=False, max_length=100)
    # One token per opened drawer: a double submit or a retry records one payment.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(
        self,
        data: Any = None,
        *,
        invoice: Invoice,
        initial: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        initial = {"paid_on": today(), "idempotency_key": uuid.uuid4().hex, **(initial or {})}
        super().__init__(data, initial=initial, **kwargs)
        self.invoice = invoice
        amount_for_invoice(
            self,
            invoice,
            output="payment-remaining",
            extra={"aria-describedby": "payment-remaining"},
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

    # What the review's Cancel link carries back to the drawer (not the token: the
    # drawer it opens is a new one).
    initial_from_names = ("amount", "paid_on", "method", "reference")

    @classmethod
    def initial_from(cls, query: QueryDict) -> dict[str, Any]:
        """The drawer's values from a query string: without JavaScript, the review's
        Cancel link returns to the drawer with the input kept as typed."""
        return {name: query[name] for name in cls.initial_from_names if query.get(name)}


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
