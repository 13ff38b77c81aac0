"""The one CSV writer: the formula guard, the rows it writes and the download it streams."""

import csv
import datetime
import io
from decimal import Decimal

import pytest

from billing.csv_export import FORMULA_TRIGGERS, cell, csv_lines, csv_response, guard, write_csv


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_a_text_cell_starting_with_each_trigger_is_prefixed(trigger):
    text = trigger + 'HYPERLINK("http://x")'
    assert cell(text) == "'" + text
    assert guard(text) == "'" + text


def test_the_triggers_are_the_six_the_spec_names():
    assert set(FORMULA_TRIGGERS) == {"=", "+", "-", "@", "\t", "\r"}


@pytest.mark.parametrize(
    "text", ["=HYPERLINK(1)", "+1", "-2+3", "@SUM(1)", "\tx", "\rx", '=cmd|"/c calc"!A1']
)
def test_formulas_people_type_are_quoted(text):
    assert cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Customer paid late", "1-2", "a=b", " =x", "'=x", "\n=x"])
def test_ordinary_text_is_unchanged(text):
    # Only the first character counts; a formula trigger later in the text is inert.
    assert cell(text) == text


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (Decimal("-12.50"), "-12.50"),
        (Decimal("-0.01"), "-0.01"),
        (Decimal("1234.56"), "1234.56"),
        (Decimal("0.00"), "0.00"),
        (Decimal("-5"), "-5"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1E-7"), "0.0000001"),
        (-3, "-3"),
        (0, "0"),
        (10023, "10023"),
        (-1.5, "-1.5"),
    ],
)
def test_numbers_stay_numbers_even_negative(value, written):
    assert cell(value) == written


@pytest.mark.parametrize("value", [Decimal("-Infinity"), float("-inf")])
def test_a_value_that_is_not_a_finite_number_is_guarded_as_text(value):
    assert cell(value).startswith("'-")


def test_none_and_empty_are_empty_cells():
    assert cell(None) == ""
    assert cell("") == ""


def test_dates_booleans_and_other_objects():
    assert cell(datetime.date(2024, 2, 29)) == "2024-02-29"
    moment = datetime.datetime(2024, 2, 29, 13, 5, 9, tzinfo=datetime.UTC)
    assert cell(moment) == "2024-02-29T13:05:09+00:00"
    assert cell(True) == "yes"
    assert cell(False) == "no"

    class Named:
        def __str__(self) -> str:
            return "=evil()"

    assert cell(Named()) == "'=evil()"


def test_rows_are_written_with_every_cell_guarded_and_multiline_text_in_one_cell():
    lines = list(
        csv_lines(
            ["Name", "Amount", "Note"],
            [
                ['=HYPERLINK("http://x")', Decimal("-12.50"), "line one\nline two, with a comma"],
                [None, 7, "+1"],
            ],
        )
    )

    assert len(lines) == 3  # the header, then one line per row
    assert parse("".join(lines)) == [
        ["Name", "Amount", "Note"],
        ['\'=HYPERLINK("http://x")', "-12.50", "line one\nline two, with a comma"],
        ["", "7", "'+1"],
    ]


def test_rows_are_read_one_at_a_time_as_the_file_streams():
    read = []

    def rows():
        for n in range(3):
            read.append(n)
            yield [n]

    lines = csv_lines(["n"], rows())
    assert next(lines) == "n\r\n"
    assert read == []
    assert next(lines) == "0\r\n"
    assert read == [0]


def test_write_csv_writes_the_same_guarded_file_to_an_open_file():
    file = io.StringIO(newline="")
    write_csv(file, ["Memo"], [["@SUM(1)"], ["plain"]])
    assert parse(file.getvalue()) == [["Memo"], ["'@SUM(1)"], ["plain"]]


def test_the_response_is_a_streamed_uncached_attachment():
    response = csv_response("writeoffs-5001.csv", ["A"], iter([["-x"]]))

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="writeoffs-5001.csv"'
    assert response["Cache-Control"] == "no-store"
    assert parse(b"".join(response.streaming_content).decode()) == [["A"], ["'-x"]]


def test_subclasses_of_the_common_types_are_written_as_their_parents():
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext_lazy

    class Amount(Decimal):
        pass

    assert cell(mark_safe("=1+1")) == "'=1+1"  # a SafeString is a str
    assert cell(gettext_lazy("-lazy")) == "'-lazy"
    assert cell(Amount("1E+2")) == "100"
    assert cell(Decimal("NaN")) == "NaN"


def test_a_streamed_response_sends_many_lines_per_chunk_and_every_line_once():
    from billing.csv_export import RESPONSE_LINES

    rows = [[n, f"-{n}"] for n in range(2 * RESPONSE_LINES + 7)]
    response = csv_response("many.csv", ["n", "text"], iter(rows))
    chunks = list(response.streaming_content)

    assert len(chunks) == 3  # the header and 2 * RESPONSE_LINES + 7 lines, 500 a chunk
    assert parse(b"".join(chunks).decode()) == [["n", "text"]] + [
        [str(n), f"'-{n}"] for n in range(2 * RESPONSE_LINES + 7)
    ]
