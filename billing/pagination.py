"""Pagination without a COUNT.

A ledger table can hold millions of rows; counting them on every page view costs
more than the page itself. A page fetches one row more than it shows, which is
enough to know whether there is a next page, in a single query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

# Beyond this page number a user should search, not page; it also bounds the OFFSET.
MAX_PAGE = 1000


@dataclass(frozen=True)
class PageWindow:
    items: list[Any]
    number: int
    has_next: bool

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
    if isinstance(raw, str) and raw.isdigit():
        return max(1, min(int(raw), MAX_PAGE))
    return 1


def page_window(queryset: QuerySet, raw_page: object, per_page: int) -> PageWindow:
    number = page_number(raw_page)
    start = (number - 1) * per_page
    rows = list(queryset[start : start + per_page + 1])
    return PageWindow(items=rows[:per_page], number=number, has_next=len(rows) > per_page)
