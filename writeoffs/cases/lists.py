"""The admin-editable lists a case draws on: categories (with their target days) and
root causes, and the starting lists the data migration seeds."""

from __future__ import annotations

from writeoffs.models import CaseCategory, RootCause

# (code, name, target days). The data migration 0017 seeded these once; admin edits
# them. Kept here so a flushed test database gets them back (post_migrate).
DEFAULT_CATEGORIES = (
    ("pricing", "Pricing", 14),
    ("service_not_received", "Service not received", 21),
    ("duplicate_billing", "Duplicate billing", 7),
    ("quality", "Quality", 21),
    ("other", "Other", 30),
)
DEFAULT_ROOT_CAUSES = (
    (RootCause.PAID, "Paid"),
    ("pricing_error", "Pricing error"),
    ("duplicate_invoice", "Duplicate invoice"),
    ("service_failure", "Service failure"),
    ("customer_error", "Customer error"),
    ("expired", "Hold expired"),
    ("other", "Other"),
)


def ensure_default_case_lists(**kwargs) -> None:
    """Put the starting lists back when a table is empty (post_migrate), as the approval
    limits and the provision matrix do: only a flushed test database is empty."""
    if not CaseCategory.objects.exists():
        CaseCategory.objects.bulk_create(
            CaseCategory(code=code, name=name, target_days=days)
            for code, name, days in DEFAULT_CATEGORIES
        )
    if not RootCause.objects.exists():
        RootCause.objects.bulk_create(
            RootCause(code=code, name=name) for code, name in DEFAULT_ROOT_CAUSES
        )
