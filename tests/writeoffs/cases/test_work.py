"""Working a case: the status flow, the assignee, the due date."""

import datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from billing.actors import Actor
from billing.errors import (
    CASE_CLOSED,
    CASE_STATUS_CHANGE_REFUSED,
    INVALID_ASSIGNEE,
    INVALID_DUE_DATE,
    PERMISSION_DENIED,
    BillingError,
)
from billing.rules import today
from writeoffs.cases.resolution import case_reject
from writeoffs.cases.work import (
    case_assign,
    case_bulk_assign,
    case_change_status,
    case_set_due_date,
    next_statuses,
)
from writeoffs.models import CaseStatus

pytestmark = pytest.mark.django_db


def test_a_case_moves_forward_and_each_change_is_logged_with_who(open_case, clerk_actor, clerk):
    case = open_case()
    case_change_status(case_id=case.pk, status="in_review", actor=clerk_actor)
    case_change_status(case_id=case.pk, status="waiting_on_customer", actor=clerk_actor)
    case_change_status(case_id=case.pk, status="in_review", actor=clerk_actor)
    steps = list(case.status_changes.values_list("from_status", "to_status", "changed_by"))
    assert steps == [
        ("", "open", clerk.pk),
        ("open", "in_review", clerk.pk),
        ("in_review", "waiting_on_customer", clerk.pk),
        ("waiting_on_customer", "in_review", clerk.pk),
    ]


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], "waiting_on_customer"),
        ([], "open"),
        (["in_review"], "open"),
        ([], "resolved"),
        (["in_review"], "rejected"),
        ([], "nonsense"),
    ],
)
def test_a_step_outside_the_flow_is_refused(open_case, clerk_actor, path, refused):
    case = open_case()
    for status in path:
        case_change_status(case_id=case.pk, status=status, actor=clerk_actor)
    with pytest.raises(BillingError) as error:
        case_change_status(case_id=case.pk, status=refused, actor=clerk_actor)
    assert (error.value.code, error.value.field) == (CASE_STATUS_CHANGE_REFUSED, "status")
    case.refresh_from_db()
    assert case.status == (path[-1] if path else "open")


def test_resolving_by_a_status_change_says_how_to_resolve(open_case, clerk_actor):
    case = open_case()
    with pytest.raises(BillingError) as error:
        case_change_status(case_id=case.pk, status="resolved", actor=clerk_actor)
    assert "last hold is settled" in error.value.message


def test_the_choices_offered_are_the_allowed_steps(open_case):
    case = open_case()
    assert next_statuses(case) == [CaseStatus.IN_REVIEW]


def test_a_closed_case_changes_no_more(open_case, clerk_actor, supervisor_actor, assignee):
    case = open_case()
    case_reject(case_id=case.pk, reason="No.", actor=supervisor_actor)
    for change in (
        lambda: case_change_status(case_id=case.pk, status="in_review", actor=clerk_actor),
        lambda: case_assign(case_id=case.pk, assignee_id=assignee.pk, actor=clerk_actor),
        lambda: case_set_due_date(case_id=case.pk, due_date=today(), actor=supervisor_actor),
    ):
        with pytest.raises(BillingError) as error:
            change()
        assert error.value.code == CASE_CLOSED


def test_a_viewer_may_not_change_a_case(open_case, viewer):
    case = open_case()
    with pytest.raises(BillingError) as error:
        case_change_status(case_id=case.pk, status="in_review", actor=Actor.for_user(viewer))
    assert error.value.code == PERMISSION_DENIED


def test_assigning_mails_the_assignee_on_commit_and_is_in_history(
    open_case, clerk_actor, assignee, django_capture_on_commit_callbacks
):
    case = open_case()
    with django_capture_on_commit_callbacks(execute=True):
        case_assign(case_id=case.pk, assignee_id=assignee.pk, actor=clerk_actor)
    case.refresh_from_db()
    assert case.assignee == assignee
    assert [m.to for m in mail.outbox] == [["anna@example.com"]]
    assert case.history.first().history_actor == "clerk"


def test_assigning_the_same_person_again_mails_nobody(
    open_case, clerk_actor, assignee, django_capture_on_commit_callbacks
):
    case = open_case(assignee_id=assignee.pk)
    with django_capture_on_commit_callbacks(execute=True):
        case_assign(case_id=case.pk, assignee_id=assignee.pk, actor=clerk_actor)
    assert mail.outbox == []


def test_unassigning_is_allowed(open_case, clerk_actor, assignee):
    case = open_case(assignee_id=assignee.pk)
    case_assign(case_id=case.pk, assignee_id=None, actor=clerk_actor)
    case.refresh_from_db()
    assert case.assignee is None


def test_an_unknown_or_inactive_assignee_is_refused(open_case, clerk_actor, assignee):
    case = open_case()
    assignee.is_active = False
    assignee.save()
    for raw in (assignee.pk, 999999, "x"):
        with pytest.raises(BillingError) as error:
            case_assign(case_id=case.pk, assignee_id=raw, actor=clerk_actor)
        assert error.value.code == INVALID_ASSIGNEE


def test_bulk_assign_assigns_all_or_none(
    open_case, clerk_actor, supervisor_actor, assignee, account, invoice
):
    from writeoffs.cases.open import CaseHold, case_open

    first = open_case()
    second = case_open(
        account_id=account.pk,
        category="other",
        holds=[CaseHold(invoice.invoice_no, "1.00")],
        actor=clerk_actor,
    )
    case_bulk_assign(case_ids=[first.pk, second.pk], assignee_id=assignee.pk, actor=clerk_actor)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.assignee == second.assignee == assignee

    case_reject(case_id=second.pk, reason="No.", actor=supervisor_actor)
    with pytest.raises(BillingError):
        case_bulk_assign(case_ids=[first.pk, second.pk], assignee_id=None, actor=clerk_actor)
    first.refresh_from_db()
    assert first.assignee == assignee


def test_a_supervisor_moves_the_due_date(open_case, supervisor_actor):
    case = open_case()
    later = today() + datetime.timedelta(days=60)
    case_set_due_date(case_id=case.pk, due_date=later.isoformat(), actor=supervisor_actor)
    case.refresh_from_db()
    assert case.due_date == later


def test_a_case_opened_in_the_local_evening_may_be_due_that_local_day(open_case, supervisor_actor):
    """23:30 in New York is the next day in UTC: the day the case opened is the
    local one, as every date the screens show."""
    evening = datetime.datetime(2026, 3, 10, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    with mock.patch("django.utils.timezone.now", return_value=evening):
        case = open_case()
        case_set_due_date(case_id=case.pk, due_date="2026-03-10", actor=supervisor_actor)
    case.refresh_from_db()
    assert case.due_date == datetime.date(2026, 3, 10)


def test_a_clerk_may_not_move_the_due_date(open_case, clerk_actor):
    case = open_case()
    with pytest.raises(BillingError) as error:
        case_set_due_date(case_id=case.pk, due_date=today(), actor=clerk_actor)
    assert error.value.code == PERMISSION_DENIED


@pytest.mark.parametrize(
    "due_date",
    [
        "",
        "2026-02-30",
        "tomorrow",
        today() - datetime.timedelta(days=1),
        today() + datetime.timedelta(days=400),
    ],
)
def test_a_due_date_out_of_range_is_refused(open_case, supervisor_actor, due_date):
    case = open_case()
    with pytest.raises(BillingError) as error:
        case_set_due_date(case_id=case.pk, due_date=due_date, actor=supervisor_actor)
    assert (error.value.code, error.value.field) == (INVALID_DUE_DATE, "due_date")


def test_an_open_case_past_its_due_date_is_overdue(open_case):
    case = open_case()
    assert not case.overdue
    assert case.is_overdue(case.due_date + datetime.timedelta(days=1))
