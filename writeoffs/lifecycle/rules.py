"""The write-off rules every lifecycle step shares: reason, date, posting code, the
approval-limit check and the insert that makes a write-off pending or active.

Only the lifecycle services call these, inside their own transaction and under the
invoice's row lock.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format

from billing.actors import Actor
from billing.errors import (
    BULK_RUN_INVALID_STATE,
    INVALID_ACCOUNTING_CODE,
    INVALID_INPUT,
    INVALID_REASON_CODE,
    INVALID_WRITEOFF_DATE,
    BillingError,
)
from billing.ledger import tax
from billing.ledger.codes import control_codes
from billing.ledger.periods import require_open
from billing.ledger.posting import post_writeoff
from billing.models import AccountingCode, Invoice
from billing.parsing import whole_number
from billing.rules import (
    active_code,
    today,
)
from writeoffs.approvals.limits import approval_limit_minor, within_limit
from writeoffs.models import (
    STORED_WRITEOFF_REASON_CODES,
    WRITEOFF_REASON_CODES,
    BulkRun,
    WriteOff,
)
from writeoffs.tax.credit_notes import credit_note_issue


@dataclass(frozen=True)
class LimitCheck:
    """A write-off's amount against its requester's limit."""

    limit_minor: int | None
    checked_minor: int

    @property
    def within(self) -> bool:
        return within_limit(self.limit_minor, self.checked_minor)


def _limit_check(invoice: Invoice, requester: Actor, amount_minor: int) -> LimitCheck:
    """Check ``amount_minor`` plus the requester's active and pending write-offs on this
    invoice in the window against their limit, so splitting does not get under it.

    Runs under the invoice lock, so two requests by one requester cannot both miss
    each other.
    """
    limit = approval_limit_minor(requester, invoice.currency)
    if limit is None:
        return LimitCheck(limit_minor=None, checked_minor=amount_minor)
    earlier = _requested_in_window_minor(invoice, requester)
    return LimitCheck(limit_minor=limit, checked_minor=amount_minor + earlier)


def _run_limit_check(
    run: BulkRun, invoice: Invoice, requester: Actor, amount_minor: int
) -> LimitCheck:
    """A bulk item against the limit that approved its run, by the same split rule as
    any write-off: the item plus its creator's (the requester's) active and pending
    write-offs on the invoice in the window, manual, converted or from other runs.

    The limit is the one the run's approver had when it started (``approval_limits``,
    the creator's own for a run within it): a run's approval covers its total, not
    what its creator already wrote off on the same invoices. Under the invoice lock.
    """
    limits = run.approval_limits
    limit = limits.get(invoice.currency, 0) if isinstance(limits, dict) else 0
    if limit is None:
        return LimitCheck(limit_minor=None, checked_minor=amount_minor)
    earlier = _requested_in_window_minor(invoice, requester)
    return LimitCheck(limit_minor=limit, checked_minor=amount_minor + earlier)


def _requested_in_window_minor(invoice: Invoice, requester: Actor) -> int:
    """The requester's active and pending write-offs on ``invoice`` created in the last
    ``WRITEOFF_APPROVAL_WINDOW_DAYS`` (0 for a requester who is neither a person nor a key)."""
    if requester.api_key is not None:
        by_requester: dict[str, object] = {"requested_by_api_key": requester.api_key}
    elif requester.user is not None:
        by_requester = {"requested_by": requester.user, "requested_by_api_key__isnull": True}
    else:
        return 0
    since = timezone.now() - datetime.timedelta(days=settings.WRITEOFF_APPROVAL_WINDOW_DAYS)
    # One filter() call: each call copies the query, and every create runs this.
    recent = WriteOff.objects.filter(
        invoice=invoice,
        status__in=[WriteOff.Status.PENDING, WriteOff.Status.ACTIVE],
        created_at__gte=since,
        **by_requester,
    )
    return sum(recent.order_by().values_list("amount_minor", flat=True))


def _writeoff_becomes_active(
    invoice: Invoice,
    writeoff: WriteOff,
    *,
    actor: Actor,
    entry_date: datetime.date,
    also_save: tuple[str, ...] | list[str] = (),
) -> None:
    """The one step by which a write-off takes its amount off the balance due.

    Both a create within the limit and an approval come through here, with the
    write-off already saved as active. ``entry_date`` is the date its journal
    entry posts on: the write-off date, or for a late approval the approval date.
    """
    invoice.written_off_minor += writeoff.amount_minor
    invoice.save(update_fields=["written_off_minor", *also_save])
    _settle_tax_relief(invoice, writeoff, entry_date)
    post_writeoff(writeoff, entry_date=entry_date, actor=actor, invoice=invoice)
    if writeoff.revenue_impacting:
        # Every revenue-impacting write-off, a conversion's too, credits the customer
        # by a numbered document, dated the day it posts.
        credit_note_issue(writeoff, invoice=invoice, issued_on=entry_date)


def _settle_tax_relief(invoice: Invoice, writeoff: WriteOff, entry_date: datetime.date) -> None:
    """A bad debt's tax is reclaimed (debits tax payable) only once the invoice's due
    date is ``relief_after_months`` before the day it posts; until then it waits on
    the pending code, for the daily run. A revenue-impacting write-off credits the
    tax at once, as the credit note it issues says."""
    if writeoff.revenue_impacting or not invoice.tax_minor:
        return
    due_on = tax.relief_due_on(invoice.due_date, tax.invoice_parts(invoice.pk))
    if due_on is None:
        return
    writeoff.tax_relief_due_on = due_on
    writeoff.tax_relief_pending = entry_date < due_on
    writeoff.save(update_fields=["tax_relief_due_on", "tax_relief_pending"])


def _insert_writeoff(
    invoice: Invoice, actor: Actor, *, requester: Actor, approval: LimitCheck, **fields
) -> WriteOff:
    key = fields.pop("idempotency_key", None)
    return WriteOff.objects.create(
        account_id=invoice.account_id,
        invoice=invoice,
        created_by=actor.user,
        api_key=actor.api_key,
        created_by_label=actor.label,
        requested_by=requester.user,
        requested_by_api_key=requester.api_key,
        requested_by_label=requester.label,
        limit_applied_minor=approval.limit_minor,
        checked_minor=approval.checked_minor,
        status=WriteOff.Status.ACTIVE if approval.within else WriteOff.Status.PENDING,
        idempotency_scope=actor.idempotency_scope,
        idempotency_key=key or None,
        **fields,
    )


def _require_running_bulk_run(run: BulkRun, actor: Actor) -> None:
    """A bulk run's approval covers only its creator's writes, and only while it runs.

    Checked on the row its worker read once, not read again for each write-off: a run
    cancelled since then stops the worker at its next claim, which reads the status.
    """
    if (
        run.status != BulkRun.Status.RUNNING
        or actor.user is None
        or actor.user.pk != run.created_by_id
    ):
        raise BillingError(
            BULK_RUN_INVALID_STATE, f"Bulk run {run.pk} is not running for {actor.label}."
        )


def _writeoff_reason(raw: object, actor: Actor) -> int:
    code = whole_number(raw)
    allowed = STORED_WRITEOFF_REASON_CODES if actor.system else WRITEOFF_REASON_CODES
    if code is None or code not in allowed:
        raise BillingError(
            INVALID_REASON_CODE,
            "Invalid reason code: choose Bad Debt, Good Will, Billing Error, Sales Return, "
            "Promotional Discount or Other.",
            field="reason_code",
        )
    return code


def run_date_or_today(run_date: datetime.date | None) -> datetime.date:
    """A daily job's run date (expiry, lapse): today by default, a past date to catch
    up, never a future one: it would post, lapse and re-age ahead of time."""
    if run_date is None:
        return today()
    if run_date > today():
        raise BillingError(
            INVALID_INPUT,
            f"The run date {run_date} is in the future: run it for today ({today()}) or an "
            "earlier date.",
            field="run_date",
        )
    return run_date


def _writeoff_date(invoice: Invoice, date: datetime.date | None) -> datetime.date:
    date = date or today()
    if date > today():
        raise BillingError(
            INVALID_WRITEOFF_DATE,
            "The write-off date cannot be in the future.",
            field="writeoff_date",
        )
    if date < invoice.bill_date:
        raise BillingError(
            INVALID_WRITEOFF_DATE,
            "The write-off date must be on or after the invoice's bill date, "
            f"{date_format(invoice.bill_date)}.",
            field="writeoff_date",
        )
    require_open(date, field="writeoff_date", what="write-off date")
    return date


def _posting_code(
    invoice: Invoice, revenue_impacting: bool, accounting_code_id: int | None
) -> AccountingCode | None:
    """Revenue-impacting write-offs post to the invoice's revenue code; any other
    write-off posts to the active expense code the user picked."""
    if revenue_impacting:
        return invoice.revenue_code
    return _charged_code(_expense_code(accounting_code_id))


def _charged_code(expense_code: AccountingCode) -> AccountingCode:
    """What a write-off that is not revenue-impacting debits: the expense code, or with
    the allowance method (``ALLOWANCE_METHOD``) the allowance that the month end's
    provisions built up. Stored on the write-off, so its reversal, a recovery (which
    reinstates on the code its write-off debited) and verify_ledger all follow it."""
    if not settings.ALLOWANCE_METHOD:
        return expense_code
    return AccountingCode.objects.get(pk=control_codes().allowance_id)


_EXPENSE_CODE_REFUSAL = (
    "Choose an active expense accounting code for a write-off that is not revenue-impacting."
)


def _run_posting_code(run: BulkRun, invoice: Invoice) -> AccountingCode | None:
    """What a bulk run's write-off posts to: the invoice's revenue code, or the expense
    code the run was approved with, which must still be active. That code comes with
    the run as its worker read it (``select_related``), not read again per invoice."""
    if run.revenue_impacting:
        return invoice.revenue_code
    code = run.accounting_code
    if code is None or code.kind != AccountingCode.Kind.EXPENSE or not code.active:
        raise BillingError(INVALID_ACCOUNTING_CODE, _EXPENSE_CODE_REFUSAL, field="accounting_code")
    return _charged_code(code)


def _expense_code(accounting_code_id: object) -> AccountingCode:
    return active_code(
        AccountingCode.Kind.EXPENSE,
        accounting_code_id,
        field="accounting_code",
        refusal=_EXPENSE_CODE_REFUSAL,
    )
