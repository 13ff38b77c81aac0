"""The ledger check of every write-off's tax split (SPEC Part 3), registered with
billing beside ``writeoffs.ledger_checks`` so ``verify_ledger`` and every close
snapshot run it:

- ``writeoff_tax_split``: what each write-off on a taxed invoice has posted, all its
  entries together (its own, a relief reclassification, its reversal), on the tax
  codes is its split's tax parts while it is active (on the pending code while its
  relief is pending, on each rate's payable code otherwise), and nothing once
  reversed; a write-off on an untaxed invoice posts nothing on them;
- ``tax_relief_state``: only a write-off that is not revenue-impacting waits for
  relief, and one that waits knows the day.

The split is worked out by ``writeoffs.tax.expected``, which shares no code with the
posting it checks.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q, Sum

from billing.models import JournalLine
from billing.verification import Verification
from writeoffs.models import WriteOff
from writeoffs.tax.expected import (
    expected_tax,
    relief_pending_code_id,
    tax_code_ids,
    taxed_invoice_lines,
)

WRITEOFF_TAX_SPLIT = "writeoff_tax_split"
TAX_RELIEF_STATE = "tax_relief_state"
CHUNK = 10000


def verify_tax_split(limit: int, **kwargs: object) -> Verification:
    result = Verification()
    codes = tax_code_ids()
    pending_code = relief_pending_code_id()
    lines = taxed_invoice_lines()
    posted: dict[int, dict[int, int]] = defaultdict(dict)
    rows = (
        JournalLine.objects.filter(
            entry__source_type=WriteOff._meta.label_lower, accounting_code_id__in=codes
        )
        .values_list("entry__source_id", "accounting_code_id")
        .annotate(net=Sum("debit_minor") - Sum("credit_minor"))
        .order_by()
    )
    for writeoff_id, code_id, net in rows.iterator(chunk_size=CHUNK):
        if net:
            posted[writeoff_id][code_id] = net
    checked = 0
    # Only write-offs that could have posted tax: on a taxed invoice, or with postings
    # on a tax code (which an untaxed invoice's write-off must not have).
    writeoffs = (
        WriteOff.objects.filter(Q(invoice__tax_minor__gt=0) | Q(pk__in=list(posted)))
        .order_by("id")
        .values_list(
            "id",
            "invoice_id",
            "status",
            "amount_minor",
            "revenue_impacting",
            "tax_relief_pending",
            "tax_relief_due_on",
        )
    )
    for row in writeoffs.iterator(chunk_size=CHUNK):
        writeoff_id, invoice_id, status, amount, revenue_impacting, pending, due_on = row
        checked += 1
        want: dict[int | None, int] = {}
        if status == WriteOff.Status.ACTIVE and invoice_id in lines:
            want = expected_tax(
                amount, lines[invoice_id], pending_code_id=pending_code if pending else None
            )
        got = posted.get(writeoff_id, {})
        if got != want:
            result.count(
                WRITEOFF_TAX_SPLIT,
                f"Write-off {writeoff_id} has {got or 'nothing'} on the tax codes (net per "
                f"code id, minor units); its split gives {want or 'nothing'}.",
                listed=result.failed.get(WRITEOFF_TAX_SPLIT, 0) < limit,
            )
        if pending and (revenue_impacting or due_on is None):
            result.count(
                TAX_RELIEF_STATE,
                f"Write-off {writeoff_id} waits for tax relief but "
                + ("is revenue-impacting." if revenue_impacting else "has no relief day."),
                listed=result.failed.get(TAX_RELIEF_STATE, 0) < limit,
            )
    result.checked["writeoff_tax_splits"] = checked
    return result
