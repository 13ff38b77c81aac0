"""Tax in the journal: an invoice's lines as net and tax parts, and the split of an
amount taken off the invoice (a write-off, a recovery of one) between them.

The split is pro rata over every line's net and tax, in minor units: each part gets
the floor of its share and the rounding remainder goes to the largest part (the
first of equals, nets before taxes), so the parts add up to the amount exactly. A
line's tax is less than its net (a CHECK on the line), so the largest part is a net
and every tax share is a floor: the tax parts of an invoice's write-offs never add
up to more than the tax it charged.

Where a tax part posts: a revenue-impacting amount (or a bad debt whose relief is
due) on its rate's payable code; a bad debt's before its relief is due on the "tax
relief pending" code, which the daily run moves to the payable code on the day.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Sequence
from typing import NamedTuple

from billing.ledger.codes import control_codes
from billing.models import InvoiceLine


class LinePart(NamedTuple):
    """An invoice line as the split reads it."""

    net_minor: int
    tax_minor: int
    # The rate's payable code and relief delay; None and 0 on an untaxed line.
    payable_code_id: int | None
    relief_after_months: int


class TaxPart(NamedTuple):
    """A tax part of an amount: what it posts to the tax code (payable or pending)."""

    accounting_code_id: int
    amount_minor: int


class Split(NamedTuple):
    net_minor: int
    tax: tuple[TaxPart, ...]

    @property
    def tax_minor(self) -> int:
        return sum(part.amount_minor for part in self.tax)


def invoice_parts(invoice_id: int) -> list[LinePart]:
    """``invoice_id``'s lines, in line order."""
    rows = (
        InvoiceLine.objects.filter(invoice_id=invoice_id)
        .order_by("id")
        .values_list(
            "amount_minor",
            "tax_minor",
            "tax_rate__payable_code_id",
            "tax_rate__relief_after_months",
        )
    )
    return [LinePart(net, tax, code, months or 0) for net, tax, code, months in rows]


def is_taxed(parts: Sequence[LinePart]) -> bool:
    return any(part.tax_minor for part in parts)


def shares(amount_minor: int, weights: Sequence[int]) -> list[int]:
    """``amount_minor`` pro rata over ``weights``: floors, and the remainder on the
    largest weight (the first of equals). They add up to ``amount_minor`` exactly."""
    total = sum(weights)
    if total <= 0:
        raise ValueError("nothing to split over")
    floors = [amount_minor * weight // total for weight in weights]
    largest = max(range(len(weights)), key=lambda i: (weights[i], -i))
    floors[largest] += amount_minor - sum(floors)
    return floors


def split_per_line(amount_minor: int, parts: Sequence[LinePart]) -> list[tuple[int, int]]:
    """``amount_minor`` as (net, tax) per line, in line order: the same shares as
    ``split`` (a credit note prints them)."""
    weights = [w for part in parts for w in (part.net_minor, part.tax_minor)]
    amounts = shares(amount_minor, weights)
    return [(amounts[2 * i], amounts[2 * i + 1]) for i in range(len(parts))]


def split(amount_minor: int, parts: Sequence[LinePart], *, relief_pending: bool) -> Split:
    """``amount_minor`` split between ``parts``' nets and taxes; tax parts on their
    rate's payable code, or on the pending code when ``relief_pending``. An untaxed
    invoice's amount is all net."""
    if not is_taxed(parts):
        return Split(amount_minor, ())
    pending = control_codes().tax_relief_pending_id
    net = 0
    by_code: dict[int, int] = {}
    for part, (line_net, tax) in zip(parts, split_per_line(amount_minor, parts), strict=True):
        net += line_net
        if tax and part.payable_code_id is not None:
            code = pending if relief_pending else part.payable_code_id
            by_code[code] = by_code.get(code, 0) + tax
    return Split(net, tuple(TaxPart(code, tax) for code, tax in sorted(by_code.items())))


def charged(parts: Sequence[LinePart]) -> Split:
    """What the invoice charged: its nets, and its taxes per payable code."""
    by_code: dict[int, int] = {}
    for part in parts:
        if part.tax_minor and part.payable_code_id is not None:
            by_code[part.payable_code_id] = by_code.get(part.payable_code_id, 0) + part.tax_minor
    return Split(
        sum(part.net_minor for part in parts),
        tuple(TaxPart(code, tax) for code, tax in sorted(by_code.items())),
    )


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` ``months`` later; the 31st of a shorter month is its last day."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def relief_due_on(due_date: datetime.date, parts: Sequence[LinePart]) -> datetime.date | None:
    """The day a bad debt's tax on this invoice may be reclaimed: its due date plus
    the longest relief delay of its taxed lines' rates (one day for the whole
    write-off, so that its tax moves in one step). None when it charged no tax."""
    months = [part.relief_after_months for part in parts if part.tax_minor]
    if not months:
        return None
    return add_months(due_date, max(months))
