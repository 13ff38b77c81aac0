"""Posting many rows at once: a rule of ``billing.ledger.rules`` as INSERT … SELECT.

``posting.post_row`` posts one row's entry through the ORM, a few queries per row:
far too slow for a million seeded invoices. This writes the same entries, with the
same lines, dates and memos, for every row of a queryset in one INSERT … SELECT of
the entries and one more per line of the rule, each line finding its entry by
source and event (the entries' unique index). tests/billing/test_posting_rules.py
compares the two, entry by entry.

What it cannot see, it refuses or leaves to its caller: a rule whose lines read a
row's parts (a recovery) is refused; the rows of a payment rule must have
reinstated nothing; a rule that splits tax (an invoice sent, a write-off) posts only
the rows of untaxed invoices, whose net is their whole amount, and leaves the taxed
ones to the caller, who posts them one by one through ``posting`` (the split reads
each invoice's lines); and it writes no balance check or lock-date check: the caller
(``seed_billing``) refuses to run once a lock date is set, and every rule's lines
balance by construction (each amount is debited and credited once).
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import cast

from django.db import connection, models
from django.db.models import CharField, F, Max, OuterRef, QuerySet, Subquery, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Concat, TruncDate
from django.utils import timezone

from billing.ledger import journal_tallies
from billing.ledger.aggregates import add_ar_lines_after
from billing.ledger.codes import ControlCodes
from billing.ledger.rules import RULES, Control, DayOf, LineRule, Per, Posts, Reverses, Side
from billing.models import Invoice, JournalEntry, JournalEvent, JournalLine

# A column's value in INSERT … SELECT: a field of the source rows, or an expression.
type Column = str | Combinable


def insert_select(model: type[models.Model], rows: QuerySet, columns: dict[str, Column]) -> int:
    """One row of ``model`` per row of ``rows``, in their order, in one INSERT … SELECT:
    each column (by attname) set to a field of ``rows`` (by name) or an expression
    over them. Returns how many rows it wrote."""
    expressions = [F(c) if isinstance(c, str) else c for c in columns.values()]
    select, params = rows.values_list(*expressions).query.sql_with_params()
    quote = connection.ops.quote_name
    column = {f.attname: cast(str, f.column) for f in model._meta.concrete_fields}
    names = ", ".join(quote(column[name]) for name in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({names}) {select}", params)
        return cursor.rowcount


def memo_sql(template: str, *, invoice: str) -> Combinable:
    """A memo template (``"Payment {row.pk} on invoice {invoice.invoice_no}"``) as SQL
    over the rows: ``row.X`` is the row's field X, ``invoice.Y`` its invoice's
    (``invoice`` is the path to it: ``""`` for invoices, ``"invoice__"`` otherwise)."""
    parts: list[Combinable] = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if literal:
            parts.append(Value(literal))
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"memo {template!r}: no format spec or conversion in SQL")
        owner, _, attribute = name.partition(".")
        if owner == "row" and attribute:
            parts.append(F(attribute))
        elif owner == "invoice" and attribute:
            parts.append(F(f"{invoice}{attribute}"))
        else:
            raise ValueError(f"memo {template!r}: {{{name}}} is not a row's or invoice's field")
    if len(parts) == 1:
        return parts[0]
    return Concat(*parts, output_field=CharField())


def _day(date: str | DayOf) -> Column:
    if isinstance(date, DayOf):
        # The day in TIME_ZONE, as a service posting at that moment dates it.
        return TruncDate(date.field, tzinfo=timezone.get_current_timezone())
    return date


def post_rows(
    event: JournalEvent,
    rows: QuerySet,
    *,
    codes: ControlCodes,
    created_by_label: str,
    posted_at: Callable[[Column], Combinable],
) -> int:
    """``event``'s entries for those of ``rows`` its rule posts (their state, its
    ``when``), as ``posting.post_row`` and ``post_reversal`` would post them one by
    one; a reversal is the reverse of the lines of the entry it undoes (rows that
    have been reclassified since are not for this). ``posted_at`` gives the entries'
    ``posted_at`` from their date. Returns how many entries it wrote."""
    rule = RULES[event]
    plans: list[tuple[Posts | Reverses, tuple[LineRule, ...], QuerySet]]
    if isinstance(rule, Posts):
        plans = [(rule, rule.lines, _posted(rows, rule))]
    elif isinstance(rule, Reverses):
        plans = []
        for undone in rule.undoes:
            posted = RULES[undone]
            if isinstance(posted, Posts) and posted.parts is None:
                undoing = _posted(rows, posted).filter(status__in=rule.states)
                plans.append((rule, tuple(line.reversed for line in posted.lines), undoing))
    else:
        raise ValueError(f"{event} is not posted in bulk")
    written = 0
    for this, lines, selected in plans:
        after_line = JournalLine.objects.aggregate(last=Max("pk"))["last"] or 0
        written += _insert(event, this, lines, selected, codes, created_by_label, posted_at)
        # The invoices' AR-control balances and the journal's tallies, as post_entry
        # keeps them one entry at a time.
        add_ar_lines_after(after_line, codes.ar_control_id)
        journal_tallies.add_lines_after(after_line, event)
    return written


def _posted(rows: QuerySet, rule: Posts) -> QuerySet:
    """The rows that carry ``rule``'s entry."""
    if rule.parts is not None:
        raise ValueError("lines over a row's parts are not posted in bulk")
    rows = rows.filter(status__in=rule.states)
    if any(line.per in (Per.NET, Per.EACH_TAX) for line in rule.lines):
        rows = rows.filter(**{"tax_minor" if rows.model is Invoice else "invoice__tax_minor": 0})
    if rule.when is not None:
        rows = rows.filter(**{f"{rule.when.field}__isnull": not rule.when.is_set})
    return rows


def _insert(
    event: JournalEvent,
    rule: Posts | Reverses,
    lines: tuple[LineRule, ...],
    rows: QuerySet,
    codes: ControlCodes,
    created_by_label: str,
    posted_at: Callable[[Column], Combinable],
) -> int:
    day = _day(rule.date)
    # In date order: the journal's date indexes then grow a page at a time instead of
    # at random places (a batch's dates span years).
    rows = rows.order_by(day, "pk")
    # Entries copy the invoice's currency and account, as post_entry does.
    invoice = "" if rows.model is Invoice else "invoice__"
    source_type = rows.model._meta.label_lower
    approver = getattr(rule, "approver", None)
    shared: dict[str, Column] = {
        "entry_date": day,
        "currency": f"{invoice}currency",
        "invoice_id": f"{invoice}id",
    }
    written = insert_select(
        JournalEntry,
        rows,
        {
            **shared,
            "event": Value(event.value),
            "account_id": f"{invoice}account_id",
            "source_type": Value(source_type),
            "source_id": "pk",
            "sequence": Value(0),
            "memo": memo_sql(rule.memo, invoice=invoice),
            "created_by_label": Value(created_by_label),
            "approved_by_label": approver or Value(""),
            "posted_at": posted_at(day),
        },
    )
    entry = JournalEntry.objects.filter(
        source_type=source_type, source_id=OuterRef("pk"), event=event.value
    )
    line_columns = {**shared, "entry_id": Subquery(entry.order_by().values("pk"))}
    zero = Value(0)
    for line in lines:
        if line.per is Per.EACH_TAX:
            continue  # untaxed rows only (``_posted``): no tax parts
        if line.per not in (Per.ROW, Per.NET):
            raise ValueError("lines over a row's parts are not posted in bulk")
        code = Value(getattr(codes, line.code.name)) if isinstance(line.code, Control) else None
        amount = F(line.amount)
        insert_select(
            JournalLine,
            rows,
            {
                **line_columns,
                "accounting_code_id": code or line.code.name,
                "debit_minor": amount if line.side is Side.DEBIT else zero,
                "credit_minor": amount if line.side is Side.CREDIT else zero,
            },
        )
    return written
