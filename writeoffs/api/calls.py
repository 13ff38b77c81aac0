"""The JSON API's calls (seed 001): each validates its input model, calls the services
and builds its answer model. Authentication, idempotency and errors are the
transport's (``writeoffs.api.transport``).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from billing.errors import (
    ACCOUNT_NOT_FOUND,
    INVALID_ACCOUNTING_CODE,
    INVOICE_NOT_FOUND,
    BillingError,
)
from billing.ledger.books import journal_lines
from billing.models import Account, AccountingCode, Invoice, JournalLine
from billing.money import from_minor
from billing.rules import require_perm, today
from billing.web.pagination import PageWindow, keyset_window
from writeoffs.api.answers import (
    CreateResponse,
    DisputeRow,
    JournalLineRow,
    JournalLinesResponse,
    ListResponse,
    SettleResponse,
    WriteOffRow,
)
from writeoffs.api.inputs import (
    AccountInput,
    CreateRequest,
    JournalCursor,
    JournalLinesRequest,
    ListCursor,
    ListRequest,
    SettleRequest,
)
from writeoffs.api.transport import ApiCall, api_endpoint
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create, dispute_hold_settle
from writeoffs.models import DisputeHold, ReasonCode, Settlement, Source, WriteOff
from writeoffs.selectors import disputes_for, writeoffs_for


@api_endpoint(CreateRequest, idempotent=True)
def create_writeoff_or_dispute_m(call: ApiCall) -> CreateResponse:
    given: CreateRequest = call.input
    account = _account(given)
    invoice_id = _invoice_id(given.invoice_no, account)
    if given.do_dispute:
        hold = dispute_hold_create(
            invoice_id=invoice_id,
            amount=given.writeoff_dispute_amount,
            comments=given.comments,
            actor=call.actor,
            expire_hold_days=given.expire_hold_days,
            reason_code=given.reason_code,
            source=Source.API,
            idempotency_key=call.idempotency_key,
        )
        return CreateResponse.ok(
            rec_no=hold.pk,
            invoice_no=hold.invoice.invoice_no,
            amount=_money(hold.amount_minor, hold.invoice.currency),
            currency=hold.invoice.currency,
            dispute_ind=1,
            can_unsettle=hold.can_unsettle,
            dispute_exp_date=hold.expires_on,
        )
    writeoff = writeoff_create(
        invoice_id=invoice_id,
        amount=given.writeoff_dispute_amount,
        reason_code=given.reason_code,
        comments=given.comments,
        actor=call.actor,
        writeoff_date=given.writeoff_date,
        source=Source.API,
        idempotency_key=call.idempotency_key,
    )
    return CreateResponse.ok(
        rec_no=writeoff.pk,
        invoice_no=writeoff.invoice.invoice_no,
        amount=_money(writeoff.amount_minor, writeoff.invoice.currency),
        currency=writeoff.invoice.currency,
        dispute_ind=0,
        can_unsettle=False,
        writeoff_date=writeoff.writeoff_date,
        status=api_writeoff_status(writeoff),
        credit_note_no=writeoff.credit_note_no,
    )


@api_endpoint(ListRequest)
def get_acct_writeoff_or_disputes_m(call: ApiCall) -> ListResponse:
    """An account's write-offs and dispute holds, newest first, a page at a time.

    Rows come from the selectors the Write-Offs page reads, a page at a time
    through ``keyset_window``: numbered OFFSET pages up to ``API_MAX_PAGE``, and
    past that (or whenever the caller prefers) by ``cursor``, which starts each
    list after the last row the caller saw, however deep.
    """
    given: ListRequest = call.input
    account = _account(given)
    position = given.position
    per_page = given.page_size

    def created_between(queryset):
        # Dates are the deployment's local calendar days, as the UI shows them.
        if given.start_date is not None:
            queryset = queryset.filter(created_at__gte=_start_of(given.start_date))
        if given.end_date is not None:
            next_day = given.end_date + datetime.timedelta(days=1)
            queryset = queryset.filter(created_at__lt=_start_of(next_day))
        return queryset

    def page_of(queryset: QuerySet, after: int | None) -> PageWindow:
        if position is None:
            return keyset_window(queryset, {"page": str(given.page or 1)}, per_page)
        return keyset_window(queryset, {"after": str(after or 0)}, per_page)

    fields: dict[str, Any] = {"acct_no": account.acct_no, "page_size": per_page}
    if position is None:
        fields["page"] = given.page or 1
    after: dict[str, int | None] = {"writeoffs": None, "disputes": None}
    more = False
    flag = given.dispute_or_writeoff_flag
    if flag in (0, 1):
        writeoffs = created_between(writeoffs_for(account))
        if position is None:
            fields["writeoff_count"] = writeoffs.count()
        window = page_of(writeoffs, position.after_writeoff if position else None)
        fields["writeoffs"] = [_writeoff_row(w) for w in window]
        after["writeoffs"] = window.items[-1].pk if window.has_next else 0
        more |= window.has_next
    if flag in (0, 2):
        disputes = created_between(disputes_for(account))
        if position is None:
            fields["dispute_count"] = disputes.count()
        window = page_of(disputes, position.after_dispute if position else None)
        on = today()
        fields["disputes"] = [_dispute_row(d, on) for d in window]
        after["disputes"] = window.items[-1].pk if window.has_next else 0
        more |= window.has_next
    if more:
        fields["next_cursor"] = ListCursor(flag, after["writeoffs"], after["disputes"]).encode()
    return ListResponse.ok(**fields)


@api_endpoint(SettleRequest, idempotent=True)
def settle_dispute_hold_m(call: ApiCall) -> SettleResponse:
    given: SettleRequest = call.input
    reason_code = ReasonCode.BAD_DEBT
    accounting_code_id = None
    if given.action == Settlement.CONVERT:
        if given.reason_code is not None:
            reason_code = given.reason_code
        if given.accounting_code is not None:
            accounting_code_id = _expense_code_id(given.accounting_code)
    hold = dispute_hold_settle(
        dispute_hold_id=given.dispute_no,
        action=given.action,
        actor=call.actor,
        comments=given.comments or "",
        reason_code=reason_code,
        accounting_code_id=accounting_code_id,
        source=Source.API,
    )
    rec_no = conversion_pending = credit_note_no = None
    if given.action == Settlement.CONVERT:
        conversion = hold.conversion_writeoff
        rec_no = conversion.pk if conversion else None
        credit_note_no = conversion.credit_note_no if conversion else None
        # Over the caller's limit the hold stays open until a person approves.
        conversion_pending = hold.conversion_pending
    return SettleResponse.ok(
        dispute_no=hold.pk,
        settlement_action=given.settlement_action,
        status=hold.status,
        invoice_no=hold.invoice.invoice_no,
        amount=_money(hold.amount_minor, hold.invoice.currency),
        currency=hold.invoice.currency,
        can_unsettle=hold.can_unsettle,
        rec_no=rec_no,
        conversion_pending=conversion_pending,
        credit_note_no=credit_note_no,
    )


def api_writeoff_status(writeoff: WriteOff) -> str:
    """A write-off's status as the API spells it: a pending one is "pending_approval"."""
    if writeoff.is_pending:
        return "pending_approval"
    return writeoff.status


@api_endpoint(JournalLinesRequest)
def get_journal_lines_m(call: ApiCall) -> JournalLinesResponse:
    """Journal lines with an entry date in the range, in (entry date, line) order,
    for integrations: a page at a time by ``cursor`` (``keyset_window`` from the
    last line the caller saw), so every page costs the same however deep."""
    require_perm(call.actor, "billing.export_journal")
    given: JournalLinesRequest = call.input
    lines = journal_lines(start=given.start_date, end=given.end_date)
    position = given.position
    params = {"page": "1"} if position is None else {"after": position.keyset()}
    window = keyset_window(lines, params, given.page_size)
    fields: dict[str, Any] = {
        "start_date": given.start_date,
        "end_date": given.end_date,
        "page_size": given.page_size,
        "lines": [_journal_line_row(line) for line in window],
    }
    if window.has_next:
        last = window.items[-1]
        fields["next_cursor"] = JournalCursor(last.entry_date, last.pk).encode()
    return JournalLinesResponse.ok(**fields)


def _account(given: AccountInput) -> Account:
    accounts = Account.objects.all()
    if given.acct_no is not None:
        accounts = accounts.filter(acct_no=given.acct_no)
    if given.client_acct_id is not None:
        accounts = accounts.filter(client_acct_id=given.client_acct_id)
    account = accounts.first()
    if account is None:
        which = "AriaNo (acct_no)" if given.acct_no is not None else "ClientId (client_acct_id)"
        raise BillingError(ACCOUNT_NOT_FOUND, f"Account not found: {which}.", field="acct_no")
    return account


def _invoice_id(invoice_no: int, account: Account) -> int:
    """The invoice, looked up within the account: another account's invoice is not found."""
    invoice_id = (
        Invoice.objects.filter(account=account, invoice_no=invoice_no)
        .values_list("pk", flat=True)
        .first()
    )
    if invoice_id is None:
        raise BillingError(
            INVOICE_NOT_FOUND,
            f"Invoice {invoice_no} does not exist on account {account.acct_no}.",
            field="invoice_no",
        )
    return invoice_id


def _expense_code_id(code: str) -> int:
    """The id of the accounting code whose code is ``code``; the service checks that it
    is an active expense code (the same 3123 either way)."""
    found = AccountingCode.objects.filter(code=code).values_list("pk", flat=True).first()
    if found is None:
        raise BillingError(
            INVALID_ACCOUNTING_CODE,
            f"No accounting code {code!r}: give an active expense code's code.",
            field="accounting_code",
        )
    return found


def _money(amount_minor: int, currency: str) -> str:
    return str(from_minor(amount_minor, currency))


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _local_date(moment: datetime.datetime | None) -> datetime.date | None:
    return timezone.localdate(moment) if moment else None


def _writeoff_row(writeoff: WriteOff) -> WriteOffRow:
    return WriteOffRow.model_validate(
        {
            "rec_no": writeoff.pk,
            "dispute_ind": 0,
            "invoice_no": writeoff.invoice.invoice_no,
            "amount": _money(writeoff.amount_minor, writeoff.invoice.currency),
            "currency": writeoff.invoice.currency,
            "reason_code": writeoff.reason_code,
            "reason_text": writeoff.get_reason_code_display(),
            "comments": writeoff.comments,
            "writeoff_date": writeoff.writeoff_date,
            "created_date": _local_date(writeoff.created_at),
            "created_by": writeoff.created_by_label,
            "source": writeoff.source,
            "status": api_writeoff_status(writeoff),
            "can_unsettle": False,
            "origin_dispute_no": writeoff.origin_dispute_id,
            "reversed_date": _local_date(writeoff.reversed_at),
            "credit_note_no": writeoff.credit_note_no,
        }
    )


def _journal_line_row(line: JournalLine) -> JournalLineRow:
    entry, code, currency = line.entry, line.accounting_code, line.currency
    return JournalLineRow(
        entry_no=entry.number,
        entry_date=line.entry_date,
        event=entry.event,
        currency=currency,
        accounting_code=code.code,
        accounting_code_name=code.name,
        debit=_money(line.debit_minor, currency) if line.debit_minor else None,
        credit=_money(line.credit_minor, currency) if line.credit_minor else None,
        memo=entry.memo,
        source_document=f"{entry.source_type}:{entry.source_id}",
        posted_at=entry.posted_at,
    )


def _dispute_row(hold: DisputeHold, on: datetime.date) -> DisputeRow:
    return DisputeRow.model_validate(
        {
            "rec_no": hold.pk,
            "dispute_ind": 1,
            "invoice_no": hold.invoice.invoice_no,
            "amount": _money(hold.amount_minor, hold.invoice.currency),
            "currency": hold.invoice.currency,
            "reason_code": hold.reason_code,
            "reason_text": hold.get_reason_code_display(),
            "comments": hold.comments,
            "created_date": _local_date(hold.created_at),
            "created_by": hold.created_by_label,
            "source": hold.source,
            "status": hold.status,
            "conversion_pending": hold.conversion_pending,
            "conversion_refused": hold.conversion_refused,
            "can_unsettle": hold.can_unsettle,
            "dispute_exp_date": hold.expires_on,
            "expired": hold.is_expired(on),
            "settled_date": _local_date(hold.settled_at),
        }
    )
