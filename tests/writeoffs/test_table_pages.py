"""Deep pages of the Write-offs table: keyset links, the same cost as page 1."""

import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from writeoffs.factories import WriteOffFactory
from writeoffs.models import WriteOff

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def busy_account(account, invoice):
    """Sixty write-offs on one invoice, some reversed: three pages of 25."""
    for n in range(60):
        WriteOffFactory(invoice=invoice, account=account, amount_minor=100 + n)
    WriteOff.objects.filter(pk__in=WriteOff.objects.values_list("pk", flat=True)[::7]).update(
        status=WriteOff.Status.REVERSED,
        reversed_by_label="supervisor",
        reversed_at=timezone.now(),
        reversal_reason="Entered twice.",
    )
    return account


def next_link(response) -> str:
    hrefs = re.findall(
        r'<a class="page-link" href="([^"]+)"[^>]*>Next</a>', response.content.decode()
    )
    assert len(hrefs) == 1
    return html.unescape(hrefs[0])


def shown_ids(response) -> list[int]:
    return [int(n) for n in re.findall(r'data-entry-id="(\d+)"', response.content.decode())]


def test_next_links_walk_the_table_newest_first_with_a_cursor(client, clerk, busy_account):
    client.force_login(clerk)
    url = reverse("writeoff_page", args=[busy_account.acct_no]) + "?tab=writeoffs"

    seen = []
    response = client.get(url, **HTMX)
    for page in (1, 2, 3):
        seen += shown_ids(response)
        if page < 3:
            link = next_link(response)
            assert "after=" in link and f"page={page + 1}" in link
            response = client.get(link, **HTMX)

    assert seen == list(WriteOff.objects.filter(account=busy_account).values_list("pk", flat=True))
    assert "Page 3" in response.content.decode()


def test_a_deep_page_costs_the_queries_page_one_does(
    client, clerk, busy_account, django_assert_num_queries
):
    client.force_login(clerk)
    url = reverse("writeoff_page", args=[busy_account.acct_no]) + "?tab=writeoffs&sort=-amount"
    first = client.get(url, **HTMX)
    second = client.get(next_link(first), **HTMX)
    client.get(url, **HTMX)  # the session and permissions, as on every later request

    with django_assert_num_queries(7):  # with the active total
        client.get(url, **HTMX)
    with django_assert_num_queries(7):  # with the active total
        deep = client.get(next_link(second), **HTMX)

    assert len(shown_ids(deep)) == 10
