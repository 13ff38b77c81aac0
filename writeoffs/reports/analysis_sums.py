"""What the write-off analysis adds up, once: two grouped queries over a queryset of
journal lines. The analysis runs them over the lines of a part-month; every posting
runs them over its own lines to feed the tallies (``writeoffs.models.analysis``,
registered with billing as journal tallies); the ledger check runs them over every
line and compares. One definition, so the three cannot disagree.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import F, FilteredRelation, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from billing.extensions import JournalTally
from billing.models import JournalEvent, JournalLine, TaxRate
from writeoffs.models import AnalysisMonthTally, AnalysisTally, WriteOff

WRITEOFF_SOURCE = WriteOff._meta.label_lower

# AR-control lines of these events move written-off money: a write-off or a
# conversion credits AR control, its reversal debits it back, in the month each posts.
WRITTEN_OFF_EVENTS = (
    JournalEvent.WRITEOFF,
    JournalEvent.DISPUTE_CONVERSION,
    JournalEvent.WRITEOFF_REVERSAL,
)
# Entries that reinstate written-off money, or undo that: a recovery payment's entry
# and its void (any reclassification of a recovery only moves it between codes).
RECOVERY_EVENTS = (JournalEvent.RECOVERY, JournalEvent.PAYMENT_VOID)

_ZERO = Value(0)


def written_off(lines: QuerySet[JournalLine]) -> QuerySet:
    """Per month, currency, and the write-off's reason, revenue impact and author:
    written off (AR control credited by write-offs and conversions) and reversed
    (debited back by reversals). ``AnalysisTally``'s figures."""
    return (
        lines.filter(
            accounting_code__code=settings.AR_CONTROL_CODE,
            entry__event__in=WRITTEN_OFF_EVENTS,
            entry__source_type=WRITEOFF_SOURCE,
        )
        .annotate(
            tally_month=TruncMonth("entry_date"),
            # The entry names its write-off by id (source_id), not by a relation; the
            # write-off is found along the entry's invoice, whose write-offs it is one
            # of, so the database joins it instead of probing it once per line.
            writeoff=FilteredRelation(
                "entry__invoice__writeoffs",
                condition=Q(entry__invoice__writeoffs__pk=F("entry__source_id")),
            ),
        )
        .values_list(
            "tally_month",
            "currency",
            "writeoff__reason_code",
            "writeoff__revenue_impacting",
            "writeoff__created_by_label",
        )
        .annotate(
            written=Coalesce(
                Sum("credit_minor", filter=~Q(entry__event=JournalEvent.WRITEOFF_REVERSAL)),
                _ZERO,
            ),
            reversed=Coalesce(
                Sum("debit_minor", filter=Q(entry__event=JournalEvent.WRITEOFF_REVERSAL)),
                _ZERO,
            ),
        )
        .order_by()
    )


def tax_and_recovered(lines: QuerySet[JournalLine]) -> QuerySet:
    """Per month and currency: the tax part of what was written off, net of reversals
    (the write-offs' and reversals' lines on the tax codes; a relief's
    reclassification moves tax between them, another event), and what was recovered:
    what a recovery entry credits back to the codes its write-offs debited (its lines
    on neither AR control nor cash). Voiding the payment reverses its whole entry,
    debiting those codes again, so the void nets the recovery in the month the void
    posts; a plain payment's entry and its void touch nothing but AR control and cash.
    ``AnalysisMonthTally``'s figures."""
    # The tax codes (``writeoffs.tax.expected.tax_code_ids``: every rate's payable
    # code and the pending code) as a subquery: a posting feeds the tally in one
    # statement.
    tax_code = Q(accounting_code_id__in=TaxRate.objects.values("payable_code_id")) | Q(
        accounting_code__code=settings.TAX_RELIEF_PENDING_CODE
    )
    taxed = Q(entry__event__in=WRITTEN_OFF_EVENTS, entry__source_type=WRITEOFF_SOURCE) & tax_code
    recovered = Q(entry__event__in=RECOVERY_EVENTS) & ~Q(
        accounting_code__code__in=[settings.AR_CONTROL_CODE, settings.CASH_CODE]
    )
    return (
        lines.filter(taxed | recovered)
        .annotate(tally_month=TruncMonth("entry_date"))
        .values_list("tally_month", "currency")
        .annotate(
            tax=Coalesce(Sum(F("debit_minor") - F("credit_minor"), filter=taxed), _ZERO),
            recovered=Coalesce(Sum(F("credit_minor") - F("debit_minor"), filter=recovered), _ZERO),
        )
        .order_by()
    )


WRITTEN_OFF_TALLY = JournalTally(AnalysisTally, written_off, frozenset(WRITTEN_OFF_EVENTS))
TAX_AND_RECOVERED_TALLY = JournalTally(
    AnalysisMonthTally, tax_and_recovered, frozenset(WRITTEN_OFF_EVENTS + RECOVERY_EVENTS)
)
