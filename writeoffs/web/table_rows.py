"""The Write-offs and Disputes tables' rows, each value formatted once, in one pass.

The tab's table is what the benchmark times against Django's own admin changelist
(A and B2 in docs/benchmarks.md), and pyinstrument put most of it in the template's
row loop: dotted lookups through each model instance (some of them properties that
convert money again), the money, date and truncatechars filters, and a ``{% url %}``
or three per row. Here each row becomes a small object holding the strings the
template prints, made by the functions those filters call (``format_money``,
Django's ``date_format`` and ``Truncator``), so the page reads exactly as before.
Only what a row's status shows is formatted, and only the links the user may follow.
A date is formatted and escaped once per table, a link's URL reversed and escaped once
per table, and numbers and amounts (digits and separators) come already safe, so the
template's autoescape passes them by: escaping each printed value was a sixth of the
partial's profile. Text people typed (comments, names, reasons) is escaped as before.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # stubs lack it

from billing.models import Account
from billing.money import format_money
from writeoffs.models import DisputeHold, Settlement, WriteOff

DAY = "M j, Y"
MINUTE = "M j, Y H:i"
# Stands for a row's number in a URL reversed once per table (longer than any number).
_MARK = "9" * 30


def shown_date(value: datetime.date | None, fmt: str = DAY) -> str:
    """What ``{{ value|date:fmt }}`` prints (a datetime in the current time zone)."""
    if value is None:
        return ""
    return date_format(template_localtime(value), fmt)


class _Dates:
    """``shown_date`` for one table: a page of rows shares a handful of days."""

    def __init__(self) -> None:
        self.shown: dict[tuple[object, str], str] = {}

    def __call__(self, value: datetime.date | None, fmt: str = DAY) -> str:
        key = (value, fmt)
        if key not in self.shown:
            self.shown[key] = conditional_escape(shown_date(value, fmt))
        return self.shown[key]


def _digits(number: int) -> str:
    """A number as the template prints it with ``{% localize off %}``: nothing to escape."""
    return SafeString(number)


def _amount(amount: Decimal, currency: str) -> str:
    """``format_money``: digits, a point and commas, nothing to escape."""
    return SafeString(format_money(amount, currency))


def shortened(text: str, length: int) -> str:
    """What ``{{ text|truncatechars:length }}`` prints. Text no longer than ``length``
    comes back whole (normalised, as the filter does) without counting its characters."""
    if len(text) <= length:
        return unicodedata.normalize("NFC", text)
    return Truncator(text).chars(length)


def _link(name: str, *args: object) -> Callable[[object], str]:
    """``reverse(name, args=[*args, number])`` for each row's number (an integer), with
    one ``reverse`` per table: the URL around the number is the same on every row."""
    head, _, tail = reverse(name, args=[*args, _MARK]).partition(_MARK)
    head, tail = escape(head), escape(tail)
    return lambda number: SafeString(f"{head}{number}{tail}")


@dataclass(frozen=True, slots=True)
class TableAccess:
    """Who is looking: which actions each row offers them."""

    user_id: int | None
    highlight: str
    can_reverse: bool = False
    can_approve: bool = False
    can_settle: bool = False


# A write-off row's classes: (highlighted, reversed).
_ROW_CLASS = {
    (False, False): SafeString(""),
    (True, False): SafeString("row-new"),
    (False, True): SafeString(" row-reversed"),
    (True, True): SafeString("row-new row-reversed"),
}


@dataclass(frozen=True, slots=True)
class WriteOffRow:
    pk: int
    number: str
    status: str
    row_class: str
    invoice_no: str
    invoice_url: str
    # The invoice's currency where it is not the account's (the header names that one).
    other_currency: str
    date: str
    amount: str
    reason: str
    origin_dispute_id: int | None
    comments: str
    comments_short: str
    created_by_label: str
    credit_note_no: str | None
    credit_note_url: str
    credit_note_label: str
    bulk_run_id: int | None
    bulk_run_url: str
    # By status: what its badge's second line says.
    reversed_by_label: str = ""
    reversed_on: str = ""
    reversal_reason: str = ""
    reversal_reason_short: str = ""
    requested_by_label: str = ""
    status_label: str = ""
    rejected_by_label: str = ""
    rejected_at: str = ""
    rejection_reason_short: str = ""
    lapsed_on: str = ""
    recovered: str = ""
    approved_by_label: str = ""
    # Actions: a URL only where this user may follow it.
    own_request: bool = False
    withdraw_url: str = ""
    approve_url: str = ""
    reject_url: str = ""
    has_recoveries: bool = False
    reverse_url: str = ""


def writeoff_rows(
    writeoffs: Iterable[WriteOff], account: Account, access: TableAccess
) -> list[WriteOffRow]:
    acct_no = account.acct_no
    shown = _Dates()
    invoice_link = _link("invoice_detail", acct_no)
    reverse_link = _link("writeoff_reverse", acct_no)
    rows = []
    for w in writeoffs:
        currency = w.invoice.currency
        amount = _amount(w.amount, currency)
        status = w.status
        reversed_ = status == WriteOff.Status.REVERSED
        pending = status == WriteOff.Status.PENDING
        active = status == WriteOff.Status.ACTIVE
        invoice_url = invoice_link(w.invoice.invoice_no)
        credit_note_no = w.credit_note_no
        extra: dict[str, object] = {}
        if reversed_:
            extra.update(
                reversed_by_label=w.reversed_by_label,
                reversed_on=shown(w.reversed_at),
                reversal_reason=w.reversal_reason,
                reversal_reason_short=shortened(w.reversal_reason, 200),
            )
        elif pending:
            extra["requested_by_label"] = w.requested_by_label
        elif status == WriteOff.Status.REJECTED:
            extra.update(
                status_label=w.status_label,
                rejected_by_label=w.rejected_by_label,
                rejected_at=shown(w.rejected_at, MINUTE),
                rejection_reason_short=shortened(w.rejection_reason, 120),
            )
        elif status == WriteOff.Status.LAPSED:
            extra["lapsed_on"] = shown(w.lapsed_at)
        else:
            if w.recovered_minor:
                extra["recovered"] = _amount(w.recovered, currency)
            extra["approved_by_label"] = w.approved_by_label
        own_request = pending and w.requested_by_id == access.user_id
        if own_request:
            extra["withdraw_url"] = reverse("writeoff_withdraw", args=[acct_no, w.pk])
        elif pending and access.can_approve:
            extra["approve_url"] = reverse("approval_approve", args=[w.pk])
            extra["reject_url"] = reverse("approval_reject", args=[w.pk])
        if active and access.can_reverse and not w.recovered_minor:
            extra["reverse_url"] = reverse_link(w.pk)
        highlighted = access.highlight == str(w.pk)
        rows.append(
            WriteOffRow(
                pk=w.pk,
                number=_digits(w.number),
                status=status,
                row_class=_ROW_CLASS[highlighted, reversed_],
                invoice_no=_digits(w.invoice.invoice_no),
                invoice_url=invoice_url,
                other_currency=currency if currency != account.currency else "",
                date=shown(w.writeoff_date),
                amount=amount,
                reason=w.get_reason_code_display(),
                origin_dispute_id=w.origin_dispute_id,
                comments=w.comments,
                comments_short=shortened(w.comments, 200),
                created_by_label=w.created_by_label,
                credit_note_no=credit_note_no,
                credit_note_url=(
                    reverse("credit_note_detail", args=[acct_no, credit_note_no])
                    if credit_note_no
                    else ""
                ),
                credit_note_label=(
                    f"Credit note {credit_note_no}{' (cancelled)' if reversed_ else ''}"
                ),
                bulk_run_id=w.bulk_run_id,
                bulk_run_url=(
                    reverse("bulk_run_detail", args=[w.bulk_run_id]) if w.bulk_run_id else ""
                ),
                own_request=own_request,
                has_recoveries=active and bool(w.recovered_minor),
                **extra,  # type: ignore[arg-type]
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class DisputeRow:
    """A hold's row. It carries the fields the shared ``hold_status`` badge reads
    (``status``, ``is_open``, ``expired``, the conversion flags, ``settled_by_label``
    and ``settled_at``) under the model's own names, answered by the model."""

    pk: int
    number: str
    status: str
    highlighted: bool
    invoice_no: str
    invoice_url: str
    other_currency: str
    created_on: str
    created_by_label: str
    amount: str
    expires_on: str
    expires_soon: bool
    case_number: int | None
    case_url: str
    comments: str
    comments_short: str
    is_open: bool
    expired: bool
    conversion_pending: bool
    conversion_refused: bool
    conversion_writeoff_id: int | None
    settled_by_label: str
    settled_at: datetime.datetime | None
    # Closed holds: the settlement's line under the comments.
    status_display: str = ""
    settled_on: str = ""
    settlement_comments: str = ""
    settlement_comments_short: str = ""
    # Open holds the user may settle: one link per settlement.
    convert_url: str = ""
    release_url: str = ""
    reage_url: str = ""


def dispute_rows(
    holds: Iterable[DisputeHold], account: Account, access: TableAccess
) -> list[DisputeRow]:
    acct_no = account.acct_no
    shown = _Dates()
    invoice_link = _link("invoice_detail", acct_no)
    rows = []
    for hold in holds:
        currency = hold.invoice.currency
        is_open = hold.is_open
        extra: dict[str, object] = {}
        if not is_open:
            extra.update(
                status_display=hold.get_status_display(),
                settled_on=shown(hold.settled_at),
                settlement_comments=hold.settlement_comments,
                settlement_comments_short=shortened(hold.settlement_comments, 200),
            )
        elif access.can_settle and not hold.conversion_pending:
            for key, settlement in (
                ("convert_url", Settlement.CONVERT),
                ("release_url", Settlement.RELEASE),
                ("reage_url", Settlement.RELEASE_REAGE),
            ):
                extra[key] = reverse("dispute_settle", args=[acct_no, hold.pk, settlement])
        case_number = hold.case.number if hold.case is not None else None
        rows.append(
            DisputeRow(
                pk=hold.pk,
                number=_digits(hold.number),
                status=hold.status,
                highlighted=access.highlight == str(hold.pk),
                invoice_no=_digits(hold.invoice.invoice_no),
                invoice_url=invoice_link(hold.invoice.invoice_no),
                other_currency=currency if currency != account.currency else "",
                created_on=shown(hold.created_at),
                created_by_label=hold.created_by_label,
                amount=_amount(hold.amount, currency),
                expires_on=shown(hold.expires_on),
                expires_soon=hold.expires_soon,
                case_number=case_number,
                case_url=reverse("case_detail", args=[case_number]) if case_number else "",
                comments=hold.comments,
                comments_short=shortened(hold.comments, 200),
                is_open=is_open,
                expired=hold.expired,
                conversion_pending=hold.conversion_pending,
                conversion_refused=hold.conversion_refused,
                conversion_writeoff_id=getattr(hold, "conversion_writeoff_id", None),
                settled_by_label=hold.settled_by_label,
                settled_at=hold.settled_at,
                **extra,  # type: ignore[arg-type]
            )
        )
    return rows
