import datetime

import pytest

from billing.factories import InvoiceFactory
from billing.models import Invoice
from billing.web.pagination import keyset_window

START = datetime.date(2026, 1, 1)


@pytest.fixture
def invoices(account):
    """Eleven invoices on five bill dates, so pages split rows that tie on the date."""
    for n in range(11):
        InvoiceFactory(account=account, bill_date=START + datetime.timedelta(days=n // 3))
    return Invoice.objects.filter(account=account).order_by("-bill_date", "-id")


def walk_forward(queryset, per_page):
    pages, params = [], {}
    while True:
        window = keyset_window(queryset, params, per_page)
        pages.append(window)
        if not window.has_next:
            return pages
        params = {"page": str(window.next_page_number), "after": window.next_cursor}


def test_next_cursors_walk_every_row_once_in_order_across_ties(invoices):
    pages = walk_forward(invoices, per_page=3)

    seen = [invoice.pk for window in pages for invoice in window]
    assert seen == list(invoices.values_list("pk", flat=True))
    assert [window.number for window in pages] == [1, 2, 3, 4]


def test_previous_cursor_returns_the_page_before(invoices):
    pages = walk_forward(invoices, per_page=3)
    last = pages[-1]

    window = keyset_window(
        invoices, {"page": str(last.previous_page_number), "before": last.previous_cursor}, 3
    )

    assert [i.pk for i in window] == [i.pk for i in pages[-2]]
    assert window.number == 3
    assert window.has_next


def test_previous_cursor_back_to_the_start_is_page_one(invoices):
    pages = walk_forward(invoices, per_page=3)

    window = keyset_window(invoices, {"page": "1", "before": pages[1].previous_cursor}, 3)

    assert [i.pk for i in window] == [i.pk for i in pages[0]]
    assert window.number == 1
    assert window.previous_cursor is None


def test_a_deep_page_is_one_query(invoices, django_assert_num_queries):
    pages = walk_forward(invoices, per_page=2)
    deep = pages[-2]

    with django_assert_num_queries(1):
        window = keyset_window(
            invoices, {"page": str(deep.next_page_number), "after": deep.next_cursor}, 2
        )

    assert [i.pk for i in window] == [i.pk for i in pages[-1]]


@pytest.mark.parametrize("cursor", ["junk", "2026-13-40~5", "1~2~3", ""])
def test_a_malformed_cursor_falls_back_to_the_page_number(invoices, cursor):
    window = keyset_window(invoices, {"after": cursor}, 3)

    assert window.number == 1
    assert [i.pk for i in window] == list(invoices.values_list("pk", flat=True)[:3])


def test_an_ordering_that_does_not_end_on_the_key_is_refused(invoices):
    with pytest.raises(ValueError, match="primary key"):
        keyset_window(invoices.order_by("-bill_date"), {}, 3)
