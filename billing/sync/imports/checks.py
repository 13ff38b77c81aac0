"""The rules of each kind of row (SPEC Part 3, "Import ... Rules"), a chunk of rows at
a time so that the database is asked once per chunk, not once per row.

A row naming a new external id creates; a known id with the same values is
unchanged; different values update what may change (an account's name, email and
status; an open invoice's due date; a sent invoice voided) and refuse the rest.
Nothing here writes.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings

from billing.actors import Actor
from billing.errors import BillingError
from billing.models import Account, AccountingCode, Invoice, Payment, TaxRate
from billing.money import to_minor
from billing.receivables.invoices import active_tax_rates, sendable_check
from billing.receivables.payments import payment_plan
from billing.rules import REFERENCE_MAX_LENGTH
from billing.sync.imports.fields import RowProblem, RowReader, line_tax_of
from billing.sync.imports.reading import SourceRow
from billing.sync.imports.verdicts import (
    AccountPlan,
    InvoicePlan,
    Outcome,
    PaymentPlan,
    PlannedLine,
    Verdict,
)


def check_accounts(rows: Sequence[SourceRow]) -> list[Verdict]:
    readers = [RowReader(row) for row in rows]
    fields: list[dict[str, Any]] = []
    for reader in readers:
        fields.append(
            {
                "external_id": reader.external_id("external_id"),
                "name": reader.text("name", max_length=200, required=True),
                "currency": reader.currency("currency"),
                "acct_no": reader.whole_number("acct_no"),
                "client_acct_id": reader.text("client_acct_id", max_length=50) or None,
                "email": reader.email("email"),
                "status": reader.choice("status", Account.Status.values, None),
            }
        )
    known = {
        account.external_id: account
        for account in Account.objects.filter(external_id__in=[f["external_id"] for f in fields])
    }
    taken_numbers = set(
        Account.objects.filter(acct_no__in=[f["acct_no"] for f in fields if f["acct_no"]])
        .exclude(external_id__in=[f["external_id"] for f in fields])
        .values_list("acct_no", flat=True)
    )
    verdicts = []
    for reader, given in zip(readers, fields, strict=True):
        account = known.get(given["external_id"])
        if account is None and given["acct_no"] in taken_numbers:
            reader.refuse("acct_no", f"Account No. {given['acct_no']} belongs to another account.")
        if account is not None:
            for name, label in (("currency", "currency"), ("acct_no", "Account No.")):
                if given[name] and given[name] != getattr(account, name):
                    reader.refuse(
                        name,
                        f"An account's {label} never changes here (it is "
                        f"{getattr(account, name)}).",
                    )
            ours = account.client_acct_id
            if given["client_acct_id"] and given["client_acct_id"] != ours:
                reader.refuse("client_acct_id", f"The client account ID stays {ours or 'empty'}.")
        if reader.problems:
            verdicts.append(Verdict.refused([reader.number], reader.problems))
            continue
        plan = AccountPlan(
            external_id=given["external_id"],
            name=given["name"],
            currency=given["currency"],
            acct_no=given["acct_no"],
            client_acct_id=given["client_acct_id"],
            email=given["email"] if given["email"] is not None else "",
            status=given["status"] or Account.Status.ACTIVE,
        )
        if account is None:
            verdicts.append(Verdict([reader.number], Outcome.CREATE, plan))
            continue
        changes = {
            "name": given["name"],
            **({"email": given["email"]} if given["email"] is not None else {}),
            **({"status": given["status"]} if given["status"] else {}),
        }
        changed = tuple(name for name, value in changes.items() if getattr(account, name) != value)
        if not changed:
            verdicts.append(Verdict([reader.number], Outcome.UNCHANGED))
            continue
        update = AccountPlan(
            **{
                **plan.__dict__,
                "email": changes.get("email", account.email),
                "status": changes.get("status", account.status),
                "account_id": account.pk,
                "changes": changed,
            }
        )
        verdicts.append(Verdict([reader.number], Outcome.UPDATE, update))
    return verdicts


# The fields of an invoice that every one of its rows repeats.
_INVOICE_FIELDS = (
    "account_external_id",
    "bill_date",
    "due_date",
    "invoice_no",
    "revenue_code",
    "status",
)


def check_invoices(groups: Sequence[Sequence[SourceRow]]) -> list[Verdict]:
    """Each group is one invoice's rows (one per line), in file order."""
    account_ids = {row.values.get("account_external_id", "") for g in groups for row in g}
    accounts = {
        external_id: (pk, currency)
        for external_id, pk, currency in Account.objects.filter(
            external_id__in=account_ids
        ).values_list("external_id", "pk", "currency")
    }
    known = {
        invoice.external_id: invoice
        for invoice in Invoice.objects.filter(
            external_id__in=[g[0].values.get("external_id", "") for g in groups]
        ).prefetch_related("lines__tax_rate")
    }
    numbers = [
        int(n) for g in groups if (n := g[0].values.get("invoice_no", "")).isdigit() and len(n) < 19
    ]
    taken_numbers = dict(
        Invoice.objects.filter(invoice_no__in=numbers).values_list("invoice_no", "external_id")
    )
    wanted_codes = {g[0].values.get("revenue_code") or settings.IMPORT_DEFAULT_REVENUE_CODE
                    for g in groups}  # fmt: skip
    codes = {code.code: code for code in AccountingCode.objects.filter(code__in=wanted_codes)}
    rates = active_tax_rates()
    return [
        _invoice_verdict(group, accounts, known, taken_numbers, codes, rates) for group in groups
    ]


def _invoice_verdict(
    group: Sequence[SourceRow],
    accounts: dict[str | None, tuple[int, str]],
    known: dict[str | None, Invoice],
    taken_numbers: dict[int, str | None],
    codes: dict[str, AccountingCode],
    rates: dict[str, TaxRate],
) -> Verdict:
    readers = [RowReader(row) for row in group]
    first = readers[0]
    external_id = first.external_id("external_id")
    account_ref = first.external_id("account_external_id")
    bill_date = first.date("bill_date")
    due_date = first.date("due_date")
    invoice_no = first.whole_number("invoice_no")
    status = first.choice("status", ["sent", "void"], "sent")
    for reader in readers[1:]:
        for name in _INVOICE_FIELDS:
            if reader.raw(name) != first.raw(name):
                reader.refuse(
                    name, f"{name} differs from row {first.number}, the first row of this invoice."
                )
    account = accounts.get(account_ref)
    if account_ref and account is None:
        first.refuse("account_external_id", f"No account has the external id {account_ref!r}.")
    if bill_date and due_date and bill_date > due_date:
        first.refuse("due_date", "The due date is before the bill date.")
    invoice = known.get(external_id)
    if invoice is not None:
        # A known invoice's own rates read as they did when it was imported, active or
        # not since: a rerun of the same file is unchanged, not refused.
        rates = {
            **rates,
            **{ln.tax_rate.code: ln.tax_rate for ln in invoice.lines.all() if ln.tax_rate},
        }
    lines: list[PlannedLine] = []
    for reader in readers:
        description = reader.text("line_description", max_length=300, required=True)
        amount = reader.amount("line_amount", account[1]) if account else None
        if amount is None or not account:
            continue
        net = to_minor(amount, account[1])
        taxed = line_tax_of(reader, account[1], net, rates)
        if taxed is not None:
            rate, tax = taxed
            lines.append(PlannedLine(description, net, rate.pk if rate else None, tax))
    rows = [reader.number for reader in readers]
    problems = [p for reader in readers for p in reader.problems]
    if problems or account is None or bill_date is None or due_date is None:
        return _refuse_group(rows, problems)
    if invoice is None:
        code = codes.get(first.raw("revenue_code") or settings.IMPORT_DEFAULT_REVENUE_CODE)
        return _new_invoice(first, rows, external_id, account, bill_date, due_date,
                            invoice_no, status, tuple(lines), taken_numbers, code)  # fmt: skip
    return _known_invoice(first, rows, invoice, account, bill_date, due_date,
                          invoice_no, status, tuple(lines))  # fmt: skip


def _refuse_group(rows: list[int], problems: list[RowProblem]) -> Verdict:
    """One bad row refuses its whole invoice: the other rows say why."""
    bad = sorted({p.row for p in problems})
    others = [
        RowProblem(row, "external_id", f"Not imported: row {bad[0]} of this invoice is refused.")
        for row in rows
        if row not in bad
    ]
    return Verdict.refused(rows, sorted([*problems, *others], key=lambda p: p.row))


def _new_invoice(
    first: RowReader,
    rows: list[int],
    external_id: str,
    account: tuple[int, str],
    bill_date: datetime.date,
    due_date: datetime.date,
    invoice_no: int | None,
    status: str | None,
    lines: tuple[PlannedLine, ...],
    taken_numbers: dict[int, str | None],
    code: AccountingCode | None,
) -> Verdict:
    if status == "void":
        first.refuse("status", "A void invoice that was never imported is not imported.")
    if invoice_no is not None and invoice_no in taken_numbers:
        first.refuse("invoice_no", f"Invoice No. {invoice_no} belongs to another invoice.")
    try:
        sendable_check(bill_date, code)
    except BillingError as error:
        first.refuse(error.field or "bill_date", error.message, error.code)
    if first.problems:
        return _refuse_group(rows, first.problems)
    assert code is not None  # sendable_check refused a missing code
    plan = InvoicePlan(
        external_id=external_id,
        account_id=account[0],
        currency=account[1],
        bill_date=bill_date,
        due_date=due_date,
        revenue_code_id=code.pk,
        invoice_no=invoice_no,
        lines=lines,
        first_row=first.number,
    )
    return Verdict(rows, Outcome.CREATE, plan)


def _known_invoice(
    first: RowReader,
    rows: list[int],
    invoice: Invoice,
    account: tuple[int, str],
    bill_date: datetime.date,
    due_date: datetime.date,
    invoice_no: int | None,
    status: str | None,
    lines: tuple[PlannedLine, ...],
) -> Verdict:
    stored_lines = tuple(
        PlannedLine(line.description, line.amount_minor, line.tax_rate_id, line.tax_minor)
        for line in invoice.lines.all()
    )
    never = "never changes: void the invoice and issue a new one"
    if invoice.account_id != account[0]:
        first.refuse("account_external_id", f"An invoice's account {never}.")
    if invoice.bill_date != bill_date:
        first.refuse("bill_date", f"An invoice's bill date {never}.")
    if invoice_no is not None and invoice_no != invoice.invoice_no:
        first.refuse("invoice_no", f"The invoice's number stays {invoice.invoice_no}.")
    if first.raw("revenue_code") and (
        invoice.revenue_code is None or invoice.revenue_code.code != first.raw("revenue_code")
    ):
        first.refuse("revenue_code", "The revenue code is corrected on the invoice's page.")
    if [line[:2] for line in stored_lines] != [line[:2] for line in lines]:
        first.refuse("line_amount", f"A sent invoice's lines and amounts {never}.")
    elif stored_lines != lines:
        # The same nets, another tax: refused like another amount, in the tax's column.
        rates_differ = [ln.tax_rate_id for ln in stored_lines] != [ln.tax_rate_id for ln in lines]
        first.refuse(
            "tax_code" if rates_differ else "line_tax_amount", f"A sent invoice's tax {never}."
        )
    void = status == "void" and not invoice.is_void
    if invoice.is_void and status != "void":
        first.refuse("status", "The invoice is void here; a void invoice is never re-opened.")
    new_due = due_date if due_date != invoice.due_date else None
    if new_due is not None and (invoice.is_void or void):
        first.refuse("due_date", "A void invoice's due date does not change.")
    if first.problems:
        return _refuse_group(rows, first.problems)
    if not void and new_due is None:
        return Verdict(rows, Outcome.UNCHANGED)
    plan = InvoicePlan(
        external_id=invoice.external_id or "",
        account_id=account[0],
        currency=invoice.currency,
        bill_date=bill_date,
        due_date=due_date,
        revenue_code_id=invoice.revenue_code_id,
        invoice_no=invoice.invoice_no,
        lines=lines,
        invoice_id=invoice.pk,
        new_due_date=new_due,
        void=void,
        first_row=first.number,
    )
    return Verdict(rows, Outcome.UPDATE, plan)


class PaymentChecker:
    """Payments in the file are checked together with those before them on the same
    invoice: two payments that each fit the balance may not fit it together."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.planned: dict[int, int] = {}

    def check(self, rows: Sequence[SourceRow]) -> list[Verdict]:
        readers = [RowReader(row) for row in rows]
        refs = [reader.raw("invoice_external_id") for reader in readers]
        invoices = {
            invoice.external_id: invoice
            for invoice in Invoice.objects.filter(external_id__in=refs).select_related(
                "revenue_code"
            )
        }
        known = {
            payment.external_id: payment
            for payment in Payment.objects.filter(
                external_id__in=[reader.raw("external_id") for reader in readers]
            )
        }
        return [self._verdict(reader, invoices, known) for reader in readers]

    def _verdict(
        self, reader: RowReader, invoices: dict[str | None, Invoice], known: dict
    ) -> Verdict:
        external_id = reader.external_id("external_id")
        ref = reader.external_id("invoice_external_id")
        paid_on = reader.date("paid_on")
        method = reader.choice("method", Payment.Method.values, Payment.Method.OTHER)
        reference = reader.text("reference", max_length=REFERENCE_MAX_LENGTH)
        invoice = invoices.get(ref)
        if ref and invoice is None:
            reader.refuse("invoice_external_id", f"No invoice has the external id {ref!r}.")
        amount = reader.amount("amount", invoice.currency) if invoice else None
        if reader.problems or invoice is None or amount is None or paid_on is None:
            return Verdict.refused([reader.number], reader.problems)
        assert method is not None
        existing = known.get(external_id)
        if existing is not None:
            same = (
                existing.invoice_id == invoice.pk
                and existing.amount_minor == to_minor(amount, invoice.currency)
                and existing.paid_on == paid_on
                and existing.method == method
                and existing.reference == reference
            )
            if same:
                return Verdict([reader.number], Outcome.UNCHANGED)
            reader.refuse(
                "amount", "A payment never changes: remove it here and import it with a new id."
            )
            return Verdict.refused([reader.number], reader.problems)
        return self._new_payment(reader, invoice, external_id, amount, paid_on, method, reference)

    def _new_payment(
        self,
        reader: RowReader,
        invoice: Invoice,
        external_id: str,
        amount: Decimal,
        paid_on: datetime.date,
        method: str,
        reference: str,
    ) -> Verdict:
        earlier = self.planned.get(invoice.pk, 0)
        invoice.paid_minor += earlier  # what this file pays before this row
        try:
            plan = payment_plan(
                invoice=invoice,
                amount=amount,
                actor=self.actor,
                paid_on=paid_on,
                method=method,
                reference=reference,
            )
        except BillingError as error:
            column = {"invoice": "invoice_external_id"}.get(error.field or "", error.field)
            reader.refuse(column or "amount", error.message, error.code)
            return Verdict.refused([reader.number], reader.problems)
        finally:
            invoice.paid_minor -= earlier
        self.planned[invoice.pk] = earlier + plan.amount_minor
        return Verdict(
            [reader.number],
            Outcome.CREATE,
            PaymentPlan(
                external_id=external_id,
                invoice_id=invoice.pk,
                amount=str(amount),
                paid_on=paid_on,
                method=method,
                reference=reference,
            ),
        )
