"""The allowance screen: the controller picks a month, sees the figures, confirms in a
pop-out (a page without JavaScript) and posts; everyone else is kept out."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from billing.models import AccountingPeriodLock, JournalEntry, JournalEvent
from billing.rules import today
from tests.writeoffs.reports_fixture import build_report_ledger
from writeoffs.allowance.provision import provision_plan
from writeoffs.models import ProvisionRun

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
URL = reverse("report_allowance")
CONFIRM_URL = reverse("report_allowance_confirm")


@pytest.fixture
def ledger(clerk, supervisor, settings):
    return build_report_ledger(clerk, supervisor, settings)


@pytest.fixture
def month_end() -> datetime.date:
    return today().replace(day=1) - datetime.timedelta(days=1)


@pytest.fixture
def month(month_end) -> str:
    return month_end.strftime("%Y-%m")


def confirmed(month_end: datetime.date) -> dict[str, str]:
    """The confirm pop-out's form: the month and the differences it showed."""
    shown = {
        f"expected_{c.currency}": str(c.difference_minor)
        for c in provision_plan(month_end).currencies
    }
    return {"month": month_end.strftime("%Y-%m"), **shown}


def test_the_controller_sees_each_column_times_its_rate_and_the_difference(
    ledger, client, controller, month, month_end
):
    client.force_login(controller)
    response = client.get(URL, {"month": month})
    assert response.status_code == 200
    page = response.content.decode()
    plan = provision_plan(month_end)
    for provision in plan.currencies:
        assert f'data-testid="difference-{provision.currency}"' in page
    assert "Post the provision" in page
    assert "31\u201360" in page and "On hold" in page


def test_an_htmx_month_change_answers_the_figures_only(ledger, client, controller, month):
    client.force_login(controller)
    response = client.get(URL, {"month": month}, **HTMX)
    page = response.content.decode()
    assert 'id="allowance-figures"' in page and "<html" not in page
    assert "HX-Request" in response["Vary"]


def test_the_post_button_opens_the_confirm_pop_out(ledger, client, controller, month):
    client.force_login(controller)
    page = client.get(URL, {"month": month}).content.decode()
    confirm_url = f"{CONFIRM_URL}?month={month}"
    assert f'hx-get="{confirm_url}" hx-target="#popout-content"' in page
    assert f'href="{confirm_url}"' in page  # without JavaScript, a page
    assert "Confirm: post the provision" not in page


def test_the_confirm_pop_out_shows_the_figures_it_posts_and_posts_nothing_yet(
    ledger, client, controller, month, month_end
):
    client.force_login(controller)
    response = client.get(CONFIRM_URL, {"month": month}, **HTMX)
    page = response.content.decode()
    assert response.status_code == 200 and "<html" not in page
    assert 'id="popout-title"' in page and 'data-bs-dismiss="modal"' in page
    assert f'hx-post="{CONFIRM_URL}" hx-target="#popout-content"' in page
    for provision in provision_plan(month_end).currencies:
        assert f'data-testid="confirm-difference-{provision.currency}"' in page
        assert f'name="expected_{provision.currency}" value="{provision.difference_minor}"' in page
    assert "Confirm: post the provision" in page
    assert "HX-Request" in response["Vary"]
    assert not ProvisionRun.objects.exists()


def test_without_javascript_the_confirm_step_is_a_whole_page(ledger, client, controller, month):
    client.force_login(controller)
    page = client.get(CONFIRM_URL, {"month": month}).content.decode()
    assert "<html" in page and "step-page" in page
    assert "Confirm: post the provision" in page
    assert f'href="{URL}?month={month}">Cancel' in page
    assert 'data-bs-dismiss="modal"' not in page
    assert not ProvisionRun.objects.exists()


def test_the_confirmed_run_posts_and_goes_back_to_the_month(
    ledger, client, controller, month, month_end
):
    client.force_login(controller)
    response = client.post(CONFIRM_URL, confirmed(month_end), **HTMX)
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"{URL}?month={month}"
    assert JournalEntry.objects.filter(event=JournalEvent.PROVISION).count() == 2

    page = client.get(URL, {"month": month}).content.decode()
    assert "posted journal entry" in page


def test_without_javascript_the_confirmed_run_redirects(ledger, client, controller, month_end):
    client.force_login(controller)
    response = client.post(CONFIRM_URL, confirmed(month_end))
    assert response.status_code == 302
    assert ProvisionRun.objects.filter(status=ProvisionRun.Status.POSTED).count() == 2


def test_a_closed_month_is_refused_beside_the_month(ledger, client, controller, month, month_end):
    AccountingPeriodLock.objects.create(locked_through=month_end, reason="closed")
    client.force_login(controller)
    page = client.get(URL, {"month": month}).content.decode()
    assert "nothing can be posted at this month end" in page
    assert CONFIRM_URL not in page

    confirm = client.get(CONFIRM_URL, {"month": month}, **HTMX).content.decode()
    assert "nothing can be posted" in confirm and "Confirm: post" not in confirm

    response = client.post(CONFIRM_URL, confirmed(month_end), **HTMX)
    assert response.status_code == 200
    assert "The books are closed through" in response.content.decode()
    assert not ProvisionRun.objects.exists()


def test_figures_that_changed_since_the_confirm_step_are_refused_and_nothing_posts(
    ledger, client, controller, month_end
):
    form = confirmed(month_end)
    form["expected_USD"] = str(int(form["expected_USD"]) + 1)
    client.force_login(controller)
    response = client.post(CONFIRM_URL, form, **HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "review them again" in page
    assert not ProvisionRun.objects.exists()
    # The pop-out now shows the figures as they are, to confirm again.
    assert f'name="expected_USD" value="{int(form["expected_USD"]) - 1}"' in page


def test_a_month_not_over_is_refused(client, controller):
    client.force_login(controller)
    next_year = (today() + datetime.timedelta(days=400)).strftime("%Y-%m")
    response = client.post(CONFIRM_URL, {"month": next_year})
    assert response.status_code == 200
    assert "has not ended yet" in response.content.decode()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("role", ["viewer", "clerk", "supervisor"])
def test_other_roles_get_403(client, request, role, month):
    client.force_login(request.getfixturevalue(role))
    assert client.get(URL).status_code == 403
    assert client.get(CONFIRM_URL, {"month": month}).status_code == 403
    assert client.post(CONFIRM_URL, {"month": month}).status_code == 403
    assert not ProvisionRun.objects.exists()


def test_other_methods_get_405(client, controller):
    client.force_login(controller)
    assert client.post(URL).status_code == 405
    assert client.put(URL).status_code == 405
    assert client.put(CONFIRM_URL).status_code == 405
