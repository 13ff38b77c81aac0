"""Reading an import file: the layouts of SPEC Part 3, a row at a time.

The file is never loaded: its bytes are read a line at a time, decoded strictly as
UTF-8 (a BOM allowed), and handed to ``csv.reader``, so memory does not grow with
the file. What is wrong with the file as a whole (not UTF-8, an empty file, a header
with unknown, missing or repeated columns, no rows) is a ``FileRefused``: nothing is
imported. What is wrong with one row is that row's problem, found later.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO

from billing.models import ImportKind

BOM = "\ufeff"
DATE_FIELDS = ("bill_date", "due_date", "paid_on")
# A date with a time after it, as some exports write every date.
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9:.]+(Z|[+-][0-9:]+| UTC)?")


@dataclass(frozen=True)
class Layout:
    required: tuple[str, ...]
    optional: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional


LAYOUTS: dict[str, Layout] = {
    ImportKind.ACCOUNTS: Layout(
        required=("external_id", "name", "currency"),
        optional=("acct_no", "client_acct_id", "email", "status"),
    ),
    ImportKind.INVOICES: Layout(
        required=(
            "external_id",
            "account_external_id",
            "bill_date",
            "due_date",
            "line_description",
            "line_amount",
        ),
        optional=("invoice_no", "revenue_code", "tax_code", "line_tax_amount", "status"),
    ),
    ImportKind.PAYMENTS: Layout(
        required=("external_id", "invoice_external_id", "amount", "paid_on"),
        optional=("method", "reference"),
    ),
}


class FileRefused(Exception):
    """The file as a whole cannot be imported; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ColumnMapping:
    """Which column of the file each field is read from (``columns``), and the fields
    with one value for the whole file (``fixed``). Without a mapping every field is
    read from the column of its own name, and any other column is refused."""

    columns: Mapping[str, str] = field(default_factory=dict)
    fixed: Mapping[str, str] = field(default_factory=dict)
    dates_from_timestamps: bool = False
    currency_in_capitals: bool = False

    def convert(self, values: dict[str, str]) -> None:
        """The two conversions a mapping may ask for (``ImportMapping``), in place."""
        if self.dates_from_timestamps:
            for name in DATE_FIELDS:
                value = values.get(name, "")
                if _TIMESTAMP.fullmatch(value):
                    values[name] = value[:10]
        if self.currency_in_capitals and "currency" in values:
            values["currency"] = values["currency"].upper()


@dataclass(frozen=True)
class SourceRow:
    """One data row: its number (the header is row 1), its values by field, and the
    column of the file each field came from (to name it in a problem)."""

    number: int
    values: dict[str, str]
    columns: Mapping[str, str]

    def column(self, name: str) -> str:
        return self.columns.get(name, name)


def decoded_lines(binary: Iterable[bytes]) -> Iterator[str]:
    """The file's lines as text, strictly UTF-8, without a leading BOM.

    A line that is not UTF-8 refuses the whole file, naming the line and the first
    bad byte: guessing another encoding would store wrong names without a word.
    """
    for number, raw in enumerate(binary, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            bad = raw[error.start]
            raise FileRefused(
                f"The file is not UTF-8: line {number} has the byte 0x{bad:02X} at position "
                f"{error.start + 1}. Save or export the file as UTF-8 and upload it again."
            ) from None
        if number == 1:
            line = line.removeprefix(BOM)
        yield line


def read_rows(
    binary: IO[bytes] | Iterable[bytes], kind: str, mapping: ColumnMapping | None = None
) -> Iterator[SourceRow]:
    """The data rows of ``binary`` for a file of ``kind``; raises ``FileRefused`` for a
    file that cannot be imported (before its first row, or at its first bad byte)."""
    layout = LAYOUTS[kind]
    reader = csv.reader(decoded_lines(binary), strict=False)
    try:
        header = next(reader)
    except StopIteration:
        raise FileRefused(
            "The file is empty: it needs a header row and at least one row."
        ) from None
    except csv.Error as error:
        raise FileRefused(f"The header row cannot be read as CSV: {error}.") from None
    positions, columns = _positions(header, layout, mapping)
    fixed = dict(mapping.fixed) if mapping else {}
    width = len(header)
    any_rows = False
    number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise FileRefused(f"Row {number + 1} cannot be read as CSV: {error}.") from None
        number += 1
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue  # a blank line
        any_rows = True
        values = dict(fixed)
        if len(cells) != width:
            values["__width__"] = (
                f"This row has {len(cells)} cells and the header has {width}: check its "
                "commas and quotes."
            )
        for name, position in positions.items():
            values[name] = cells[position].strip() if position < len(cells) else ""
        if mapping is not None:
            mapping.convert(values)
        yield SourceRow(number=number, values=values, columns=columns)
    if not any_rows:
        raise FileRefused("The file has a header but no rows: there is nothing to import.")


def _positions(
    header: list[str], layout: Layout, mapping: ColumnMapping | None
) -> tuple[dict[str, int], dict[str, str]]:
    """Each field's position in the row and the file's name for its column."""
    names = [cell.strip() for cell in header]
    if len(names) == 1 and not names[0]:
        raise FileRefused("The file's first row is empty: it must be the header row.")
    seen: set[str] = set()
    repeated = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if repeated:
        raise FileRefused(f"Columns appear more than once: {', '.join(sorted(set(repeated)))}.")
    index = {name: position for position, name in enumerate(names)}
    wanted = (
        {name: name for name in layout.fields}
        if mapping is None
        else {name: column for name, column in mapping.columns.items() if column}
    )
    if mapping is None:
        unknown = [name for name in names if name not in layout.fields]
        if unknown:
            raise FileRefused(
                f"Unknown columns: {', '.join(unknown)}. The columns are "
                f"{', '.join(layout.fields)}; or choose a column mapping."
            )
    else:
        absent = [column for column in wanted.values() if column not in index]
        if absent:
            raise FileRefused(
                f"The mapping names columns this file does not have: {', '.join(absent)}."
            )
    fixed = mapping.fixed if mapping else {}
    missing = [
        name for name in layout.required if name not in fixed and wanted.get(name) not in index
    ]
    if missing:
        raise FileRefused(f"Required columns are missing: {', '.join(missing)}.")
    positions = {name: index[column] for name, column in wanted.items() if column in index}
    columns = {name: column for name, column in wanted.items() if column in index}
    columns.update({name: f"{name} (fixed value)" for name in fixed})
    return positions, columns


def file_header(binary: IO[bytes] | Iterable[bytes]) -> list[str]:
    """The file's header row (the column mapping shows it beside the fields); empty
    for a file that has none or cannot be read."""
    try:
        return [cell.strip() for cell in next(csv.reader(decoded_lines(binary)))]
    except (StopIteration, FileRefused, csv.Error):
        return []
