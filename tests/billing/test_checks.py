"""System checks: out-of-range deployment settings are warnings that name the setting."""

import pytest
from django.core import checks

pytestmark = pytest.mark.django_db


def billing_warnings():
    return [m for m in checks.run_checks() if m.id and m.id.startswith("billing.")]


def test_default_settings_raise_no_billing_warning():
    assert billing_warnings() == []


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("DISPUTE_HOLD_EXPIRATION_DAYS", 1),
        ("DISPUTE_HOLD_EXPIRATION_DAYS", 181),
        ("DISPUTE_HOLD_EXPIRATION_DAYS", "thirty"),
        ("DISPUTE_HOLD_EXPIRATION_DAYS", True),
        ("DISPUTE_HOLD_OVERRIDE_MAX_DAYS", 1),
        ("DISPUTE_HOLD_OVERRIDE_MAX_DAYS", 541),
        ("DISPUTE_HOLD_OVERRIDE_MAX_DAYS", 90.5),
        ("DISPUTE_HOLD_EXPIRATION_ACTION", "delete"),
    ],
)
def test_out_of_range_dispute_setting_is_a_warning_that_names_it(settings, setting, value):
    setattr(settings, setting, value)
    (warning,) = billing_warnings()
    assert warning.level == checks.WARNING
    assert warning.id == "billing.W001"
    assert warning.msg.startswith(f"{setting} is {value!r}")
    assert "29013" in warning.hint


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("DISPUTE_HOLD_EXPIRATION_DAYS", 2),
        ("DISPUTE_HOLD_EXPIRATION_DAYS", 180),
        ("DISPUTE_HOLD_OVERRIDE_MAX_DAYS", 2),
        ("DISPUTE_HOLD_OVERRIDE_MAX_DAYS", 540),
        ("DISPUTE_HOLD_EXPIRATION_ACTION", "none"),
        ("DISPUTE_HOLD_EXPIRATION_ACTION", "convert"),
        ("DISPUTE_HOLD_EXPIRATION_ACTION", "release"),
        ("DISPUTE_HOLD_EXPIRATION_ACTION", "release_reage"),
    ],
)
def test_dispute_settings_at_the_edges_of_their_range_are_accepted(settings, setting, value):
    setattr(settings, setting, value)
    assert billing_warnings() == []


def test_each_bad_setting_gets_its_own_warning(settings):
    settings.DISPUTE_HOLD_EXPIRATION_DAYS = 0
    settings.DISPUTE_HOLD_OVERRIDE_MAX_DAYS = 999
    names = sorted(w.msg.split()[0] for w in billing_warnings())
    assert names == ["DISPUTE_HOLD_EXPIRATION_DAYS", "DISPUTE_HOLD_OVERRIDE_MAX_DAYS"]


@pytest.mark.parametrize("client_no", [0, -1, "1000", None])
def test_invalid_client_number_is_a_warning(settings, client_no):
    settings.BILLING_CLIENT_NO = client_no
    (warning,) = billing_warnings()
    assert warning.id == "billing.W002"
    assert "BILLING_CLIENT_NO" in warning.msg


@pytest.mark.parametrize("value", [0, -5, "ninety", True])
def test_a_signin_log_retention_below_one_day_is_a_warning_that_names_it(settings, value):
    settings.SIGNIN_LOG_RETENTION_DAYS = value
    (warning,) = billing_warnings()
    assert warning.id == "billing.W020"
    assert warning.msg.startswith(f"SIGNIN_LOG_RETENTION_DAYS is {value!r}")


@pytest.mark.parametrize("value", [0, -1, 301, "10", True])
def test_a_webhook_timeout_out_of_range_is_a_warning_that_names_it(settings, value):
    settings.WEBHOOK_TIMEOUT_SECONDS = value
    (warning,) = billing_warnings()
    assert warning.id == "billing.W040"
    assert warning.msg.startswith(f"WEBHOOK_TIMEOUT_SECONDS is {value!r}")
