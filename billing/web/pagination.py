"""Pagination without a COUNT.

A ledger table can hold millions of rows; counting them on every page view costs
more than the page itself. A page fetches one row more than it shows, which is
enough to know whether there is a next page, in a single query.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Q, QuerySet

from billing.parsing import is_ascii_digits

# Beyond this page number a user should search, not page; it also bounds the OFFSET.
MAX_PAGE = 1000


@dataclass(frozen=True)
class PageWindow:
    items: list[Any]
    number: int
    has_next: bool
    # Keyset pages (``keyset_window``) link by the rows at their edges; the page
    # number is then only shown. ``None`` on OFFSET pages.
    next_cursor: str | None = None
    previous_cursor: str | None = None

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def page_number(raw: object) -> int:
    """A page number from a query string; anything that is not one means page 1."""
    if isinstance(raw, str) and is_ascii_digits(raw):
        return max(1, min(int(raw), MAX_PAGE))
    return 1


def page_window(queryset: QuerySet | Sequence[Any], raw_page: object, per_page: int) -> PageWindow:
    number = page_number(raw_page)
    start = (number - 1) * per_page
    rows = list(queryset[start : start + per_page + 1])
    return PageWindow(items=rows[:per_page], number=number, has_next=len(rows) > per_page)


# --- Keyset pages ---------------------------------------------------------------
# An OFFSET reads and throws away every row before the page: page 2,000 of a busy
# account's write-offs reads 50,000 index entries first. A keyset page starts from
# the last row of the page before it (``after``) or the first row of the page after
# it (``before``), so every page is one index range scan however deep it is.

CURSOR_SEPARATOR = "~"


def _ordering(queryset: QuerySet) -> list[tuple[str, bool]]:
    """The queryset's ORDER BY as (field, descending); it must end on the primary key."""
    ordering = [
        ("id" if name.lstrip("-") == "pk" else name.lstrip("-"), name.startswith("-"))
        for name in map(str, queryset.query.order_by)
    ]
    if not ordering or ordering[-1][0] != "id":
        raise ValueError("A keyset page needs an ordering that ends on the primary key.")
    return ordering


def keyset_cursor(row: Any, ordering: list[tuple[str, bool]]) -> str:
    values = (getattr(row, name) for name, _ in ordering)
    return CURSOR_SEPARATOR.join(
        v.isoformat() if isinstance(v, datetime.date) else str(v) for v in values
    )


def _decode(raw: object, queryset: QuerySet, ordering: list[tuple[str, bool]]) -> list | None:
    if not isinstance(raw, str) or not raw:
        return None
    parts = raw.split(CURSOR_SEPARATOR)
    if len(parts) != len(ordering):
        return None
    meta = queryset.model._meta
    try:
        return [
            meta.get_field(name).to_python(part)
            for (name, _), part in zip(ordering, parts, strict=True)
        ]
    except (ValidationError, ValueError):
        return None


def _beyond(ordering: list[tuple[str, bool]], values: list, forward: bool) -> Q:
    """Rows strictly after ``values`` in the queryset's order (before it, if not ``forward``)."""
    (name, descending), *rest = ordering
    op = "lt" if descending == forward else "gt"
    if not rest:
        return Q(**{f"{name}__{op}": values[0]})
    # The inclusive bound on the leading column is what lets the index start at the
    # cursor; the OR after it only separates rows that tie on that column.
    return Q(**{f"{name}__{op}e": values[0]}) & (
        Q(**{f"{name}__{op}": values[0]}) | _beyond(rest, values[1:], forward)
    )


def _shown_page(raw: object) -> int:
    return int(raw) if isinstance(raw, str) and is_ascii_digits(raw) and int(raw) > 0 else 1


def _rows(queryset: QuerySet, start: int, stop: int) -> list[Any]:
    """Rows ``start:stop`` of ``queryset``; on PostgreSQL, picked by key in a subquery first.

    The subquery reads only the index that serves the filter and the order. Asked for
    whole rows at once, PostgreSQL may instead walk the primary key backwards through
    every other account's newer rows, assuming this account's are spread evenly among
    them; for an account whose entries are all old, that is the whole table. SQLite's
    planner takes the account's index anyway, and the subquery would only add to it.
    """
    if connections[queryset.db].vendor != "postgresql" or queryset.query.annotations:
        return list(queryset[start:stop])
    keys = queryset.values("pk")[start:stop]
    # The outer query repeats none of the filters: with them, PostgreSQL estimates the
    # account's rows again and may scan the table to join them to the keys.
    chosen = queryset.model._base_manager.filter(pk__in=keys).order_by(*queryset.query.order_by)
    if not queryset.query.standard_ordering:
        chosen = chosen.reverse()
    chosen.query.select_related = queryset.query.select_related
    chosen.query.deferred_loading = queryset.query.deferred_loading
    return list(chosen)


def keyset_window(queryset: QuerySet, params: Mapping[str, str], per_page: int) -> PageWindow:
    """A page of ``queryset`` from the ``after``/``before`` cursor in ``params``.

    Without a cursor it is page 1, or an OFFSET page from an old link (as
    ``page_window``). Either way the page carries cursors for its Previous and Next links.
    """
    ordering = _ordering(queryset)
    after = _decode(params.get("after"), queryset, ordering)
    before = None if after else _decode(params.get("before"), queryset, ordering)
    if after is not None:
        rows = _rows(queryset.filter(_beyond(ordering, after, forward=True)), 0, per_page + 1)
        items, has_next = rows[:per_page], len(rows) > per_page
        number = max(_shown_page(params.get("page")), 2)
    elif before is not None:
        backwards = queryset.filter(_beyond(ordering, before, forward=False)).reverse()
        rows = _rows(backwards, 0, per_page + 1)
        items, has_next = rows[:per_page][::-1], True
        number = max(_shown_page(params.get("page")), 2) if len(rows) > per_page else 1
    else:
        number = page_number(params.get("page"))
        start = (number - 1) * per_page
        rows = _rows(queryset, start, start + per_page + 1)
        items, has_next = rows[:per_page], len(rows) > per_page
    return PageWindow(
        items=items,
        number=number,
        has_next=has_next,
        next_cursor=keyset_cursor(items[-1], ordering) if has_next and items else None,
        previous_cursor=keyset_cursor(items[0], ordering) if number > 1 and items else None,
    )
