"""Admin for dispute cases: the lists are edited, cases and notes are only read, and
the actions call the case services."""

import pytest
from django.urls import reverse

from billing.factories import UserFactory
from writeoffs.models import CaseCategory, CaseStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def test_a_category_is_added_and_edited_with_history(client, root):
    client.force_login(root)
    response = client.post(
        reverse("admin:writeoffs_casecategory_add"),
        {"code": "contract", "name": "Contract terms", "target_days": "45", "active": "on"},
    )
    assert response.status_code == 302
    category = CaseCategory.objects.get(code="contract")
    client.post(
        reverse("admin:writeoffs_casecategory_change", args=[category.pk]),
        {"name": "Contract terms", "target_days": "60", "active": "on"},
    )
    category.refresh_from_db()
    assert category.target_days == 60
    assert category.history.count() == 2


def test_a_category_is_never_deleted(client, root):
    client.force_login(root)
    category = CaseCategory.objects.get(code="other")
    response = client.get(reverse("admin:writeoffs_casecategory_delete", args=[category.pk]))
    assert response.status_code == 403


def test_a_case_is_read_only_and_its_notes_too(client, root, open_case):
    case = open_case(comments="First note")
    client.force_login(root)
    page = client.get(reverse("admin:writeoffs_case_change", args=[case.pk]))
    assert page.status_code == 200
    assert b"First note" in page.content
    client.post(reverse("admin:writeoffs_case_change", args=[case.pk]), {"status": "resolved"})
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    note = case.notes.get()
    response = client.post(
        reverse("admin:writeoffs_casenote_change", args=[note.pk]), {"text": "Changed"}
    )
    assert response.status_code == 403
    assert client.get(reverse("admin:writeoffs_casenote_delete", args=[note.pk])).status_code == 403


def test_the_move_action_goes_through_the_status_flow(client, root, open_case):
    case = open_case()
    client.force_login(root)
    url = reverse("admin:writeoffs_case_changelist")
    client.post(
        url,
        {"action": "move_to_waiting_on_customer", "_selected_action": [case.pk], "apply": "1"},
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN  # refused: open cannot skip in_review
    client.post(url, {"action": "move_to_in_review", "_selected_action": [case.pk], "apply": "1"})
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    assert case.status_changes.last().changed_by == root


def test_the_reject_action_releases_the_holds(client, root, open_case):
    case = open_case()
    client.force_login(root)
    client.post(
        reverse("admin:writeoffs_case_changelist"),
        {
            "action": "reject_selected",
            "_selected_action": [case.pk],
            "apply": "1",
            "text": "Agreed price",
        },
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.REJECTED
    assert set(case.holds.values_list("status", flat=True)) == {"released"}
