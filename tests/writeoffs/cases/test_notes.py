"""A case's notes: append-only."""

import pytest

from billing.actors import Actor
from billing.errors import ILLEGAL_CHARACTERS, INVALID_COMMENTS, PERMISSION_DENIED, BillingError
from writeoffs.cases.notes import case_add_note
from writeoffs.cases.resolution import case_reject

pytestmark = pytest.mark.django_db


def test_notes_are_kept_in_order_with_author_and_time(open_case, clerk_actor, supervisor_actor):
    case = open_case()
    case_add_note(case_id=case.pk, text="Called the customer.", actor=clerk_actor)
    case_add_note(case_id=case.pk, text="They will send the PO.", actor=supervisor_actor)
    notes = list(case.notes.all())
    assert [(n.text, n.author_label) for n in notes] == [
        ("Called the customer.", "clerk"),
        ("They will send the PO.", "supervisor"),
    ]
    assert all(n.created_at for n in notes)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", INVALID_COMMENTS),
        (" \n", INVALID_COMMENTS),
        ("x" * 3001, INVALID_COMMENTS),
        ("a\x00b", ILLEGAL_CHARACTERS),
    ],
)
def test_a_bad_note_is_refused_next_to_its_field(open_case, clerk_actor, text, code):
    case = open_case()
    with pytest.raises(BillingError) as error:
        case_add_note(case_id=case.pk, text=text, actor=clerk_actor)
    assert (error.value.code, error.value.field) == (code, "text")
    assert not case.notes.exists()


def test_a_viewer_may_not_add_a_note(open_case, viewer):
    case = open_case()
    with pytest.raises(BillingError) as error:
        case_add_note(case_id=case.pk, text="Hi", actor=Actor.for_user(viewer))
    assert error.value.code == PERMISSION_DENIED


def test_a_closed_case_still_takes_notes(open_case, clerk_actor, supervisor_actor):
    case = open_case()
    case_reject(case_id=case.pk, reason="No.", actor=supervisor_actor)
    case_add_note(case_id=case.pk, text="Customer accepted.", actor=clerk_actor)
    assert case.notes.last().text == "Customer accepted."


def test_notes_have_no_change_or_delete_service():
    from writeoffs.cases import notes

    assert [name for name in dir(notes) if name.startswith("case_")] == ["case_add_note"]
