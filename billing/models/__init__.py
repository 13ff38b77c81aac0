"""Accounts, invoices, payments, accounting codes, the journal, API keys, the events
feed and its webhooks.

Amounts are stored as integer minor units (``*_minor``). Each model lives in its own
module; this package is where Django and the rest of the code find them.
"""

from billing.models.accounts import (
    Account,
    AccountingCode,
)
from billing.models.aggregates import (
    MonthTally,
    PeriodBalance,
)
from billing.models.api_keys import (
    IDEMPOTENCY_WINDOW,
    ApiIdempotencyRecord,
    ApiKey,
)
from billing.models.base import (
    IdempotentEntry,
)
from billing.models.events import (
    Event,
    EventCounter,
    EventType,
)
from billing.models.imports import (
    ImportKind,
    ImportMapping,
    ImportRun,
)
from billing.models.invoices import (
    AVAILABLE_MINOR,
    Invoice,
    InvoiceLine,
)
from billing.models.journal import (
    AccountingPeriodLock,
    JournalEntry,
    JournalEvent,
    JournalLine,
)
from billing.models.payments import (
    Payment,
)
from billing.models.receivable_tallies import (
    AccountTally,
    AgingTally,
)
from billing.models.tax import (
    TaxRate,
)
from billing.models.webhooks import (
    WEBHOOK_LOG_RETENTION,
    DeliveryOutcome,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "AVAILABLE_MINOR",
    "IDEMPOTENCY_WINDOW",
    "WEBHOOK_LOG_RETENTION",
    "Account",
    "AccountTally",
    "AccountingCode",
    "AccountingPeriodLock",
    "AgingTally",
    "ApiIdempotencyRecord",
    "ApiKey",
    "DeliveryOutcome",
    "Event",
    "EventCounter",
    "EventType",
    "IdempotentEntry",
    "ImportKind",
    "ImportMapping",
    "ImportRun",
    "Invoice",
    "InvoiceLine",
    "JournalEntry",
    "JournalEvent",
    "JournalLine",
    "MonthTally",
    "Payment",
    "PeriodBalance",
    "TaxRate",
    "WebhookDelivery",
    "WebhookEndpoint",
]
