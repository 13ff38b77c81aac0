"""Collections pause (SPEC Part 3): an invoice with an open case is "in dispute", and
the billing system hears when it starts and stops being so, to stop and restart
dunning: ``collections.paused`` when an invoice's first open case opens,
``collections.resumed`` when its last open case closes.

Called under the locks of the invoices concerned, after the case's own change, so
that "another open case on this invoice" is read as it commits.
"""

from __future__ import annotations

from collections.abc import Iterable

from billing.actors import Actor
from billing.events import record_event
from billing.models import EventType, Invoice
from writeoffs.models import OPEN_CASE_STATUSES, Case, DisputeHold


def _other_open_case_invoices(case: Case, invoice_ids: set[int]) -> set[int]:
    return set(
        DisputeHold.objects.filter(invoice_id__in=invoice_ids, case__status__in=OPEN_CASE_STATUSES)
        .exclude(case=case)
        .values_list("invoice_id", flat=True)
    )


def _announce(type: EventType, case: Case, invoices: Iterable[Invoice], actor: Actor) -> None:
    invoices = sorted(invoices, key=lambda invoice: invoice.pk)
    already = _other_open_case_invoices(case, {invoice.pk for invoice in invoices})
    for invoice in invoices:
        if invoice.pk in already:
            continue
        record_event(
            type,
            actor=actor,
            obj_kind="case",
            obj_number=case.number,
            invoice=invoice,
            details={
                "case_no": case.number,
                "category": case.category.code,
                "case_status": case.status,
            },
        )


def collections_paused(case: Case, invoices: Iterable[Invoice], actor: Actor) -> None:
    """``case`` just opened on ``invoices``: pause those no other open case paused."""
    _announce(EventType.COLLECTIONS_PAUSED, case, invoices, actor)


def collections_resumed(case: Case, invoices: Iterable[Invoice], actor: Actor) -> None:
    """``case`` just closed: resume those no other open case keeps paused."""
    _announce(EventType.COLLECTIONS_RESUMED, case, invoices, actor)
