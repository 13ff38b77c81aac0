"""What a write-off's tax split should be, worked out on its own for verify_ledger.

Like the rest of the ledger check, this shares no code with the posting it checks
(``billing.ledger.tax``): it reads the invoices' lines itself and splits an amount by
the SPEC's words: pro rata over every line's net and tax, in minor units, the
rounding remainder on the largest part.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from django.conf import settings

from billing.models import AccountingCode, InvoiceLine, TaxRate


class TaxedLine(NamedTuple):
    net_minor: int
    tax_minor: int
    payable_code_id: int | None


def taxed_invoice_lines() -> dict[int, list[TaxedLine]]:
    """Every line of the invoices that charge tax, by invoice, in line order. Only
    taxed invoices: an untaxed invoice's amounts are all net."""
    lines: dict[int, list[TaxedLine]] = defaultdict(list)
    rows = (
        InvoiceLine.objects.filter(invoice__tax_minor__gt=0)
        .order_by("invoice_id", "id")
        .values_list("invoice_id", "amount_minor", "tax_minor", "tax_rate__payable_code_id")
    )
    for invoice_id, net, tax, code in rows.iterator(chunk_size=10000):
        lines[invoice_id].append(TaxedLine(net, tax, code))
    return dict(lines)


def relief_pending_code_id() -> int | None:
    return (
        AccountingCode.objects.filter(code=settings.TAX_RELIEF_PENDING_CODE)
        .values_list("id", flat=True)
        .first()
    )


def tax_code_ids() -> set[int]:
    """The codes tax posts to: every rate's payable code, and the pending code."""
    codes = set(TaxRate.objects.values_list("payable_code_id", flat=True))
    pending = relief_pending_code_id()
    return codes | ({pending} if pending is not None else set())


def expected_tax(
    amount_minor: int, lines: list[TaxedLine], *, pending_code_id: int | None
) -> dict[int | None, int]:
    """The tax parts of ``amount_minor`` per code: each rate's payable code, or all on
    ``pending_code_id`` while a bad debt's relief is pending."""
    parts: list[tuple[int, bool, int | None]] = []  # (weight, is tax, tax code)
    for line in lines:
        parts.append((line.net_minor, False, None))
        parts.append((line.tax_minor, True, pending_code_id or line.payable_code_id))
    total = sum(weight for weight, _, _ in parts)
    amounts = [amount_minor * weight // total for weight, _, _ in parts]
    biggest = 0
    for i, (weight, _, _) in enumerate(parts):
        if weight > parts[biggest][0]:
            biggest = i
    amounts[biggest] += amount_minor - sum(amounts)
    taxes: dict[int | None, int] = defaultdict(int)
    for (_, is_tax, code), amount in zip(parts, amounts, strict=True):
        if is_tax and amount:
            taxes[code] += amount
    return dict(taxes)
