"""Opening a dispute case: one account's holds on one or several invoices, each made
by the Part 1 hold service (so every hold rule and error code applies), all in one
transaction: if one hold is refused, nothing is written.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from billing.actors import Actor
from billing.errors import (
    INVALID_CASE_CATEGORY,
    INVALID_CASE_CONTACT,
    INVALID_CASE_HOLDS,
    INVALID_COMMENTS,
    BillingError,
)
from billing.history import acting_as
from billing.models import Account, Invoice
from billing.parsing import whole_number
from billing.rules import COMMENTS_MAX_LENGTH, clean_optional_text, require_perm, today
from writeoffs.cases.notify import notify_assignee_on_commit
from writeoffs.cases.pause import collections_paused
from writeoffs.cases.rules import lock_invoices, log_status, resolve_assignee
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.models import Case, CaseCategory, CaseNote, CaseNumber, DisputeHold, Source

CONTACT_NAME_MAX_LENGTH = 150
# A case gathers a handful of holds; a longer list is a mistake (or a bulk load).
CASE_HOLDS_MAX = 100


@dataclass(frozen=True)
class CaseHold:
    """One hold a new case asks for: all (``amount`` empty) or part of an invoice's
    available balance."""

    invoice_no: object
    amount: object = None


def case_category(code: object) -> CaseCategory:
    category = (
        CaseCategory.objects.filter(code=code, active=True).first()
        if isinstance(code, str)
        else None
    )
    if category is None:
        codes = ", ".join(CaseCategory.objects.filter(active=True).values_list("code", flat=True))
        raise BillingError(INVALID_CASE_CATEGORY, f"Choose a category: {codes}.", field="category")
    return category


def clean_contact(name: str | None, email: str | None) -> tuple[str, str]:
    contact_name = clean_optional_text(
        name, field="contact_name", max_length=CONTACT_NAME_MAX_LENGTH, code=INVALID_CASE_CONTACT
    ).strip()
    contact_email = (email or "").strip()
    if contact_email:
        try:
            validate_email(contact_email)
        except ValidationError:
            raise BillingError(
                INVALID_CASE_CONTACT, "Enter a valid email address.", field="contact_email"
            ) from None
    return contact_name, contact_email


def _invoice_ids(account: Account, holds: Sequence[CaseHold]) -> list[int]:
    if not holds:
        raise BillingError(INVALID_CASE_HOLDS, "A case needs at least one hold.", field="holds")
    if len(holds) > CASE_HOLDS_MAX:
        raise BillingError(
            INVALID_CASE_HOLDS, f"A case takes at most {CASE_HOLDS_MAX} holds.", field="holds"
        )
    numbers = [whole_number(hold.invoice_no) for hold in holds]
    found = dict(
        Invoice.objects.filter(
            account=account, invoice_no__in=[n for n in numbers if n]
        ).values_list("invoice_no", "id")
    )
    ids = []
    for index, number in enumerate(numbers):
        if number not in found:
            raise BillingError(
                INVALID_CASE_HOLDS,
                f"Account {account.acct_no} has no invoice {holds[index].invoice_no}.",
                field=f"holds.{index}.invoice_no",
            )
        ids.append(found[number])
    return ids


def _next_number() -> int:
    # Locked until commit: numbers are gap-free and follow the order cases commit in.
    counter, _ = CaseNumber.objects.select_for_update().get_or_create(id=1)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def _replayed_case(actor: Actor, idempotency_key: str | None) -> Case | None:
    """A retry of a case already opened with this key: its first hold carries it."""
    if not idempotency_key:
        return None
    hold = (
        DisputeHold.objects.filter(
            idempotency_scope=actor.idempotency_scope,
            idempotency_key=f"{idempotency_key}:0",
            case__isnull=False,
        )
        .select_related("case")
        .first()
    )
    return hold.case if hold is not None else None


def case_open(
    *,
    account_id: int,
    category: object,
    holds: Sequence[CaseHold],
    actor: Actor,
    contact_name: str | None = "",
    contact_email: str | None = "",
    comments: str | None = "",
    expire_hold_days: object = None,
    assignee_id: object = None,
    source: str = Source.UI,
    idempotency_key: str | None = None,
) -> Case:
    """Open a case on ``holds``; ``comments`` becomes its first note and each hold's
    comments. The due date is today plus the category's target days.

    With ``idempotency_key`` a retry returns the case the first request opened (each
    hold is made with the key and its place in the list, so a concurrent retry finds
    the first request's holds once it commits).
    """
    require_perm(actor, "writeoffs.add_case")
    require_perm(actor, "writeoffs.add_disputehold")
    chosen = case_category(category)
    name, email = clean_contact(contact_name, contact_email)
    note = clean_optional_text(
        comments, field="comments", max_length=COMMENTS_MAX_LENGTH, code=INVALID_COMMENTS
    ).strip()
    assignee = resolve_assignee(assignee_id)
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        raise BillingError(INVALID_CASE_HOLDS, "The account does not exist.", field="account")
    invoice_ids = _invoice_ids(account, holds)
    with transaction.atomic(), acting_as(actor):
        invoices = lock_invoices(invoice_ids)
        replay = _replayed_case(actor, idempotency_key)
        if replay is not None:
            return replay
        number = _next_number()
        case = Case.objects.create(
            number=number,
            account=account,
            category=chosen,
            assignee=assignee,
            due_date=today() + datetime.timedelta(days=chosen.target_days),
            contact_name=name,
            contact_email=email,
            created_by=actor.user,
            created_by_label=actor.label,
        )
        log_status(case, "", actor)
        if note:
            CaseNote.objects.create(
                case=case, author=actor.user, author_label=actor.label, text=note
            )
        hold_comments = note or f"Case {number}: {chosen.name}."
        for index, (hold, invoice_id) in enumerate(zip(holds, invoice_ids, strict=True)):
            try:
                dispute_hold_create(
                    invoice_id=invoice_id,
                    amount=hold.amount,
                    comments=hold_comments,
                    actor=actor,
                    expire_hold_days=expire_hold_days,
                    source=source,
                    idempotency_key=f"{idempotency_key}:{index}" if idempotency_key else None,
                    case=case,
                )
            except BillingError as error:
                # Name the hold the refusal is about; the whole case rolls back.
                if error.field in ("amount", "invoice"):
                    field = f"holds.{index}.{'amount' if error.field == 'amount' else 'invoice_no'}"
                    raise BillingError(error.code, error.message, field=field) from None
                raise
        collections_paused(case, invoices.values(), actor)
        if assignee is not None:
            notify_assignee_on_commit(case)
    return case


def case_for_lone_hold(hold: DisputeHold, actor: Actor) -> None:
    """The ``hold_opened`` listener: a hold made outside a case (the Part 1 hold form
    and API) gets a one-hold case of its own, category "other", so that every open
    hold is worked as a case. Runs in the hold's transaction, under its invoice lock."""
    other = CaseCategory.objects.filter(code="other").first() or CaseCategory.objects.first()
    if other is None:
        return
    case = Case.objects.create(
        number=_next_number(),
        account_id=hold.account_id,
        category=other,
        due_date=today() + datetime.timedelta(days=other.target_days),
        created_by=actor.user,
        created_by_label=actor.label,
    )
    log_status(case, "", actor)
    DisputeHold.objects.filter(pk=hold.pk).update(case=case)
    hold.case = case
    collections_paused(case, [hold.invoice], actor)
