"""What the CSV export of the Write-offs and Disputes tables contains."""

import csv
import datetime
import io

import pytest

from billing.csv_export import csv_response
from billing.factories import InvoiceFactory
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import ApprovalLimit, DisputeHold, WriteOff
from writeoffs.web.exports import DISPUTE_HEADER, WRITEOFF_HEADER, dispute_rows, writeoff_rows


def parse(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def big_invoice(account):
    return InvoiceFactory(account=account, invoice_no=20001, total_minor=250000)


def test_writeoff_csv_has_a_header_plain_decimal_amounts_and_iso_dates(big_invoice, clerk_actor):
    # 1,234.50 is over a clerk's default limit: lift it so the write-off is active.
    ApprovalLimit.objects.filter(role="clerk").update(limit_minor=None)
    writeoff = writeoff_create(
        invoice_id=big_invoice.pk,
        amount="1234.50",
        reason_code=0,
        comments="Uncollectable",
        actor=clerk_actor,
    )

    rows = parse(csv_response("w.csv", WRITEOFF_HEADER, writeoff_rows(WriteOff.objects.all())))

    assert rows[0] == WRITEOFF_HEADER
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Number"] == str(writeoff.pk)
    assert row["Invoice No."] == "20001"
    assert row["Amount"] == "1234.50"
    assert row["Currency"] == "USD"
    assert row["Write-off date"] == writeoff.writeoff_date.isoformat()
    assert row["Reason"] == "Bad Debt"
    assert row["Status"] == "active"
    assert row["Created by"] == "clerk"
    created_at = datetime.datetime.fromisoformat(row["Created at"])
    assert created_at == writeoff.created_at.replace(microsecond=0)


def test_writeoff_csv_shows_a_reversal(invoice, clerk_actor, supervisor_actor):
    writeoff = writeoff_create(
        invoice_id=invoice.pk, amount="10.00", reason_code=2, comments="x", actor=clerk_actor
    )
    writeoff_reverse(writeoff_id=writeoff.pk, reason="Entered twice", actor=supervisor_actor)

    rows = parse(csv_response("w.csv", WRITEOFF_HEADER, writeoff_rows(WriteOff.objects.all())))

    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Status"] == "reversed"
    assert row["Reversed by"] == "supervisor"
    assert row["Reversal reason"] == "Entered twice"
    # Its credit note was cancelled; the number stays with it.
    assert row["Credit note"] == writeoff.credit_note_no != ""


def test_csv_follows_the_order_and_filter_of_the_queryset_it_is_given(invoice, clerk_actor):
    for amount in ("1.00", "2.00", "3.00"):
        writeoff_create(
            invoice_id=invoice.pk, amount=amount, reason_code=0, comments="c", actor=clerk_actor
        )
    queryset = WriteOff.objects.filter(amount_minor__gte=200).order_by("amount_minor")

    rows = parse(csv_response("w.csv", WRITEOFF_HEADER, writeoff_rows(queryset)))

    assert [row[3] for row in rows[1:]] == ["2.00", "3.00"]


def test_dispute_csv_has_expiry_date_and_status(invoice, clerk_actor):
    hold = dispute_hold_create(
        invoice_id=invoice.pk, amount="", comments="Disputed in full", actor=clerk_actor
    )

    rows = parse(csv_response("d.csv", DISPUTE_HEADER, dispute_rows(DisputeHold.objects.all())))

    assert rows[0] == DISPUTE_HEADER
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Number"] == str(hold.pk)
    assert row["Amount"] == "120.00"
    assert row["Expires on"] == hold.expires_on.isoformat()
    assert row["Status"] == "open"
    assert row["Comments"] == "Disputed in full"


# The guard itself (each trigger, numbers, empty cells): tests/billing/test_csv_export.py.


def test_formula_in_comments_is_quoted_in_the_export(invoice, clerk_actor):
    writeoff_create(
        invoice_id=invoice.pk,
        amount="5.00",
        reason_code=5,
        comments='=cmd|"/c calc"!A1',
        actor=clerk_actor,
    )

    rows = parse(csv_response("w.csv", WRITEOFF_HEADER, writeoff_rows(WriteOff.objects.all())))

    assert rows[1][WRITEOFF_HEADER.index("Comments")] == '\'=cmd|"/c calc"!A1'


def test_multiline_comments_stay_in_one_cell(invoice, clerk_actor):
    writeoff_create(
        invoice_id=invoice.pk,
        amount="5.00",
        reason_code=5,
        comments="line one\nline two, with a comma",
        actor=clerk_actor,
    )

    rows = parse(csv_response("w.csv", WRITEOFF_HEADER, writeoff_rows(WriteOff.objects.all())))

    assert len(rows) == 2
    assert rows[1][WRITEOFF_HEADER.index("Comments")] == "line one\nline two, with a comma"


def test_response_is_a_streamed_attachment(db):
    response = csv_response("writeoffs-5001.csv", WRITEOFF_HEADER, iter([]))

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="writeoffs-5001.csv"'
    assert response["Cache-Control"] == "no-store"
    assert parse(response) == [WRITEOFF_HEADER]
