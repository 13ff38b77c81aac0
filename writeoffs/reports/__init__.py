"""Reports and worklists across accounts: aging as of a date, the write-off analysis,
the disputes worklist and the home page's figures.

The views read them through this package (``from writeoffs import reports``); each
report lives in its own module.
"""

from writeoffs.reports.aging import (
    BUCKET_KEYS,
    BUCKET_LABELS,
    BUCKETS,
    AgingReport,
    aging_invoices,
    aging_report,
    aging_totals_today,
    ar_control_at,
    end_of_day,
    outside_columns,
)
from writeoffs.reports.analysis import MonthRow, WriteoffAnalysis, month_starts, writeoff_analysis
from writeoffs.reports.dashboard import WORKLIST_FILTERS, home_figures, open_holds

__all__ = [
    "BUCKETS",
    "BUCKET_KEYS",
    "BUCKET_LABELS",
    "WORKLIST_FILTERS",
    "AgingReport",
    "MonthRow",
    "WriteoffAnalysis",
    "aging_invoices",
    "aging_report",
    "aging_totals_today",
    "ar_control_at",
    "end_of_day",
    "home_figures",
    "month_starts",
    "open_holds",
    "outside_columns",
    "writeoff_analysis",
]
