"""Rules shared by the billing and write-off services.

Only services call these. Forms and the API translate the ``BillingError`` they
raise; they never repeat the checks.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Callable

from django.db import models, transaction
from django.utils import timezone

from billing.actors import Actor
from billing.errors import (
    ILLEGAL_CHARACTERS,
    INVALID_ACCOUNTING_CODE,
    INVALID_COMMENTS,
    INVALID_INPUT,
    INVOICE_NOT_FOUND,
    INVOICE_NOT_OPEN,
    INVOICE_VOID,
    OVER_AVAILABLE,
    PERMISSION_DENIED,
    BillingError,
)
from billing.history import acting_as
from billing.models import AccountingCode, Invoice
from billing.money import format_money, from_minor, parse_amount, to_minor
from billing.parsing import is_ascii_digits, whole_number

COMMENTS_MAX_LENGTH = 3000
REFERENCE_MAX_LENGTH = 100

# Invisible characters that reorder how text is displayed ("Trojan Source").
_BIDI_OVERRIDES = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def today() -> datetime.date:
    """ "Today" in the deployment's TIME_ZONE, not the server's or UTC's."""
    return timezone.localdate()


def require_perm(actor: Actor, perm: str) -> None:
    if not actor.has_perm(perm):
        raise BillingError(PERMISSION_DENIED, f"{actor.label} is not allowed to do this ({perm}).")


def check_text(value: str, *, field: str) -> str:
    """Normalise line endings and refuse control and bidi-override characters (25020).

    Lone surrogates (only reachable through JSON escapes) are refused too: no
    database can store them, and they are never meant text.
    """
    text = value.replace("\r\n", "\n")
    for char in text:
        if char in "\t\n":
            continue
        if unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI_OVERRIDES:
            raise BillingError(
                ILLEGAL_CHARACTERS,
                f"Illegal characters entered: remove the invisible character U+{ord(char):04X}.",
                field=field,
            )
    return text


# What an empty required field says, on every form and in the API's field errors:
# Django's own wording, so a form field and a service rule read the same.
REQUIRED_MESSAGE = "This field is required."


def clean_comments(value: str | None, *, field: str = "comments", label: str = "Comments") -> str:
    """Required free text, 1 to 3000 characters after CRLF becomes LF."""
    text = check_text(value or "", field=field)
    if not text.strip():
        raise BillingError(INVALID_COMMENTS, REQUIRED_MESSAGE, field=field)
    if len(text) > COMMENTS_MAX_LENGTH:
        raise BillingError(
            INVALID_COMMENTS,
            f"{label} must be at most {COMMENTS_MAX_LENGTH} characters (they are {len(text)}).",
            field=field,
        )
    return text


def clean_optional_text(
    value: str | None, *, field: str, max_length: int, code: int = INVALID_INPUT
) -> str:
    text = check_text(value or "", field=field)
    if len(text) > max_length:
        raise BillingError(code, f"Use at most {max_length} characters.", field=field)
    return text


def lock_invoice(invoice_id: int) -> Invoice:
    """Re-read the invoice under a row lock.

    The balance must be read after the lock is held: a balance read before it
    may already be stale when the row is written. (On SQLite the IMMEDIATE
    transaction already holds the database's write lock.)
    """
    # The revenue code comes in the same query (a revenue-impacting write-off posts to
    # it); only the invoice row is locked.
    try:
        return (
            Invoice.objects.select_related("revenue_code")
            .select_for_update(of=("self",))
            .get(pk=invoice_id)
        )
    except (Invoice.DoesNotExist, ValueError, TypeError):
        raise BillingError(INVOICE_NOT_FOUND, "Invoice does not exist.", field="invoice") from None


def require_sent(invoice: Invoice, what: str) -> None:
    """A write-off, hold or payment needs a sent invoice; a void one has its own code."""
    if invoice.is_void:
        raise BillingError(
            INVOICE_VOID,
            f"Invoice {invoice.invoice_no} is void; a void invoice cannot have {what}.",
            field="invoice",
        )
    if invoice.status != Invoice.Status.SENT:
        raise BillingError(
            INVOICE_NOT_OPEN,
            f"Invoice {invoice.invoice_no} is {invoice.get_status_display().lower()}; "
            f"only sent invoices can have {what}.",
            field="invoice",
        )


def resolve_amount(invoice: Invoice, raw: object | None, *, kind: str) -> int:
    """The amount in minor units; empty means the whole available amount.

    ``kind`` is how the message names the amount ("Write-off", "Dispute",
    "Payment"). A refusal names the invoice's balance due and, when part of it
    is held, the held and available parts, as seed 000 asks.
    """
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        amount_minor = invoice.available_minor
        if amount_minor <= 0:
            raise BillingError(
                OVER_AVAILABLE,
                f"Invoice {invoice.invoice_no} has nothing available ({_due_and_held(invoice)}).",
                field="amount",
            )
        return amount_minor
    amount = parse_amount(raw, invoice.currency)
    amount_minor = to_minor(amount, invoice.currency)
    if amount_minor > invoice.available_minor:
        message = (
            f"{kind} amount {format_money(amount, invoice.currency)} is more than "
            f"{_balance_phrase(invoice)}."
        )
        if kind == "Payment" and invoice.held_minor:
            message += " Release the disputed part before recording a payment against it."
        raise BillingError(OVER_AVAILABLE, message, field="amount")
    return amount_minor


def _money(invoice: Invoice, minor: int) -> str:
    return format_money(from_minor(minor, invoice.currency), invoice.currency)


def _balance_phrase(invoice: Invoice) -> str:
    """What an amount was compared with, named first, so no number contradicts "more than".

    With nothing held or pending approval the available amount is the balance due;
    otherwise the message names the available part and puts the balance due and the
    reserved parts after it: "the 1,308.99 available on invoice N (balance due 2,108.99, of
    which 800.00 on hold)".
    """
    if not invoice.held_minor and not invoice.pending_minor:
        due = _money(invoice, invoice.balance_due_minor)
        return f"the balance due of {due} on invoice {invoice.invoice_no}"
    available = _money(invoice, invoice.available_minor)
    return f"the {available} available on invoice {invoice.invoice_no} ({_due_and_held(invoice)})"


def _due_and_held(invoice: Invoice) -> str:
    phrase = f"balance due {_money(invoice, invoice.balance_due_minor)}"
    reserved = []
    if invoice.held_minor:
        reserved.append(f"{_money(invoice, invoice.held_minor)} on hold")
    if invoice.pending_minor:
        reserved.append(f"{_money(invoice, invoice.pending_minor)} pending write-off approval")
    if reserved:
        phrase += f", of which {' and '.join(reserved)}"
    return phrase


def invoice_id_of(
    model: type[models.Model], pk: object, *, not_found_code: int = INVALID_INPUT
) -> int:
    """The invoice an entry belongs to. An entry never moves to another invoice,
    so this is safe to read before taking the invoice lock."""
    invoice_id = None
    if isinstance(pk, int) or (isinstance(pk, str) and is_ascii_digits(pk)):
        rows = model._default_manager.filter(pk=pk)
        invoice_id = rows.values_list("invoice_id", flat=True).first()
    if invoice_id is None:
        name = str(model._meta.verbose_name).capitalize()
        raise BillingError(not_found_code, f"{name} {pk} does not exist.")
    return invoice_id


def active_code(kind: str, raw: object, *, field: str, refusal: str) -> AccountingCode:
    """The active accounting code of ``kind`` whose id is ``raw``; ``refusal`` otherwise."""
    code = None
    pk = whole_number(raw)
    if pk is not None:
        code = AccountingCode.objects.filter(pk=pk, kind=kind, active=True).first()
    if code is None:
        raise BillingError(INVALID_ACCOUNTING_CODE, refusal, field=field)
    return code


def clean_correction_reason(reason: str | None) -> str:
    """Why a ledger row is corrected: required, and kept in the row's history."""
    return clean_comments(reason, field="reason", label="A reason for the correction")


def correct_entry[Entry: models.Model](
    model: type[Entry],
    pk: object,
    actor: Actor,
    plan: Callable[[Entry], dict[str, object]],
    *,
    reason: str | None,
    not_found_code: int = INVALID_INPUT,
) -> Entry:
    """Apply a correction to one ledger row: lock its invoice, re-read the row under
    its lock, ask ``plan`` (a service's correction plan) what changes, and save
    only that, with history recording ``actor`` and ``reason``. Nothing changed:
    nothing saved, and no reason is needed."""
    invoice_id = invoice_id_of(model, pk, not_found_code=not_found_code)
    with transaction.atomic(), acting_as(actor):
        lock_invoice(invoice_id)
        row = model._default_manager.select_for_update().get(pk=pk)
        changes = plan(row)
        if not changes:
            return row
        # simple-history keeps the reason with the historical row.
        row._change_reason = clean_correction_reason(reason)  # type: ignore[attr-defined]
        for name, value in changes.items():
            setattr(row, name, value)
        row.save(update_fields=list(changes))
    return row
