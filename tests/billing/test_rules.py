"""The shared rule helpers in billing.rules that every service calls."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.errors import ILLEGAL_CHARACTERS, INVALID_COMMENTS, INVALID_INPUT, BillingError
from billing.idempotency import fingerprint
from billing.rules import (
    REQUIRED_MESSAGE,
    check_text,
    clean_comments,
    clean_optional_text,
    today,
)


def test_today_is_the_local_date_in_the_configured_time_zone():
    assert today() == timezone.localdate()


def test_clean_comments_turns_crlf_into_lf():
    assert clean_comments("one\r\ntwo\r\n") == "one\ntwo\n"


def test_required_is_worded_as_djangos_forms_word_it():
    """One wording for an empty required field (issue 25 found three)."""
    from django import forms

    assert str(forms.Field.default_error_messages["required"]) == REQUIRED_MESSAGE
    assert REQUIRED_MESSAGE == "This field is required."


def test_missing_comments_say_they_are_required():
    with pytest.raises(BillingError) as refused:
        clean_comments("")
    assert refused.value.code == INVALID_COMMENTS
    assert refused.value.message == "This field is required."
    assert refused.value.field == "comments"


def test_missing_reason_says_it_is_required():
    with pytest.raises(BillingError) as refused:
        clean_comments(" ", field="reason", label="A reason")
    assert refused.value.message == "This field is required."
    assert refused.value.field == "reason"


def test_too_long_comments_say_how_long_they_are():
    with pytest.raises(BillingError) as refused:
        clean_comments("x" * 3001)
    assert refused.value.message == "Comments must be at most 3000 characters (they are 3001)."


def test_a_lone_carriage_return_is_a_control_character():
    with pytest.raises(BillingError) as refused:
        check_text("one\rtwo", field="comments")
    assert refused.value.code == ILLEGAL_CHARACTERS
    assert "U+000D" in refused.value.message


@pytest.mark.parametrize("char", ["\u2028", "\u200e", "\u200f", "\u00a0", "é", "😀"])
def test_visible_and_ordinary_invisible_characters_are_not_illegal(char):
    assert check_text(f"a{char}b", field="comments") == f"a{char}b"


def test_optional_text_may_be_empty_but_not_too_long():
    assert clean_optional_text(None, field="reference", max_length=5) == ""
    assert clean_optional_text("12345", field="reference", max_length=5) == "12345"
    with pytest.raises(BillingError) as refused:
        clean_optional_text("123456", field="reference", max_length=5)
    assert refused.value.code == INVALID_INPUT
    assert refused.value.field == "reference"


def test_fingerprint_is_the_same_for_the_same_content_in_any_order():
    assert fingerprint(a=1, b="x") == fingerprint(b="x", a=1)


def test_fingerprint_treats_a_decimal_like_its_text():
    assert fingerprint(amount=Decimal("1.50")) == fingerprint(amount="1.50")
    assert fingerprint(day=datetime.date(2026, 1, 2)) == fingerprint(day="2026-01-02")


def test_fingerprint_tells_different_content_apart():
    assert fingerprint(amount="1.50") != fingerprint(amount="1.5")
    assert fingerprint(amount="1.50", invoice_id=1) != fingerprint(amount="1.50", invoice_id=2)
