"""Write-offs and dispute holds, their approvals, recoveries and bulk runs.

Each model lives in its own module; this package is where Django and the rest of
the code find them.
"""

from writeoffs.models.allowance import (
    DEFAULT_RATES,
    ProvisionBucket,
    ProvisionRate,
    ProvisionRun,
)
from writeoffs.models.analysis import (
    AnalysisMonthTally,
    AnalysisTally,
)
from writeoffs.models.approvals import (
    ApprovalLimit,
)
from writeoffs.models.bulk import (
    BulkRun,
    BulkRunItem,
)
from writeoffs.models.cases import (
    CLOSED_CASE_STATUSES,
    OPEN_CASE_STATUSES,
    Case,
    CaseAttachment,
    CaseCategory,
    CaseNote,
    CaseNumber,
    CaseStatus,
    CaseStatusChange,
    OverdueDigestRun,
    RootCause,
)
from writeoffs.models.choices import (
    RECOVERABLE_REASON_CODES,
    SETTLEMENT_OUTCOMES,
    STORED_WRITEOFF_REASON_CODES,
    WRITEOFF_REASON_CODES,
    ReasonCode,
    Settlement,
    Source,
)
from writeoffs.models.credit_notes import (
    CreditNote,
    CreditNoteCounter,
    CreditNoteLine,
)
from writeoffs.models.holds import (
    SETTLEMENT_FOR_STATUS,
    DisputeHold,
)
from writeoffs.models.recovery import (
    WriteOffRecovery,
)
from writeoffs.models.report_jobs import (
    ReportJob,
)
from writeoffs.models.tallies import (
    AccountWriteoffTally,
)
from writeoffs.models.writeoffs import (
    LedgerEntry,
    WriteOff,
)

__all__ = [
    "CLOSED_CASE_STATUSES",
    "DEFAULT_RATES",
    "OPEN_CASE_STATUSES",
    "RECOVERABLE_REASON_CODES",
    "SETTLEMENT_FOR_STATUS",
    "SETTLEMENT_OUTCOMES",
    "STORED_WRITEOFF_REASON_CODES",
    "WRITEOFF_REASON_CODES",
    "AccountWriteoffTally",
    "AnalysisMonthTally",
    "AnalysisTally",
    "ApprovalLimit",
    "BulkRun",
    "BulkRunItem",
    "Case",
    "CaseAttachment",
    "CaseCategory",
    "CaseNote",
    "CaseNumber",
    "CaseStatus",
    "CaseStatusChange",
    "CreditNote",
    "CreditNoteCounter",
    "CreditNoteLine",
    "DisputeHold",
    "LedgerEntry",
    "OverdueDigestRun",
    "ProvisionBucket",
    "ProvisionRate",
    "ProvisionRun",
    "ReasonCode",
    "ReportJob",
    "RootCause",
    "Settlement",
    "Source",
    "WriteOff",
    "WriteOffRecovery",
]
