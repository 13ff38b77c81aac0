"""Dates and whole numbers at the edge of the calendar and of BIGINT: every form and
API call refuses them in words (next to the field, or with 1011), never a 500 and
never an export that stops after its header. And a typed date is ISO or the
locale's own ("Dec 1, 2026"), never "06/12/2026", whose meaning depends on the reader.
"""

from __future__ import annotations

import datetime
import json
import logging
import os

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.api.keys import api_key_create
from billing.bounds import BIGINT_MAX
from billing.rules import today
from billing.web.fields import DATE_INVALID_MESSAGE, DateField
from billing.web.forms import DateRangeForm, JournalExportForm, PaymentForm

pytestmark = pytest.mark.django_db

OUT_OF_RANGE = "Enter a date from 1900-01-01 to 2999-12-31."
TOO_BIG = f"Ensure this value is less than or equal to {BIGINT_MAX}."


@pytest.fixture
def no_errors_logged(caplog):
    """Nothing reaches the error log: the 'export with only a header' logged one."""
    with caplog.at_level(logging.ERROR):
        yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def body_of(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


# --- the report screens a viewer reaches ---------------------------------------------


@pytest.mark.parametrize("as_of", ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"])
def test_aging_as_of_outside_the_range_is_refused_next_to_the_field(
    client, viewer, invoice, no_errors_logged, as_of
):
    client.force_login(viewer)

    response = client.get(reverse("report_aging"), {"as_of": as_of})

    html = response.content.decode()
    assert response.status_code == 200
    assert f'<div id="as-of-error" class="invalid-feedback">{OUT_OF_RANGE}</div>' in html


def test_aging_csv_with_an_edge_date_falls_back_to_today_instead_of_failing(
    client, viewer, invoice, no_errors_logged
):
    client.force_login(viewer)

    response = client.get(reverse("report_aging_csv"), {"as_of": "0001-01-01"})

    lines = body_of(response).splitlines()
    assert response.status_code == 200
    assert lines[1].startswith(today().isoformat())


def test_aging_drill_down_with_an_edge_date_is_a_400_that_says_why(
    client, viewer, invoice, no_errors_logged
):
    client.force_login(viewer)

    response = client.get(
        reverse("report_aging_invoices"),
        {"as_of": "0001-01-01", "currency": "USD", "column": "d1_30"},
    )

    assert response.status_code == 400
    assert OUT_OF_RANGE in response.content.decode()


@pytest.mark.parametrize(
    ("start", "end"),
    [("9999-01-01", "9999-12-31"), ("0001-01-01", "0001-12-31"), ("2026-01-01", "9999-12-31")],
)
def test_writeoff_analysis_with_edge_dates_is_refused_next_to_the_fields(
    client, viewer, invoice, no_errors_logged, start, end
):
    client.force_login(viewer)

    page = client.get(reverse("report_writeoffs"), {"start": start, "end": end})
    csv = client.get(reverse("report_writeoffs_csv"), {"start": start, "end": end})

    assert page.status_code == 200
    assert OUT_OF_RANGE in page.content.decode()
    assert csv.status_code == 200


# --- the books -------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["first_entry", "last_entry"])
def test_journal_export_with_an_entry_number_above_bigint_is_refused_not_empty(
    client, supervisor, invoice, no_errors_logged, field
):
    client.force_login(supervisor)

    response = client.get(reverse("journal_export"), {field: str(2**63)})

    assert response.status_code == 400
    assert not response.streaming
    assert TOO_BIG in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"start": "0001-01-01", "end": "0001-01-02"},
        {"start": "9999-12-30", "end": "9999-12-31"},
    ],
)
def test_journal_export_with_edge_dates_is_refused(
    client, supervisor, invoice, no_errors_logged, params
):
    client.force_login(supervisor)

    response = client.get(reverse("journal_export"), params)

    assert response.status_code == 400
    assert OUT_OF_RANGE in response.content.decode()


def test_trial_balance_with_edge_dates_is_refused_next_to_the_field(
    client, supervisor, invoice, no_errors_logged
):
    client.force_login(supervisor)

    response = client.get(reverse("trial_balance"), {"end": "9999-12-31"})

    assert response.status_code == 200
    assert OUT_OF_RANGE in response.content.decode()


def test_an_invoice_number_search_above_bigint_is_refused(client, viewer, invoice):
    client.force_login(viewer)

    response = client.get(reverse("invoice_list", kwargs={"acct_no": 5001}), {"q": str(2**63)})

    assert response.status_code == 200


def test_the_bounds_themselves_are_accepted():
    form = JournalExportForm({"start": "1900-01-01", "end": "2999-12-31"})
    assert form.is_valid(), form.errors
    form = JournalExportForm({"first_entry": "1", "last_entry": str(BIGINT_MAX)})
    assert form.is_valid(), form.errors


# Every date and number these screens take, from Hypothesis' whole calendar (years 1
# to 9999) and the garbage the form fuzzer uses: a page or a 400, never an exception.
edge_dates = st.one_of(
    st.dates().map(datetime.date.isoformat),
    st.sampled_from(["0001-01-01", "9999-12-31", "06/12/2026", "", "2024-02-30"]),
)
edge_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", "0", "1", str(BIGINT_MAX), str(2**63), "1e3"]),
)
SCREENS = {
    "report_aging": {"as_of": edge_dates},
    "report_aging_csv": {"as_of": edge_dates},
    "report_aging_invoices": {
        "as_of": edge_dates,
        "acct_no": edge_numbers,
        "currency": st.just("USD"),
        "column": st.sampled_from(["current", "over_90", "on_hold"]),
    },
    "report_writeoffs": {"start": edge_dates, "end": edge_dates},
    "report_writeoffs_csv": {"start": edge_dates, "end": edge_dates},
    "trial_balance": {"start": edge_dates, "end": edge_dates},
    "journal_export": {
        "start": edge_dates,
        "end": edge_dates,
        "first_entry": edge_numbers,
        "last_entry": edge_numbers,
    },
}


@settings(
    max_examples={"ci": 100}.get(os.environ.get("HYPOTHESIS_PROFILE", ""), 30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    screen=st.sampled_from(sorted(SCREENS)).flatmap(
        lambda name: st.tuples(st.just(name), st.fixed_dictionaries({}, optional=SCREENS[name]))
    )
)
def test_report_and_books_screens_answer_every_date_and_number(client, supervisor, invoice, screen):
    name, params = screen
    client.force_login(supervisor)

    response = client.get(reverse(name), params)
    body_of(response)  # a streamed export fails, if it does, while it is read

    assert response.status_code in (200, 400), (name, params, response.status_code)


# --- the API ---------------------------------------------------------------------------


@pytest.fixture
def supervisor_key(db):
    return api_key_create("bounds-supervisor", "supervisor")[1]


@pytest.mark.parametrize(
    ("call", "extra"),
    [
        ("get_acct_writeoff_or_disputes_m", {"acct_no": 5001, "end_date": "9999-12-31"}),
        ("get_acct_writeoff_or_disputes_m", {"acct_no": 5001, "start_date": "0001-01-01"}),
        ("get_journal_lines_m", {"start_date": "9999-12-30", "end_date": "9999-12-31"}),
        ("get_journal_lines_m", {"start_date": "0001-01-01", "end_date": "2026-01-01"}),
        (
            "create_writeoff_or_dispute_m",
            {
                "acct_no": 5001,
                "invoice_no": 10023,
                "reason_code": 1,
                "comments": "x",
                "writeoff_dispute_amount": "1.00",
                "writeoff_date": "0001-01-01",
            },
        ),
    ],
)
def test_api_dates_outside_the_range_are_1011_naming_the_field(
    client, supervisor_key, invoice, no_errors_logged, call, extra
):
    body = {"client_no": 1000, "auth_key": supervisor_key, **extra}

    response = client.post(f"/api/{call}", json.dumps(body), content_type="application/json")

    answer = response.json()
    assert (response.status_code, answer["error_code"]) == (400, 1011), answer
    assert answer["error_msg"] == "A date must be from 1900-01-01 to 2999-12-31."
    assert answer["field"] in extra and extra[answer["field"]] in (
        "9999-12-31",
        "9999-12-30",
        "0001-01-01",
    )


def test_api_dates_at_the_bounds_are_accepted(client, supervisor_key, invoice):
    body = {
        "client_no": 1000,
        "auth_key": supervisor_key,
        "acct_no": 5001,
        "start_date": "1900-01-01",
        "end_date": "2999-12-31",
    }

    response = client.post(
        "/api/get_acct_writeoff_or_disputes_m", json.dumps(body), content_type="application/json"
    )

    assert response.status_code == 200, response.json()


def test_the_api_document_states_the_date_range():
    from writeoffs.api.openapi import openapi_document

    document = json.dumps(openapi_document())
    assert "From 1900-01-01 to 2999-12-31, else 1011." in document


# --- which format a typed date takes -----------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("2026-06-12", datetime.date(2026, 6, 12)),
        ("Jun 12, 2026", datetime.date(2026, 6, 12)),
        ("Dec 1, 2026", datetime.date(2026, 12, 1)),
    ],
)
def test_a_date_is_read_as_iso_or_as_the_locale_writes_it(typed, day):
    assert DateField().clean(typed) == day


@pytest.mark.parametrize(
    "typed", ["06/12/2026", "12/06/2026", "6/12/26", "12.06.2026", "12 Jun 2026"]
)
def test_a_date_in_another_format_is_refused_with_the_expected_format(typed):
    form = DateRangeForm({"end": typed})

    assert not form.is_valid()
    assert form.errors["end"] == [DATE_INVALID_MESSAGE]
    assert DATE_INVALID_MESSAGE == "Enter the date as Dec 1, 2026 or 2026-12-01."


def test_a_us_style_date_in_the_payment_form_is_not_read_as_month_day(invoice):
    form = PaymentForm(
        {"paid_on": "06/12/2026", "amount": "1.00", "method": "check", "idempotency_key": "k"},
        invoice=invoice,
    )

    assert not form.is_valid()
    assert form.errors["paid_on"] == [DATE_INVALID_MESSAGE]


def test_every_date_field_shows_the_format_it_expects(client, clerk, invoice):
    """Both formats a date may take, in the help text of the form fields and beside the
    report toolbars' own boxes; every box is text, never the browser's date picker,
    which shows dates its own way (12/01/2026) unlike the rest of the screen (issue 25)."""
    field_html = str(PaymentForm(invoice=invoice)["paid_on"])
    assert 'type="text"' in field_html and 'placeholder="Dec 1, 2026"' in field_html
    help_text = "Type the date as Dec 1, 2026 or 2026-12-01."
    assert PaymentForm(invoice=invoice).fields["paid_on"].help_text == help_text

    client.force_login(clerk)
    url = reverse("payment_new", kwargs={"acct_no": 5001, "invoice_no": 10023})
    drawer = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert help_text in drawer
    for page in (reverse("report_aging"), reverse("report_writeoffs")):
        html = client.get(page).content.decode()
        assert 'type="date"' not in html, page
        assert (
            f'<p id="date-help" class="form-text small text-end mt-1 mb-2">{help_text}</p>' in html
        )
        assert (
            html.count('aria-describedby="date-help')
            == html.count('placeholder="Dec 1, 2026"')
            >= 1
        ), page


def test_a_date_box_shows_its_date_as_the_screens_do(invoice):
    form = PaymentForm(initial={"paid_on": datetime.date(2026, 1, 5)}, invoice=invoice)
    assert 'value="Jan 5, 2026"' in str(form["paid_on"])
    typed = PaymentForm({"paid_on": "06/12/2026"}, invoice=invoice)
    assert 'value="06/12/2026"' in str(typed["paid_on"])


def test_every_date_field_of_the_forms_is_the_bounded_one():
    from django import forms

    from billing.web import forms as billing_forms
    from writeoffs.web import forms as writeoff_forms
    from writeoffs.web import reports

    found = []
    for module in (billing_forms, writeoff_forms, reports):
        for form in vars(module).values():
            if isinstance(form, type) and issubclass(form, forms.BaseForm):
                for name, field in form.base_fields.items():
                    if isinstance(field, forms.DateField):
                        found.append((form.__name__, name, type(field) is DateField))
    assert len(found) >= 10
    assert [f for f in found if not f[2]] == []
