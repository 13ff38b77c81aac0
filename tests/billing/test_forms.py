import pytest
from django import forms
from django.core.exceptions import PermissionDenied

from billing.errors import INVALID_AMOUNT, PERMISSION_DENIED, BillingError
from billing.web.forms import attach_billing_error


class AmountForm(forms.Form):
    amount = forms.CharField()


def test_a_service_refusal_is_shown_next_to_its_field():
    form = AmountForm({"amount": "5"})
    assert form.is_valid()
    attach_billing_error(form, BillingError(INVALID_AMOUNT, "Too much.", field="amount"))
    assert form.errors == {"amount": ["Too much."]}


def test_a_refusal_for_an_unknown_field_is_shown_above_the_form():
    form = AmountForm({"amount": "5"})
    assert form.is_valid()
    attach_billing_error(form, BillingError(INVALID_AMOUNT, "Not now.", field="elsewhere"))
    assert form.non_field_errors() == ["Not now."]


def test_a_refusal_for_the_users_role_is_a_403_not_a_form_error():
    form = AmountForm({"amount": "5"})
    assert form.is_valid()
    with pytest.raises(PermissionDenied, match="not allowed"):
        attach_billing_error(form, BillingError(PERMISSION_DENIED, "clerk is not allowed."))
    assert not form.errors
