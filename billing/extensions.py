"""What billing's core hears from the apps built on it.

Billing never imports those apps, nor names them (the import-linter contract in
pyproject.toml; tests/billing/test_boundary.py). An app that adds to the
receivables tells the core what it must know by registering functions here from
its ``AppConfig.ready()``; the core calls whatever is registered, in the order it
was registered. With nothing registered a hook adds nothing: no context, no
blocker, no permission, nothing voided, nothing checked.

A hook runs where the core's own code would: one the core calls inside a service
runs in that service's transaction, under its row locks, and acts as its actor.

Registering the same function twice registers it once, so a second ``ready()``
(which Django does not do, but a test might) changes nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from django.db.models import Q, QuerySet
    from django.http import HttpRequest

    from billing.actors import Actor
    from billing.models import Account, AccountingCode, Invoice, JournalLine, Payment
    from billing.models.tallies import Tally
    from billing.verification import Verification

# An invoice's revenue code was corrected to ``code``; ``reason`` is the correction's.
# Called after the invoice and its own posting moved: move (and reclassify in the
# journal) whatever posts to the invoice's revenue code along with it.
type RevenueCodeMoved = Callable[[Invoice, AccountingCode, Actor, str], None]
# A payment was voided (removed). Undo what it did beyond paying the invoice, and
# return the minor units that are written off again (0 for none).
type PaymentVoided = Callable[[Payment], int]
# What stops an invoice being voided (a write-off, a hold), each a sentence naming it.
# Asked under the invoice's row lock.
type VoidBlockers = Callable[[Invoice], list[str]]
# What stops the books closing through a date, each a sentence naming what to do.
type CloseBlockers = Callable[[datetime.date], list[str]]
# Figures a move of the lock date records in its close snapshot, by key.
type CloseFigures = Callable[[datetime.date], dict[str, Any]]
# What a close from the lock date (None: never closed) through a date should have
# done first, each (what, done): the lock-date screen lists it; nothing is refused.
type CloseChecklist = Callable[[datetime.date | None, datetime.date], list[tuple[str, bool]]]
# A check of the stored totals and the journal against the rows: at most ``limit``
# failures of each kind it groups are listed, every one is counted.
type LedgerCheck = Callable[[int], Verification]


class Reserved(NamedTuple):
    """An amount of an invoice that was out of its available amount (held, or pending
    approval) on each day from ``first_day`` through ``last_day`` (``None``: still)."""

    first_day: datetime.date
    last_day: datetime.date | None
    amount_minor: int


# What of ``invoice`` was reserved on the days from ``since`` on: every reservation
# that overlaps them, whenever it began (``billing.ledger.availability``).
type Reservations = Callable[[Invoice, datetime.date], list[Reserved]]
# A payment was recorded (``payment_record``), under the invoice lock, after the
# payment's own posting and event. Do what the new balance calls for (a hold the
# payment made moot).
type PaymentRecorded = Callable[[Payment, Invoice, Actor], None]
# Context a page of billing's adds to its own (the template reads both).
type AccountPageContext = Callable[[HttpRequest, Account], dict[str, Any]]
type InvoicePageContext = Callable[[HttpRequest, Invoice], dict[str, Any]]
# The Invoices list's filter of this name: the account's invoices it keeps.
type InvoiceFilter = Callable[[Account], Q]
# Which of these invoice ids carry a flag, and its words ("In dispute"): one query
# for a whole table.
type InvoiceFlags = Callable[[list[int]], dict[int, list[str]]]


@dataclass(frozen=True)
class JournalTally:
    """A tally kept from the journal's lines (``billing.ledger.journal_tallies``):
    ``source(lines)`` is its figures recomputed from ``lines`` (a queryset of
    journal lines), grouped by the tally's KEYS with its SUMS in order. Every entry
    of ``events`` (every entry, when None) adds ``source`` of its own lines, in its
    transaction; the check compares the tally with ``source`` of every line."""

    model: type[Tally]
    source: Callable[[QuerySet[JournalLine]], QuerySet]
    events: frozenset[str] | None = None

    def every_line(self) -> QuerySet:
        """Its figures recomputed from every line of its events: the source the check,
        the rebuild and the compaction know it by (``billing.tallies``)."""
        from billing.models import JournalLine  # the models import this module

        lines = JournalLine.objects.all()
        if self.events is not None:
            lines = lines.filter(entry__event__in=self.events)
        return self.source(lines)


@dataclass
class Hooks:
    """Everything registered, per hook. Billing reads it as ``extensions.hooks``."""

    revenue_code_moved: list[RevenueCodeMoved] = field(default_factory=list)
    payment_voided: list[PaymentVoided] = field(default_factory=list)
    payment_recorded: list[PaymentRecorded] = field(default_factory=list)
    void_blockers: list[VoidBlockers] = field(default_factory=list)
    close_blockers: list[CloseBlockers] = field(default_factory=list)
    close_figures: list[CloseFigures] = field(default_factory=list)
    close_checklist: list[CloseChecklist] = field(default_factory=list)
    ledger_checks: list[LedgerCheck] = field(default_factory=list)
    journal_tallies: list[JournalTally] = field(default_factory=list)
    reservations: list[Reservations] = field(default_factory=list)
    account_overview_context: list[AccountPageContext] = field(default_factory=list)
    invoice_page_context: list[InvoicePageContext] = field(default_factory=list)
    invoice_filters: dict[str, InvoiceFilter] = field(default_factory=dict)
    invoice_flags: list[InvoiceFlags] = field(default_factory=list)
    # Staff group name (billing.roles) -> permissions, "app_label.codename".
    role_permissions: dict[str, set[str]] = field(default_factory=dict)
    # API key role (ApiKey.Role's values) -> permissions.
    api_role_permissions: dict[str, set[str]] = field(default_factory=dict)


hooks = Hooks()


def _append[Hook](registered: list[Hook], hook: Hook) -> Hook:
    if hook not in registered:
        registered.append(hook)
    return hook


def register_revenue_code_moved(hook: RevenueCodeMoved) -> RevenueCodeMoved:
    """Called by ``invoice_revenue_code_correct``, under the invoice lock."""
    return _append(hooks.revenue_code_moved, hook)


def register_payment_voided(hook: PaymentVoided) -> PaymentVoided:
    """Called by ``payment_remove`` under the invoice and payment locks; what the hooks
    return is added back to the invoice's written-off total."""
    return _append(hooks.payment_voided, hook)


def register_payment_recorded(hook: PaymentRecorded) -> PaymentRecorded:
    """Called by ``payment_record`` under the invoice lock, last in its transaction."""
    return _append(hooks.payment_recorded, hook)


def register_void_blocker(hook: VoidBlockers) -> VoidBlockers:
    """Asked by ``invoice_void`` under the invoice lock; any sentence refuses it."""
    return _append(hooks.void_blockers, hook)


def register_close_blocker(hook: CloseBlockers) -> CloseBlockers:
    """Asked by a move of the lock date, under the period lock; any sentence refuses it."""
    return _append(hooks.close_blockers, hook)


def register_close_figures(hook: CloseFigures) -> CloseFigures:
    """Merged into the close snapshot a move of the lock date stores."""
    return _append(hooks.close_figures, hook)


def register_close_checklist(hook: CloseChecklist) -> CloseChecklist:
    """Listed by the lock-date screen for the months a close would take in."""
    return _append(hooks.close_checklist, hook)


def register_ledger_check(hook: LedgerCheck) -> LedgerCheck:
    """Run by ``billing.verification.verify_ledger`` (the close snapshot's check)."""
    return _append(hooks.ledger_checks, hook)


def register_journal_tally(tally: JournalTally) -> JournalTally:
    """Kept by every posting (``post_entry`` and the bulk posting); its source over
    every line joins the other tallies (``billing.tallies.register``), so the daily
    run compacts it, ``verify_ledger`` checks it and ``rebuild_aggregates`` rebuilds
    it as it does every tally."""
    from billing import tallies  # its models import this module

    tallies.register(tally.model, tally.every_line)
    return _append(hooks.journal_tallies, tally)


def register_reservations(hook: Reservations) -> Reservations:
    """Asked by a backdated payment, write-off or recovery, under the invoice lock, for
    what was out of the invoice's available amount on each day since its date."""
    return _append(hooks.reservations, hook)


def register_account_overview_context(hook: AccountPageContext) -> AccountPageContext:
    return _append(hooks.account_overview_context, hook)


def register_invoice_page_context(hook: InvoicePageContext) -> InvoicePageContext:
    """The invoice page and the drawers over it (Record Payment, Remove payment)."""
    return _append(hooks.invoice_page_context, hook)


def register_invoice_filter(name: str, hook: InvoiceFilter) -> InvoiceFilter:
    """The filter the Invoices list applies when its form's field ``name`` is set."""
    hooks.invoice_filters[name] = hook
    return hook


def register_invoice_flags(hook: InvoiceFlags) -> InvoiceFlags:
    """Flags shown beside an invoice wherever invoices are listed (``flag_invoices``)."""
    return _append(hooks.invoice_flags, hook)


def flag_invoices(invoices: Iterable[Invoice]) -> None:
    """Set ``flags`` (a list of words) on each invoice, from every registered hook."""
    rows = list(invoices)
    found: dict[int, list[str]] = {}
    for hook in hooks.invoice_flags:
        for invoice_id, words in hook([row.pk for row in rows]).items():
            found.setdefault(invoice_id, []).extend(words)
    for row in rows:
        row.flags = found.get(row.pk, [])  # type: ignore[attr-defined]


def register_role_permissions(role: str, permissions: Iterable[str]) -> None:
    """Give the staff group ``role`` these permissions too (``ensure_billing_groups``)."""
    hooks.role_permissions.setdefault(role, set()).update(permissions)


def register_api_role_permissions(role: str, permissions: Iterable[str]) -> None:
    """Give API keys of ``role`` these permissions too (``Actor.has_perm``)."""
    hooks.api_role_permissions.setdefault(role, set()).update(permissions)
