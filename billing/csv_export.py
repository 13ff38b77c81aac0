"""The one CSV writer: every CSV file the product produces is written here.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula ("CSV injection"), and much of what an export holds
is text someone typed: an account name, a comment, a memo from an admin's
correction reason, a username. So every text cell goes through :func:`cell`,
which prefixes such a cell with ``'`` (the spreadsheet then shows it literally).
Numbers stay numbers: an ``int`` or ``Decimal`` is written as a plain number
(``-12.50``, never ``'-12.50``), which is why the row builders hand amounts over
as ``Decimal`` and never as text.

It lives at the top of ``billing`` so that every transport of both apps can use it:
the views (:func:`csv_response`, streamed) and any management command that writes a
file (:func:`write_csv`).
"""

from __future__ import annotations

import csv
import datetime
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, Protocol

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

# What a spreadsheet reads as the start of a formula in a text cell.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

CONTENT_TYPE = "text/csv; charset=utf-8"


def cell(value: object) -> str:
    """One value as its CSV cell: numbers as numbers, ``True``/``False`` as
    ``yes``/``no``, dates in ISO 8601, ``None`` as empty, and text guarded against
    being run as a formula."""
    # The common types by their exact type, in one lookup (an export writes millions
    # of cells); a subclass (a lazy or safe string, a bool) takes the checks below.
    by_type = _BY_TYPE.get(type(value))
    if by_type is not None:
        return by_type(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal | float) and math.isfinite(value):
        # Positional, never exponent notation: Decimal("1E+2") is written 100.
        return format(value, "f") if isinstance(value, Decimal) else repr(value)
    if isinstance(value, datetime.date):  # a datetime is a date too
        return value.isoformat()
    return guard(str(value))


def guard(text: str) -> str:
    """Text as a spreadsheet shows it literally: ``'`` before a formula trigger."""
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def _decimal(value: Decimal) -> str:
    # Positional, never exponent notation: Decimal("1E+2") is written 100.
    return format(value, "f") if value.is_finite() else guard(str(value))


_BY_TYPE: dict[type, Callable[[Any], str]] = {
    str: guard,
    int: str,
    Decimal: _decimal,
    datetime.date: datetime.date.isoformat,
    datetime.datetime: datetime.datetime.isoformat,
    type(None): lambda _value: "",
}


def csv_row(values: Iterable[object]) -> list[str]:
    return [cell(value) for value in values]


class _Line:
    """A file-like object whose write returns the line, so csv.writer yields it."""

    def write(self, line: str) -> str:
        return line


def csv_lines(header: Sequence[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The file a line at a time: the header, then one line per row, every cell
    through :func:`cell`. Nothing is held beyond the row being written."""
    writer = csv.writer(_Line())
    yield writer.writerow(csv_row(header))
    for row in rows:
        yield writer.writerow(csv_row(row))


class _TextFile(Protocol):
    def write(self, text: str, /) -> object: ...


def write_csv(file: _TextFile, header: Sequence[str], rows: Iterable[Iterable[object]]) -> None:
    """Write the CSV to an open text file (open it with ``newline=""``)."""
    for line in csv_lines(header, rows):
        file.write(line)


# Lines per chunk of a streamed download: a chunk is encoded and written in one go.
RESPONSE_LINES = 500


def _chunks(lines: Iterable[str]) -> Iterator[str]:
    """``lines`` joined ``RESPONSE_LINES`` at a time: a streamed response costs a
    little per chunk, and a file of a million lines need not pay it a million times."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == RESPONSE_LINES:
            yield "".join(batch)
            batch.clear()
    if batch:
        yield "".join(batch)


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Iterable[object]]
) -> StreamingHttpResponse:
    """A download streamed as the rows are read: an attachment named ``filename``,
    never cached (every export is behind sign-in)."""
    response = StreamingHttpResponse(_chunks(csv_lines(header, rows)), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response
