"""A case's notes: an append-only thread. There is a way to add a note and none to
change or delete one (the admin shows them read-only)."""

from __future__ import annotations

from django.db import transaction

from billing.actors import Actor
from billing.history import acting_as
from billing.rules import clean_comments, require_perm
from writeoffs.models import Case, CaseNote


def case_add_note(*, case_id: int, text: str, actor: Actor) -> CaseNote:
    """Add a note (1 to 3000 characters). A closed case still takes notes: what was
    learnt after it closed belongs with it."""
    require_perm(actor, "writeoffs.add_casenote")
    body = clean_comments(text, field="text", label="A note")
    with transaction.atomic(), acting_as(actor):
        case = Case.objects.select_for_update(of=("self",)).get(pk=case_id)
        return CaseNote.objects.create(
            case=case, author=actor.user, author_label=actor.label, text=body
        )


def system_note(case: Case, text: str, actor: Actor) -> CaseNote:
    """A note the system writes (the auto-resolve's "paid"), in the caller's transaction."""
    return CaseNote.objects.create(
        case=case, author=actor.user, author_label=actor.label, text=text
    )
