"""The ledger checks that read the reports: what an audit of the books found could
drift without any stored total drifting (issue 26).

Registered with billing (``billing.extensions.register_ledger_check``) beside
``writeoffs.verification``, so ``verify_ledger`` and every close snapshot run them:

- ``writeoff_code``: what each write-off has posted, and what each active recovery
  credited back, is on the write-off's current code (a code correction moves both);
- ``reported_recoveries``: "recovered" in the write-off analysis (and so on the home
  page), over all time, equals the active recoveries, per currency;
- ``negative_aging``: aging as of each month end since the first invoice, and as of
  today, has no negative cell;
- ``future_date``: no journal entry is dated after today, and no re-age moved an
  aging date past today;
- ``ar_balance_drift``, ``period_balance_drift``: the journal's aggregates that
  today's reports read (``billing.ledger.aggregates``) equal their lines.

The first two recompute from the rows what the journal or the report should say;
the aging one runs the report itself, one month end at a time.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterator

from django.conf import settings
from django.db.models import F, Min, Q, Sum

from billing.ledger.aggregates import verify_aggregates
from billing.models import Invoice, JournalEntry, JournalLine
from billing.rules import today
from billing.verification import Verification
from writeoffs import reports
from writeoffs.models import DisputeHold, WriteOff, WriteOffRecovery
from writeoffs.tax.expected import expected_tax, tax_code_ids, taxed_invoice_lines

WRITEOFF_CODE = "writeoff_code"
REPORTED_RECOVERIES = "reported_recoveries"
NEGATIVE_AGING = "negative_aging"
FUTURE_DATE = "future_date"

CHUNK = 10000
WRITEOFF_SOURCE = WriteOff._meta.label_lower
PAYMENT_SOURCE = "billing.payment"


def verify_books(limit: int, *, aging_since: datetime.date | None = None) -> Verification:
    """Every check above; each kind lists at most ``limit`` failures, counts all.

    ``aging_since`` checks aging only as of the month ends from that date on (and
    today): for a caller that knows nothing dated earlier changed since it last
    checked, such as the stateful test after each step.
    """
    result = Verification()
    _writeoff_codes(result, limit)
    _reported_recoveries(result, limit)
    _negative_aging(result, limit, aging_since)
    _future_dates(result, limit)
    result.merge(verify_aggregates(limit))
    return result


def _report(result: Verification, kind: str, message: str, limit: int) -> None:
    result.count(kind, message, listed=result.failed.get(kind, 0) < limit)


def _nets(source_type: str) -> Iterator[tuple[int, dict[int, int]]]:
    """Per source row of ``source_type``, in id order: its net per code (debits minus
    credits, zeros left out) on every code but AR control, cash and the tax codes
    (the split's tax parts: ``writeoffs.tax.checks`` checks those)."""
    rows = (
        JournalLine.objects.filter(entry__source_type=source_type)
        .exclude(accounting_code__code__in=[settings.AR_CONTROL_CODE, settings.CASH_CODE])
        .exclude(accounting_code_id__in=tax_code_ids())
        .values_list("entry__source_id", "accounting_code_id")
        .annotate(net=Sum(F("debit_minor") - F("credit_minor")))
        .order_by("entry__source_id", "accounting_code_id")
        .iterator(chunk_size=CHUNK)
    )
    current: int | None = None
    by_code: dict[int, int] = {}
    for source_id, code_id, net in rows:
        if source_id != current:
            if current is not None:
                yield current, by_code
            current, by_code = source_id, {}
        if net:
            by_code[code_id] = net
    if current is not None:
        yield current, by_code


def _writeoff_codes(result: Verification, limit: int) -> None:
    # A write-off's entry debits its code; its reversal (and any reclassification)
    # nets it: what is left must be on the code it names now.
    codes = WriteOff.objects.order_by("id").values_list("id", "accounting_code_id", "status")
    current = iter(codes.iterator(chunk_size=CHUNK))
    head = next(current, None)
    checked = 0
    for writeoff_id, nets in _nets(WRITEOFF_SOURCE):
        while head is not None and head[0] < writeoff_id:
            head = next(current, None)
        if head is None or head[0] != writeoff_id:
            continue  # posting without a row: writeoffs.verification reports it
        checked += 1
        stray = {code: net for code, net in nets.items() if code != head[1]}
        if stray:
            _report(
                result,
                WRITEOFF_CODE,
                f"Write-off {writeoff_id} names code id {head[1]} but has {stray} (net per "
                "code id, minor units) posted on other codes.",
                limit,
            )
    # A recovery payment's entry credits the code of each write-off it reinstated;
    # voided, its whole entry is reversed. Per payment, per code: what its active
    # recoveries reinstated of write-offs on that code, now.
    want: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    taxed_lines = taxed_invoice_lines()
    for payment_id, code_id, amount, invoice_id in WriteOffRecovery.objects.filter(
        status=WriteOffRecovery.Status.ACTIVE
    ).values_list(
        "payment_id", "writeoff__accounting_code_id", "amount_minor", "writeoff__invoice_id"
    ):
        lines = taxed_lines.get(invoice_id)
        tax = sum(expected_tax(amount, lines, pending_code_id=None).values()) if lines else 0
        want[payment_id][code_id] -= amount - tax
    for payment_id, nets in _nets(PAYMENT_SOURCE):
        checked += 1
        expected = {code: net for code, net in want.pop(payment_id, {}).items() if net}
        if nets != expected:
            _report(
                result,
                WRITEOFF_CODE,
                f"Recovery payment {payment_id} has {nets} posted on write-off codes (net "
                f"per code id, minor units); its recoveries' write-offs are on {expected}.",
                limit,
            )
    for payment_id, expected in want.items():
        _report(
            result,
            WRITEOFF_CODE,
            f"Recovery payment {payment_id} has posted nothing on its write-offs' codes; "
            f"it should have {dict(expected)}.",
            limit,
        )
    result.checked["writeoff_codes"] = checked


def _reported_recoveries(result: Verification, limit: int) -> None:
    first = JournalEntry.objects.aggregate(first=Min("entry_date"))["first"]
    if first is None:
        return
    last = max(today(), JournalEntry.objects.latest("entry_date").entry_date)
    reported: dict[str, int] = defaultdict(int)
    for month in reports.writeoff_analysis(first, last).months:
        reported[month.currency] += month.recovered_minor
    active = dict(
        WriteOffRecovery.objects.filter(status=WriteOffRecovery.Status.ACTIVE)
        .values_list("writeoff__invoice__currency")
        .annotate(total=Sum("amount_minor"))
        .order_by()
    )
    for currency in sorted(set(reported) | set(active)):
        if reported.get(currency, 0) != active.get(currency, 0):
            _report(
                result,
                REPORTED_RECOVERIES,
                f"{currency}: the write-off analysis reports {reported.get(currency, 0)} "
                f"recovered, but the active recoveries add up to {active.get(currency, 0)} "
                "(minor units).",
                limit,
            )
    result.checked["recovery_currencies"] = len(set(reported) | set(active))


def month_ends(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """Each month's last day from ``first``'s month until before ``last``, then ``last``."""
    days = []
    month = first.replace(day=1)
    while True:
        month = (month + datetime.timedelta(days=32)).replace(day=1)
        end = month - datetime.timedelta(days=1)
        if end >= last:
            break
        days.append(end)
    return [*days, last]


def _negative_aging(result: Verification, limit: int, since: datetime.date | None) -> None:
    first = Invoice.objects.exclude(status=Invoice.Status.DRAFT).aggregate(first=Min("bill_date"))[
        "first"
    ]
    if first is None:
        return
    days = [day for day in month_ends(first, today()) if since is None or day >= since]
    for as_of in days:
        report = reports.aging_report(as_of)
        for row in report.accounts:
            cells = {**row.buckets, **row.outside}
            negative = {key: amount for key, amount in cells.items() if amount < 0}
            if negative:
                _report(
                    result,
                    NEGATIVE_AGING,
                    f"Aging as of {as_of}: account {row.acct_no} ({row.currency}) has "
                    f"negative cells {negative} (minor units).",
                    limit,
                )
    result.checked["aging_dates"] = len(days)


def _future_dates(result: Verification, limit: int) -> None:
    on = today()
    for entry_id, entry_date in (
        JournalEntry.objects.filter(entry_date__gt=on)
        .values_list("id", "entry_date")
        .order_by("id")
    ):
        _report(
            result,
            FUTURE_DATE,
            f"Journal entry {entry_id} is dated {entry_date}, after today.",
            limit,
        )
    # An aging date starts as the due date, which may be ahead; only a re-age moves it.
    for invoice_no, aging_date in (
        Invoice.objects.filter(~Q(aging_date=F("due_date")), aging_date__gt=on)
        .values_list("invoice_no", "aging_date")
        .order_by("invoice_no")
    ):
        _report(
            result,
            FUTURE_DATE,
            f"Invoice {invoice_no} was re-aged to {aging_date}, after today.",
            limit,
        )
    for hold_id, settled_on in (
        DisputeHold.objects.filter(settled_on__gt=on).values_list("id", "settled_on").order_by("id")
    ):
        _report(
            result,
            FUTURE_DATE,
            f"Dispute hold {hold_id} was settled on {settled_on}, after today.",
            limit,
        )
