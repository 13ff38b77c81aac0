"""The journal against the rows: every entry balances, every invoice, payment,
write-off and provision run has exactly the postings its state gives (the SPEC's
table, ``billing.ledger.rules``, read here on its own), and AR control matches the
balance due per invoice and per currency."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, NamedTuple

from django.conf import settings
from django.db.models import F, Sum

from billing.ledger.codes import ControlCodes
from billing.ledger.rules import (
    Control,
    LineRule,
    Per,
    Side,
    event_for,
    posts,
    reversal_of,
    reverses,
)
from billing.models import (
    AccountingCode,
    Invoice,
    JournalEntry,
    JournalEvent,
    JournalLine,
    Payment,
)
from billing.verification import Verification
from writeoffs.models import ProvisionRun, WriteOff, WriteOffRecovery
from writeoffs.tax.expected import expected_tax, relief_pending_code_id, taxed_invoice_lines
from writeoffs.verification.kinds import (
    CONTROL_CODES,
    CURRENCY_AR_CONTROL,
    INVOICE_AR_CONTROL,
    POSTING_WITHOUT_ROW,
    UNBALANCED_ENTRY,
    UNKNOWN_SOURCE,
    WRONG_ENTRIES,
    WRONG_POSTINGS,
)
from writeoffs.verification.streams import CHUNK, Stream, postings

# What a source row should have posted: the net per code (a row whose code is unset
# expects it under None, which no posting matches), its event and its undoing event.
Expected = tuple[dict[int | None, int], str | None, str | None]


class Reinstated(NamedTuple):
    """A recovery payment's part: what it reinstated of a write-off, on its code."""

    accounting_code_id: int | None
    amount_minor: int


class JournalCheck:
    """The journal against the rows, in a handful of grouped queries and streams."""

    KNOWN_SOURCES = (
        "billing.invoice",
        "billing.payment",
        "writeoffs.writeoff",
        "writeoffs.provisionrun",
    )

    def __init__(self, result: Verification, limit: int) -> None:
        self.result = result
        self.limit = limit
        self.found = 0
        codes = dict(
            AccountingCode.objects.filter(
                code__in=[
                    settings.AR_CONTROL_CODE,
                    settings.CASH_CODE,
                    settings.ALLOWANCE_CODE,
                    settings.BAD_DEBT_EXPENSE_CODE,
                ]
            ).values_list("code", "id")
        )
        self.ar = codes.get(settings.AR_CONTROL_CODE)
        self.cash = codes.get(settings.CASH_CODE)
        # A missing one posts under id 0, which no line has: the provision runs fail.
        self.allowance = codes.get(settings.ALLOWANCE_CODE, 0)
        self.bad_debt_expense = codes.get(settings.BAD_DEBT_EXPENSE_CODE, 0)
        # Recoveries are few (a payment after a write-off): per payment, what it
        # reinstated of each write-off, voided ones included (their entry posted).
        # Taxed invoices' lines (tax is the exception), for the split of their rows.
        self.taxed_lines = taxed_invoice_lines()
        self.pending_code = relief_pending_code_id()
        self.recovered: dict[int, list[Reinstated]] = {}
        for payment_id, code_id, part, invoice_id, pending in WriteOffRecovery.objects.values_list(
            "payment_id",
            "writeoff__accounting_code_id",
            "amount_minor",
            "writeoff__invoice_id",
            "writeoff__tax_relief_pending",
        ).iterator(chunk_size=CHUNK):
            # Split like its write-off: the tax parts on the tax codes, the rest on
            # the write-off's code.
            taxes = self._tax(invoice_id, part, pending=pending)
            reinstated = self.recovered.setdefault(payment_id, [])
            reinstated.append(Reinstated(code_id, part - sum(taxes.values())))
            reinstated.extend(Reinstated(code, amount) for code, amount in taxes.items())

    def _tax(self, invoice_id: int, amount_minor: int, *, pending: bool) -> dict[int | None, int]:
        lines = self.taxed_lines.get(invoice_id)
        if not lines:
            return {}
        return expected_tax(
            amount_minor, lines, pending_code_id=self.pending_code if pending else None
        )

    def _invoice_tax(self, row) -> dict[int | None, int]:
        charged: dict[int | None, int] = defaultdict(int)
        for line in self.taxed_lines.get(row.id, []):
            if line.tax_minor:
                charged[line.payable_code_id] += line.tax_minor
        return charged

    def _writeoff_tax(self, row) -> dict[int | None, int]:
        return self._tax(row.invoice_id, row.amount_minor, pending=row.tax_relief_pending)

    def add(self, kind: str, message: str) -> None:
        """Count a journal problem; the first ``limit`` are listed."""
        self.found += 1
        self.result.count(kind, message, listed=self.found <= self.limit)

    def run(self) -> None:
        self.result.checked["journal_entries"] = JournalEntry.objects.count()
        if self.ar is None or self.cash is None:
            self.add(CONTROL_CODES, "AR_CONTROL_CODE or CASH_CODE names no accounting code.")
            return
        # The rules read a control code by name; the conversion code is never a line's.
        self.controls = ControlCodes(
            ar_control_id=self.ar,
            cash_id=self.cash,
            dispute_conversion_id=0,
            allowance_id=self.allowance,
            bad_debt_expense_id=self.bad_debt_expense,
            # Tax lines name their codes through the rows' tax parts.
            tax_payable_id=0,
            tax_relief_pending_id=0,
        )
        self._balanced()
        self._sources()
        self._rows(
            "billing.invoice",
            Invoice.objects.values_list(
                "id", "status", "total_minor", "revenue_code_id", named=True
            ),
            (JournalEvent.INVOICE_SENT,),
            taxes=self._invoice_tax,
        )
        self._rows(
            "billing.payment",
            Payment.objects.values_list("id", "status", "amount_minor", named=True),
            (JournalEvent.PAYMENT, JournalEvent.RECOVERY),
            parts=self.recovered,
        )
        self._rows(
            "writeoffs.writeoff",
            WriteOff.objects.values_list(
                "id",
                "status",
                "amount_minor",
                "accounting_code_id",
                "origin_dispute_id",
                "invoice_id",
                "tax_relief_pending",
                named=True,
            ),
            (JournalEvent.WRITEOFF, JournalEvent.DISPUTE_CONVERSION),
            taxes=self._writeoff_tax,
        )
        self._rows(
            "writeoffs.provisionrun",
            ProvisionRun.objects.values_list(
                "id", "status", "posted_minor", "month_end", named=True
            ),
            (JournalEvent.PROVISION,),
        )
        self._ar_control()

    def _balanced(self) -> None:
        unbalanced = (
            JournalLine.objects.values("entry_id")
            .annotate(d=Sum("debit_minor"), c=Sum("credit_minor"))
            .exclude(d=F("c"))
            .order_by("entry_id")
        )
        for row in unbalanced.iterator(chunk_size=CHUNK):
            self.add(
                UNBALANCED_ENTRY,
                f"Journal entry {row['entry_id']} does not balance: debits {row['d']}, "
                f"credits {row['c']}.",
            )

    def _sources(self) -> None:
        for source_type in (
            JournalEntry.objects.exclude(source_type__in=self.KNOWN_SOURCES)
            .values_list("source_type", flat=True)
            .distinct()
        ):
            self.add(
                UNKNOWN_SOURCE, f"Journal entries post a {source_type!r}, which posts nothing."
            )

    def _expected(
        self,
        alternatives: tuple[JournalEvent, ...],
        row,
        parts: list[Reinstated],
        tax: dict[int | None, int],
    ) -> Expected:
        """What the table gives ``row``: its entry's event when its state carries one,
        the reversal's when its state carries that too (everything undone: no net),
        and otherwise the net per code of the entry's lines."""
        event = event_for(alternatives, row, has_parts=bool(parts))
        if event is None or row.status not in posts(event).states:
            return {}, None, None
        undo = reversal_of(event)
        if undo is not None and row.status in reverses(undo).states:
            return {}, event.value, undo.value
        nets: dict[int | None, int] = {}
        for line in posts(event).lines:
            for code_id, amount in self._amounts(line, row, parts, tax):
                sign = 1 if line.side is Side.DEBIT else -1
                nets[code_id] = nets.get(code_id, 0) + sign * amount
        return nets, event.value, None

    def _amounts(
        self, line: LineRule, row, parts: list[Reinstated], tax: dict[int | None, int]
    ) -> list[tuple[int | None, int]]:
        def code(of) -> int | None:
            if isinstance(line.code, Control):
                return getattr(self.controls, line.code.name)
            return getattr(of, line.code.name)

        if line.per is Per.ROW:
            return [(code(row), getattr(row, line.amount))]
        if line.per is Per.NET:
            return [(code(row), getattr(row, line.amount) - sum(tax.values()))]
        if line.per is Per.EACH_TAX:
            return list(tax.items())
        if line.per is Per.ALL_PARTS:
            return [(code(None), sum(getattr(part, line.amount) for part in parts))]
        return [(code(part), getattr(part, line.amount)) for part in parts]

    def _rows(
        self,
        source_type: str,
        rows,
        alternatives: tuple[JournalEvent, ...],
        parts: dict[int, list[Reinstated]] | None = None,
        taxes: Callable[[Any], dict[int | None, int]] | None = None,
    ) -> None:
        """Each row of ``rows`` (named, in id order) against its postings; the row's
        entry is the first of ``alternatives`` whose rule applies to it."""
        source_postings = postings(source_type)
        head = next(source_postings, None)
        for row in rows.order_by("id").iterator(chunk_size=CHUNK):
            row_id = row[0]
            while head is not None and head[0] < row_id:
                self.add(
                    POSTING_WITHOUT_ROW,
                    f"Journal entries post {source_type} {head[0]}, which does not exist.",
                )
                head = next(source_postings, None)
            nets: dict[int, int] = {}
            events: dict[str, int] = {}
            if head is not None and head[0] == row_id:
                _, nets, events = head
                head = next(source_postings, None)
            row_parts = (parts or {}).get(row_id, [])
            tax = taxes(row) if taxes is not None else {}
            want_nets, posted, undone = self._expected(alternatives, row, row_parts, tax)
            want_events = {e: 1 for e in (posted, undone) if e}
            got_events = {e: n for e, n in events.items() if e != "reclassification"}
            if got_events != want_events:
                self.add(
                    WRONG_ENTRIES,
                    f"{source_type} {row_id} has entries {got_events or 'none'}; "
                    f"it should have {want_events or 'none'}.",
                )
            elif nets != {code: net for code, net in want_nets.items() if net}:
                self.add(
                    WRONG_POSTINGS,
                    f"{source_type} {row_id} posts {nets} (net per code id, minor units); "
                    f"it should post {want_nets}.",
                )

    def _ar_control(self) -> None:
        ar_by_invoice = (
            JournalLine.objects.filter(accounting_code_id=self.ar)
            .values_list("invoice_id")
            .annotate(net=Sum("debit_minor") - Sum("credit_minor"))
            .order_by("invoice_id")
            .iterator(chunk_size=CHUNK)
        )
        ar = Stream(ar_by_invoice)
        balance_by_currency: dict[str, int] = defaultdict(int)
        invoices = (
            Invoice.objects.order_by("id")
            .values_list(
                "id",
                "invoice_no",
                "currency",
                "status",
                "total_minor",
                "paid_minor",
                "written_off_minor",
            )
            .iterator(chunk_size=CHUNK)
        )
        for invoice_id, invoice_no, currency, status, total, paid, written_off in invoices:
            due = total - paid - written_off if status == Invoice.Status.SENT else 0
            balance_by_currency[currency] += due
            posted = ar.take(invoice_id)
            if posted != due:
                self.add(
                    INVOICE_AR_CONTROL,
                    f"Invoice {invoice_no} (id {invoice_id}): AR control lines add up to "
                    f"{posted} but its balance due is {due} (minor units).",
                )
        ar_by_currency = dict(
            JournalLine.objects.filter(accounting_code_id=self.ar)
            .values_list("currency")
            .annotate(net=Sum("debit_minor") - Sum("credit_minor"))
            .order_by("currency")
        )
        for currency in sorted(set(ar_by_currency) | set(balance_by_currency)):
            posted = ar_by_currency.get(currency, 0)
            due = balance_by_currency.get(currency, 0)
            if posted != due:
                self.add(
                    CURRENCY_AR_CONTROL,
                    f"{currency}: AR control is {posted} but sent invoices' balance due adds "
                    f"up to {due} (minor units).",
                )
