"""The case emails: the assignee on assignment, and the daily digest of overdue cases."""

import datetime
import io

import pytest
from django.core import mail
from django.core.management import call_command

from billing.factories import UserFactory
from billing.roles import CLERK
from billing.rules import today
from writeoffs.cases.notify import overdue_digest
from writeoffs.cases.open import CaseHold
from writeoffs.cases.resolution import case_reject
from writeoffs.models import Case

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def small_case(open_case, invoice):
    """A case on 1.00 of the invoice (several fit)."""
    return lambda **kwargs: open_case(holds=[CaseHold(invoice.invoice_no, "1.00")], **kwargs)


def overdue(case, days=1):
    Case.objects.filter(pk=case.pk).update(due_date=today() - days * DAY)
    return case


def test_each_assignee_gets_one_email_listing_their_overdue_cases(small_case, assignee):
    bob = UserFactory(username="bob", email="bob@example.com", groups=[CLERK])
    first = overdue(small_case(assignee_id=assignee.pk))
    third = overdue(small_case(assignee_id=bob.pk, category="other"), days=3)

    assert overdue_digest() == 2

    by_person = {tuple(m.to): m for m in mail.outbox}
    assert set(by_person) == {("anna@example.com",), ("bob@example.com",)}
    assert f"Case {first.number}" in by_person[("anna@example.com",)].body
    assert f"Case {third.number}" in by_person[("bob@example.com",)].body
    assert f"Case {third.number}" not in by_person[("anna@example.com",)].body


def test_a_case_due_today_closed_or_unassigned_is_left_out(small_case, assignee, supervisor_actor):
    small_case(assignee_id=assignee.pk)  # due in 14 days
    overdue(small_case(category="other"))  # nobody's
    closed = overdue(small_case(assignee_id=assignee.pk, category="quality"))
    case_reject(case_id=closed.pk, reason="No.", actor=supervisor_actor)
    assert overdue_digest() == 0
    assert mail.outbox == []


def test_the_digest_goes_once_a_day(small_case, assignee):
    overdue(small_case(assignee_id=assignee.pk))
    assert overdue_digest() == 1
    assert overdue_digest() is None
    assert len(mail.outbox) == 1


def test_the_daily_run_sends_the_digest_as_its_last_step(small_case, assignee):
    overdue(small_case(assignee_id=assignee.pk))
    out = io.StringIO()
    call_command("run_daily", stdout=out)
    assert "overdue cases digest] 1 overdue cases digest(s) sent." in out.getvalue()
    out = io.StringIO()
    call_command("run_daily", stdout=out)
    assert "was sent already" in out.getvalue()
    assert len(mail.outbox) == 1
