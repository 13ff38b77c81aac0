"""What the check decides for each row (or, for invoices, each group of rows): create,
update, unchanged or refused, with what to write.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from billing.sync.imports.fields import RowProblem


class Outcome(StrEnum):
    CREATE = "created"
    UPDATE = "updated"
    UNCHANGED = "unchanged"
    REFUSE = "refused"


@dataclass(frozen=True)
class AccountPlan:
    external_id: str
    name: str
    currency: str
    acct_no: int | None
    client_acct_id: str | None
    email: str
    status: str
    # An update: the id of the account and the fields that change.
    account_id: int | None = None
    changes: tuple[str, ...] = ()


class PlannedLine(NamedTuple):
    """An invoice line as the file gives it: its net and, when taxed, its rate and tax
    (as ``line_tax`` decided them)."""

    description: str
    amount_minor: int
    tax_rate_id: int | None = None
    tax_minor: int = 0


@dataclass(frozen=True)
class InvoicePlan:
    external_id: str
    account_id: int
    currency: str
    bill_date: datetime.date
    due_date: datetime.date
    revenue_code_id: int | None
    invoice_no: int | None
    lines: tuple[PlannedLine, ...]
    # An update of a known invoice: its id, and a new due date or a void.
    invoice_id: int | None = None
    new_due_date: datetime.date | None = None
    void: bool = False
    first_row: int = 0

    @property
    def tax_minor(self) -> int:
        return sum(line.tax_minor for line in self.lines)

    @property
    def total_minor(self) -> int:
        """Net plus tax, as ``invoice_line_add`` totals an invoice."""
        return sum(line.amount_minor + line.tax_minor for line in self.lines)


@dataclass(frozen=True)
class PaymentPlan:
    external_id: str
    invoice_id: int
    amount: str
    paid_on: datetime.date
    method: str
    reference: str


type Plan = AccountPlan | InvoicePlan | PaymentPlan


@dataclass
class Verdict:
    rows: list[int]
    outcome: Outcome
    plan: Plan | None = None
    problems: list[RowProblem] = field(default_factory=list)

    @classmethod
    def refused(cls, rows: list[int], problems: list[RowProblem]) -> Verdict:
        return cls(rows=rows, outcome=Outcome.REFUSE, problems=problems)
