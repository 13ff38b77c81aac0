"""The Account Overview, Invoices, invoice detail and Payments pages, and the Record
Payment drawer and Remove payment pop-out."""

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.actors import Actor
from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.models import Invoice, Payment
from billing.receivables.payments import payment_record, payment_remove
from billing.receivables.timeline import shown_date
from billing.rules import today
from tests.ledger import assert_ledger_consistent
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.models import DisputeHold

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def nobody(db):
    """Signed in, but in no billing group."""
    return UserFactory(username="nobody")


@pytest.fixture
def other_account(db):
    return AccountFactory(acct_no=7007, name="Other Co")


@pytest.fixture
def other_invoice(other_account):
    return InvoiceFactory(account=other_account, invoice_no=70001, total_minor=5000)


def overview_url(account):
    return reverse("account_overview", args=[account.acct_no])


def list_url(account):
    return reverse("invoice_list", args=[account.acct_no])


def detail_url(account, invoice):
    return reverse("invoice_detail", args=[account.acct_no, invoice.invoice_no])


def payment_url(account, invoice):
    return reverse("payment_new", args=[account.acct_no, invoice.invoice_no])


def remove_url(account, payment):
    return reverse("payment_remove", args=[account.acct_no, payment.pk])


def payments_url(account):
    return reverse("payment_list", args=[account.acct_no])


def pay(invoice, actor, amount="20.00", **kwargs):
    return payment_record(invoice_id=invoice.pk, amount=amount, actor=actor, **kwargs)


def put_on_hold(invoice, actor, amount, comments="Disputed"):
    return dispute_hold_create(invoice_id=invoice.pk, amount=amount, comments=comments, actor=actor)


def write_off(invoice, actor, amount, reason_code=0, comments="Uncollectable"):
    return writeoff_create(
        invoice_id=invoice.pk,
        amount=amount,
        reason_code=reason_code,
        comments=comments,
        actor=actor,
    )


# --- access, on every page -------------------------------------------------


@pytest.fixture(params=["overview", "invoices", "detail", "payments", "record", "remove"])
def page_url(request, account, invoice, clerk_actor):
    payment = pay(invoice, clerk_actor)
    return {
        "overview": overview_url(account),
        "invoices": list_url(account),
        "detail": detail_url(account, invoice),
        "payments": payments_url(account),
        "record": payment_url(account, invoice),
        "remove": remove_url(account, payment),
    }[request.param]


def test_anonymous_user_is_sent_to_sign_in(client, page_url):
    response = client.get(page_url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_anonymous_htmx_request_is_redirected_by_header_not_swapped(client, page_url):
    response = client.get(page_url, **HTMX)

    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("login"))


def test_user_without_a_billing_role_gets_403(client, nobody, page_url):
    client.force_login(nobody)

    response = client.get(page_url)

    assert response.status_code == 403


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_wrong_method_gets_405(client, supervisor, page_url, method):
    client.force_login(supervisor)

    response = getattr(client, method)(page_url)

    assert response.status_code == 405


@pytest.mark.parametrize(
    "name", ["account_overview", "invoice_list", "invoice_detail", "payment_list"]
)
def test_read_only_pages_refuse_post(client, supervisor, account, invoice, name):
    client.force_login(supervisor)
    args = [account.acct_no, invoice.invoice_no] if name == "invoice_detail" else [account.acct_no]

    response = client.post(reverse(name, args=args))

    assert response.status_code == 405


def test_unknown_account_is_404(client, viewer, db):
    client.force_login(viewer)

    assert client.get(reverse("account_overview", args=[999999])).status_code == 404
    assert client.get(reverse("invoice_list", args=[999999])).status_code == 404
    assert client.get(reverse("payment_list", args=[999999])).status_code == 404


def test_another_accounts_invoice_is_404(client, supervisor, account, other_invoice):
    client.force_login(supervisor)

    assert client.get(detail_url(account, other_invoice)).status_code == 404
    assert client.get(payment_url(account, other_invoice)).status_code == 404
    response = client.post(payment_url(account, other_invoice), {"amount": "1.00"})
    assert response.status_code == 404
    assert not Payment.objects.exists()


def test_another_accounts_payment_is_404(client, supervisor, account, other_invoice, clerk_actor):
    payment = pay(other_invoice, clerk_actor, amount="10.00")
    client.force_login(supervisor)

    assert client.get(remove_url(account, payment)).status_code == 404
    response = client.post(remove_url(account, payment), {"reason": "wrong"})

    assert response.status_code == 404
    payment.refresh_from_db()
    assert payment.status == Payment.Status.ACTIVE


def test_htmx_404_is_a_message_for_the_drawer(client, supervisor, account, other_invoice):
    client.force_login(supervisor)

    response = client.get(payment_url(account, other_invoice), **HTMX)

    assert response.status_code == 404
    assert response["HX-Retarget"] == "#drawer-content"
    assert b"<html" not in response.content


# --- Account Overview --------------------------------------------------------


def test_overview_shows_balance_due_held_and_this_years_write_offs(
    client, viewer, account, invoice, clerk_actor
):
    second = InvoiceFactory(account=account, invoice_no=10024, total_minor=30000)
    pay(invoice, clerk_actor, amount="20.00")
    write_off(second, clerk_actor, "50.00", 0, "Bad")
    put_on_hold(invoice, clerk_actor, "30.00", "Dispute")
    InvoiceFactory(account=account, invoice_no=10025, total_minor=99900, status="draft")
    client.force_login(viewer)

    response = client.get(overview_url(account))

    assert response.status_code == 200
    totals = response.context["totals"]
    # 120 - 20 paid + 300 - 50 written off; the draft invoice is not due.
    assert str(totals.balance_due) == "350.00"
    assert str(totals.held) == "30.00"
    assert str(totals.written_off_this_year) == "50.00"
    html = response.content.decode()
    assert "350.00" in html
    assert "Latest write-offs" in html
    assert 'aria-current="page">Account Overview' in html


def test_overview_query_count_does_not_grow_with_entries(
    client, viewer, account, django_assert_num_queries, clerk_actor
):
    def add_entries(count):
        for _ in range(count):
            invoice = InvoiceFactory(account=account, total_minor=10000)
            write_off(invoice, clerk_actor, "1.00", 0, "c")
            put_on_hold(invoice, clerk_actor, "1.00", "d")

    client.force_login(viewer)
    add_entries(1)
    with django_assert_num_queries(9):
        assert client.get(overview_url(account)).status_code == 200
    add_entries(49)
    with django_assert_num_queries(9):
        assert client.get(overview_url(account)).status_code == 200


# --- Invoices ----------------------------------------------------------------


@pytest.fixture
def invoice_mix(account, clerk_actor):
    """One invoice per filter: written off, disputed, overdue, paid up, draft."""
    today = datetime.date.today()
    written_off = InvoiceFactory(account=account, invoice_no=30001)
    write_off(written_off, clerk_actor, "10.00", 0, "c")
    disputed = InvoiceFactory(account=account, invoice_no=30002, aging_date=today)
    put_on_hold(disputed, clerk_actor, "10.00", "d")
    overdue = InvoiceFactory(
        account=account, invoice_no=30003, aging_date=today - datetime.timedelta(days=5)
    )
    paid_up = InvoiceFactory(
        account=account, invoice_no=30004, aging_date=today - datetime.timedelta(days=5)
    )
    pay(paid_up, clerk_actor, amount="120.00")
    draft = InvoiceFactory(account=account, invoice_no=30005, status="draft", aging_date=today)
    return {
        "written_off": written_off,
        "disputed": disputed,
        "overdue": overdue,
        "paid_up": paid_up,
        "draft": draft,
    }


def listed(response) -> set[int]:
    return {invoice.invoice_no for invoice in response.context["invoices"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"written_off": "1"}, {30001}),
        ({"disputed": "1"}, {30002}),
        ({"overdue": "1"}, {30001, 30003}),
        ({"status": "draft"}, {30005}),
        ({"q": "30004"}, {30004}),
        ({"written_off": "1", "disputed": "1"}, set()),
        ({}, {30001, 30002, 30003, 30004, 30005}),
    ],
)
def test_invoice_filters(client, viewer, account, invoice_mix, query, expected):
    client.force_login(viewer)

    response = client.get(list_url(account), query)

    assert listed(response) == expected


def test_invoice_list_ignores_a_malformed_filter(client, viewer, account, invoice_mix):
    client.force_login(viewer)

    response = client.get(list_url(account), {"q": "abc", "status": "nonsense", "disputed": "1"})

    assert response.status_code == 200
    assert listed(response) == {30002}


def test_invoice_list_htmx_request_gets_only_the_results(client, viewer, account, invoice_mix):
    client.force_login(viewer)

    full = client.get(list_url(account), {"written_off": "1"})
    partial = client.get(list_url(account), {"written_off": "1"}, **HTMX)

    assert b"<html" in full.content
    assert b'id="invoice-results"' in full.content
    assert b"<html" not in partial.content
    assert partial.content.lstrip().startswith(b'<section id="invoice-results"')
    assert b"30001" in partial.content
    assert "HX-Request" in partial["Vary"]


def test_invoice_list_marks_written_off_disputed_and_overdue(client, viewer, account, invoice_mix):
    client.force_login(viewer)

    html = client.get(list_url(account)).content.decode()

    assert "Written off</span>" in html
    assert "Disputed</span>" in html
    assert "Overdue</span>" in html


def test_invoice_list_paginates(client, viewer, account):
    for number in range(40000, 40030):
        InvoiceFactory(account=account, invoice_no=number)
    client.force_login(viewer)

    first = client.get(list_url(account))
    cursor = first.context["invoices"].next_cursor
    second = client.get(list_url(account), {"page": "2", "after": cursor})

    assert len(first.context["invoices"]) == 25
    assert first.context["invoices"].has_next
    assert len(second.context["invoices"]) == 5
    assert not listed(first) & listed(second)
    assert f"after={cursor}" in first.content.decode()


def test_invoice_list_query_count_is_the_same_for_1_and_50_rows(
    client, viewer, account, django_assert_num_queries
):
    client.force_login(viewer)
    InvoiceFactory(account=account)
    # Seven: the page's six and one for the whole page's "In dispute" flags.
    with django_assert_num_queries(7):
        client.get(list_url(account), {"status": "sent"}, **HTMX)
    for _ in range(49):
        InvoiceFactory(account=account)
    with django_assert_num_queries(7):
        response = client.get(list_url(account), {"status": "sent"}, **HTMX)
    assert len(response.context["invoices"]) == 25


# --- Invoice detail ------------------------------------------------------------


def test_invoice_detail_shows_lines_totals_and_entries(
    client, viewer, account, invoice, clerk_actor
):
    pay(invoice, clerk_actor, amount="20.00", reference="CHK-991")
    put_on_hold(invoice, clerk_actor, "30.00", "Disputed")
    client.force_login(viewer)

    response = client.get(detail_url(account, invoice))

    html = response.content.decode()
    assert "Subscription" in html  # the line
    assert "CHK-991" in html
    assert "Disputed" in html
    for label, value in [
        ("Total", "120.00"),
        ("Paid", "20.00"),
        ("Held", "30.00"),
        ("Balance due", "100.00"),
        ("Available", "70.00"),
    ]:
        assert (
            f'<dt class="col-5{" emphasis" if label == "Balance due" else ""}">{label}</dt>' in html
        )
        assert f"{value} USD</dd>" in html
    # A viewer reads; the buttons for clerks and supervisors are not shown.
    assert "Record Payment" not in html
    assert "Remove payment" not in html


def test_written_off_invoice_is_kept_and_says_how_much_and_when(
    client, viewer, account, invoice, clerk_actor
):
    writeoff = write_off(invoice, clerk_actor, "", 0, "Gone")
    client.force_login(viewer)

    response = client.get(detail_url(account, invoice))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Written off:" in html
    assert "120.00 USD of this invoice was written off" in html
    assert writeoff.writeoff_date.strftime("%b %-d, %Y") in html
    assert f"(write-off {writeoff.pk})" in html
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_history_timeline_lists_every_change_with_its_actor(
    client, viewer, account, invoice, clerk_actor, supervisor_actor
):
    payment = pay(invoice, clerk_actor, amount="20.00")
    payment_remove(payment_id=payment.pk, reason="Bounced cheque", actor=supervisor_actor)
    from writeoffs.lifecycle.holds import dispute_hold_settle
    from writeoffs.lifecycle.reverse import writeoff_reverse

    writeoff = write_off(invoice, clerk_actor, "5.00", 1, "Goodwill")
    writeoff_reverse(writeoff_id=writeoff.pk, reason="Wrong invoice", actor=supervisor_actor)
    hold = put_on_hold(invoice, clerk_actor, "10.00", "Dispute")
    dispute_hold_settle(dispute_hold_id=hold.pk, action="release_reage", actor=supervisor_actor)
    client.force_login(viewer)

    timeline = client.get(detail_url(account, invoice)).context["timeline"]

    described = [(entry.actor, entry.subject, entry.description) for entry in timeline]
    assert (
        "clerk",
        f"Payment {payment.pk}",
        f"Payment of 20.00 USD recorded (paid {shown_date(payment.paid_on)} by check).",
    ) in described
    assert (
        "supervisor",
        f"Payment {payment.pk}",
        "Payment of 20.00 USD removed: Bounced cheque",
    ) in described
    assert (
        "supervisor",
        f"Write-off {writeoff.pk}",
        "Write-off of 5.00 USD reversed: Wrong invoice",
    ) in described
    assert (
        "supervisor",
        f"Dispute hold {hold.pk}",
        "Dispute hold of 10.00 USD released and re-aged.",
    ) in described
    aging = [d for a, s, d in described if s == "Invoice 10023" and "Aging date" in d]
    assert len(aging) == 1
    assert [entry.at for entry in timeline] == sorted((e.at for e in timeline), reverse=True)


def test_history_timeline_shows_each_events_postings(
    client, viewer, account, invoice, clerk_actor, supervisor_actor
):
    from writeoffs.lifecycle.reverse import writeoff_reverse

    payment = pay(invoice, clerk_actor, amount="20.00")
    writeoff = write_off(invoice, clerk_actor, "5.00", 1, "Goodwill")
    writeoff_reverse(writeoff_id=writeoff.pk, reason="Wrong invoice", actor=supervisor_actor)
    client.force_login(viewer)

    response = client.get(detail_url(account, invoice))
    by_subject = {}
    for entry in response.context["timeline"]:
        if entry.postings:
            by_subject.setdefault(entry.subject, []).append(
                [(p.code, p.debit, p.credit) for p in entry.postings]
            )
    d = Decimal
    assert by_subject[f"Payment {payment.pk}"] == [
        [("1000", d("20.00"), None), ("1200", None, d("20.00"))]
    ]
    assert by_subject[f"Write-off {writeoff.pk}"] == [
        [("1200", d("5.00"), None), ("4000", None, d("5.00"))],
        [("4000", d("5.00"), None), ("1200", None, d("5.00"))],
    ]
    assert by_subject["Invoice 10023"] == [
        [("1200", d("120.00"), None), ("4000", None, d("120.00"))]
    ]
    html = response.content.decode()
    assert "Postings of journal entry" in html
    assert "1200 Accounts receivable control" in html


def test_invoice_detail_htmx_refresh_gets_only_the_ledger(client, viewer, account, invoice):
    client.force_login(viewer)

    response = client.get(detail_url(account, invoice), **HTMX)

    assert response.content.lstrip().startswith(b'<div id="invoice-ledger"')
    assert b"<html" not in response.content


def test_invoice_detail_query_count_is_the_same_for_1_and_50_entries(
    client, supervisor, account, invoice, clerk_actor, django_assert_num_queries
):
    invoice.total_minor = 1_000_000
    invoice.save()

    def add_entries(count):
        for _ in range(count):
            pay(invoice, clerk_actor, amount="1.00")
            write_off(invoice, clerk_actor, "1.00", 0, "c")
            put_on_hold(invoice, clerk_actor, "1.00", "d")

    client.force_login(supervisor)
    add_entries(1)
    # Two of them read the journal entries and their lines for the timeline, one is
    # the top bar's count of write-offs (and bulk runs) waiting for a supervisor's
    # approval, three ask what stops a supervisor voiding the invoice (payments,
    # write-offs, holds), one reads the recoveries' history, one asks whether the
    # invoice is in dispute (its flag).
    with django_assert_num_queries(22):
        client.get(detail_url(account, invoice))
    add_entries(49)
    with django_assert_num_queries(22):
        response = client.get(detail_url(account, invoice))
    assert len(response.context["payments"]) == 50


# --- Record Payment --------------------------------------------------------------


def test_record_payment_drawer_for_htmx_and_a_page_without_js(client, clerk, account, invoice):
    client.force_login(clerk)

    drawer = client.get(payment_url(account, invoice), **HTMX)
    page = client.get(payment_url(account, invoice))

    assert b"<html" not in drawer.content
    assert b'id="drawer-title"' in drawer.content
    assert b"Record Payment" in drawer.content
    assert b"<html" in page.content
    assert b'name="idempotency_key"' in page.content


def confirm_url(account, invoice):
    return reverse("payment_confirm", args=[account.acct_no, invoice.invoice_no])


def payment_input(**changes):
    return {
        "paid_on": datetime.date.today().isoformat(),
        "amount": "45.50",
        "method": "bank_transfer",
        "reference": "WIRE-1",
        "idempotency_key": "k-1",
        **changes,
    }


def review_fields(response) -> dict[str, str]:
    """The hidden fields the review pop-out posts to record the payment."""
    html = response.content.decode()
    return {
        name: value
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
        if name != "csrfmiddlewaretoken"
    }


def test_record_payment_opens_a_review_that_records_nothing_yet(client, clerk, account, invoice):
    client.force_login(clerk)

    response = client.post(payment_url(account, invoice), payment_input(), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "HX-Retarget" not in response  # into the pop-out
    assert 'id="popout-title"' in html and "Review: Record Payment" in html
    assert re.search(r'data-testid="review-amount">45\.50 USD', html)
    assert re.search(r'data-testid="review-remaining">74\.50 USD', html)
    assert "Bank transfer" in html and "WIRE-1" in html
    assert review_fields(response) == {
        "paid_on": datetime.date.today().isoformat(),
        "amount": "45.50",
        "method": "bank_transfer",
        "reference": "WIRE-1",
        "idempotency_key": "k-1",
    }
    assert not Payment.objects.exists()


def test_partial_payment_is_recorded_and_the_remaining_balance_announced(
    client, clerk, account, invoice
):
    client.force_login(clerk)
    form = client.get(payment_url(account, invoice), **HTMX).context["payment_form"]
    review = client.post(
        payment_url(account, invoice),
        payment_input(idempotency_key=form.initial["idempotency_key"]),
        **HTMX,
    )

    response = client.post(confirm_url(account, invoice), review_fields(review), **HTMX)

    assert response.status_code == 204
    triggers = response["HX-Trigger"]
    assert json.loads(triggers)["ledgerChanged"] == {
        "kind": "payment",
        "id": Payment.objects.get().pk,
    }
    assert "closeOverlays" in triggers
    assert "Remaining balance: 74.50 USD" in triggers
    invoice.refresh_from_db()
    assert invoice.paid_minor == 4550
    payment = Payment.objects.get()
    assert (payment.method, payment.reference, payment.recorded_by_label) == (
        "bank_transfer",
        "WIRE-1",
        "clerk",
    )
    assert payment.history.get().history_actor == "clerk"
    assert_ledger_consistent(invoice.pk)


def test_payment_without_js_is_reviewed_on_a_page_then_redirects_back_with_a_message(
    client, clerk, account, invoice
):
    client.force_login(clerk)

    review = client.post(payment_url(account, invoice), payment_input(amount="20"))
    assert b"<html" in review.content
    assert b"Review: Record Payment" in review.content
    assert not Payment.objects.exists()
    response = client.post(confirm_url(account, invoice), review_fields(review), follow=True)

    assert response.redirect_chain == [(detail_url(account, invoice), 302)]
    assert "Remaining balance: 100.00 USD" in response.content.decode()
    assert Payment.objects.get().amount_minor == 2000


def test_cancel_in_the_review_returns_to_the_drawer_with_the_input_kept(client, clerk):
    invoice = InvoiceFactory(
        account=AccountFactory(acct_no=5007), invoice_no=50007, total_minor=500000
    )
    client.force_login(clerk)
    review = client.post(
        payment_url(invoice.account, invoice), payment_input(amount="1,045.5", reference="R 7")
    )
    assert b"Review: Record Payment" in review.content
    cancel = re.search(r'href="([^"]+)"[^>]*>Cancel</a>', review.content.decode())
    assert cancel is not None

    drawer = client.get(cancel.group(1).replace("&amp;", "&"))

    html = drawer.content.decode()
    assert 'value="1,045.5"' in html
    assert 'value="R 7"' in html
    assert '<option value="bank_transfer" selected>' in html
    assert "is-invalid" not in html
    assert not Payment.objects.exists()


def test_record_payment_from_the_review_twice_records_one_payment(client, clerk, account, invoice):
    client.force_login(clerk)
    review = client.post(payment_url(account, invoice), payment_input(amount="10.00"), **HTMX)
    fields = review_fields(review)

    client.post(confirm_url(account, invoice), fields, **HTMX)
    client.post(confirm_url(account, invoice), fields, **HTMX)

    assert Payment.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.paid_minor == 1000


def test_payment_above_available_is_refused_and_says_to_release_the_dispute(
    client, clerk, account, invoice, clerk_actor
):
    put_on_hold(invoice, clerk_actor, "100.00", "d")
    client.force_login(clerk)

    response = client.post(payment_url(account, invoice), payment_input(amount="50.00"), **HTMX)

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#drawer-content"
    errors = response.context["payment_form"].errors["amount"]
    assert "more than the 20.00 available on invoice 10023 (balance due 120.00" in errors[0]
    assert "Release the disputed part" in errors[0]
    assert "Release the disputed part" in response.content.decode()
    assert not Payment.objects.exists()


@pytest.mark.parametrize("typed", ["1,50", "2,5", "1.000,00", "1.2.3"])
def test_a_decimal_comma_is_refused_next_to_the_amount_with_no_review(client, clerk, typed):
    invoice = InvoiceFactory(
        account=AccountFactory(acct_no=5005, currency="EUR"), invoice_no=50005, total_minor=50000
    )
    client.force_login(clerk)

    response = client.post(
        payment_url(invoice.account, invoice), payment_input(amount=typed), **HTMX
    )

    html = response.content.decode()
    assert response["HX-Retarget"] == "#drawer-content"
    assert re.search(r'id="id_amount_error".*Use a point for decimals, e\.g\. 1\.50', html, re.S)
    assert "Review: Record Payment" not in html
    assert not Payment.objects.exists()


def test_a_forged_record_with_a_decimal_comma_records_nothing(client, clerk, account, invoice):
    client.force_login(clerk)

    response = client.post(confirm_url(account, invoice), payment_input(amount="1,50"), **HTMX)

    assert response["HX-Retarget"] == "#drawer-content"
    assert "closePopout" in response["HX-Trigger"]
    assert b"Use a point for decimals, e.g. 1.50" in response.content
    assert not Payment.objects.exists()


def test_a_refusal_when_recording_goes_back_to_the_drawer_with_the_input(
    client, clerk, account, invoice, clerk_actor
):
    client.force_login(clerk)
    review = client.post(payment_url(account, invoice), payment_input(amount="100.00"), **HTMX)
    pay(invoice, clerk_actor, "50.00")  # someone else, meanwhile

    response = client.post(confirm_url(account, invoice), review_fields(review), **HTMX)

    html = response.content.decode()
    assert response["HX-Retarget"] == "#drawer-content"
    assert "closePopout" in response["HX-Trigger"]
    assert "more than the balance due of 70.00 on invoice 10023" in html
    assert 'value="100.00"' in html
    assert Payment.objects.count() == 1


def test_a_yen_payment_of_one_thousand_is_typed_as_1000_or_1_comma_000(client, clerk):
    invoice = InvoiceFactory(
        account=AccountFactory(acct_no=5006, currency="JPY"), invoice_no=50006, total_minor=5000
    )
    client.force_login(clerk)
    url = payment_url(invoice.account, invoice)

    refused = client.post(url, payment_input(amount="1.000"), **HTMX)
    review = client.post(url, payment_input(amount="1,000"), **HTMX)

    assert b"JPY amounts have no decimal places" in refused.content
    assert re.search(r'data-testid="review-amount">1,000 JPY', review.content.decode())
    assert review_fields(review)["amount"] == "1000"


def test_confirm_refuses_get_with_405(client, clerk, account, invoice):
    client.force_login(clerk)
    assert client.get(confirm_url(account, invoice)).status_code == 405


@pytest.mark.parametrize("url", [payment_url, confirm_url])
def test_viewer_cannot_record_a_payment(client, viewer, account, invoice, url):
    client.force_login(viewer)

    response = client.post(
        url(account, invoice),
        {"paid_on": "2026-01-01", "amount": "1.00", "method": "check", "idempotency_key": "k"},
        **HTMX,
    )

    assert response.status_code == 403
    assert b"You can" in response.content
    assert not Payment.objects.exists()


# --- Remove payment -----------------------------------------------------------------


def test_remove_popout_for_htmx_and_a_page_without_js(
    client, supervisor, account, invoice, clerk_actor
):
    payment = pay(invoice, clerk_actor, amount="20.00")
    client.force_login(supervisor)

    popout = client.get(remove_url(account, payment), **HTMX)
    page = client.get(remove_url(account, payment))

    assert b'id="popout-title"' in popout.content
    assert b"<html" not in popout.content
    assert b"balance due goes back up to 120.00" in popout.content
    assert b"<html" in page.content


def test_supervisor_removes_a_payment_the_row_stays_and_the_balance_returns(
    client, supervisor, account, invoice, clerk_actor
):
    payment = pay(invoice, clerk_actor, amount="20.00")
    client.force_login(supervisor)

    response = client.post(remove_url(account, payment), {"reason": "Recorded twice"}, **HTMX)

    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"])["ledgerChanged"] == {
        "kind": "payment",
        "id": payment.pk,
    }
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REMOVED
    assert payment.removed_by_label == "supervisor"
    assert payment.removal_reason == "Recorded twice"
    invoice.refresh_from_db()
    assert invoice.paid_minor == 0
    assert invoice.balance_due_minor == 12000
    assert payment.history.latest().history_actor == "supervisor"
    html = client.get(detail_url(account, invoice)).content.decode()
    assert "Removed</span>" in html
    assert "Recorded twice" in html
    assert_ledger_consistent(invoice.pk)


def test_removing_a_payment_needs_a_reason(client, supervisor, account, invoice, clerk_actor):
    payment = pay(invoice, clerk_actor, amount="20.00")
    client.force_login(supervisor)

    response = client.post(remove_url(account, payment), {"reason": "   "}, **HTMX)

    assert response.status_code == 200
    assert response.context["remove_form"].errors["reason"]
    payment.refresh_from_db()
    assert payment.status == Payment.Status.ACTIVE


def test_a_removed_payment_cannot_be_removed_again(
    client, supervisor, account, invoice, clerk_actor, supervisor_actor
):
    payment = pay(invoice, clerk_actor, amount="20.00")
    payment_remove(payment_id=payment.pk, reason="first", actor=supervisor_actor)
    client.force_login(supervisor)

    response = client.post(remove_url(account, payment), {"reason": "again"}, **HTMX)

    assert response.status_code == 200
    assert "already removed" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.paid_minor == 0


def test_clerk_cannot_remove_a_payment(client, clerk, account, invoice, clerk_actor):
    payment = pay(invoice, clerk_actor, amount="20.00")
    client.force_login(clerk)

    response = client.post(remove_url(account, payment), {"reason": "no"}, **HTMX)

    assert response.status_code == 403
    payment.refresh_from_db()
    assert payment.status == Payment.Status.ACTIVE


def test_only_a_supervisor_sees_the_remove_button(
    client, clerk, supervisor, account, invoice, clerk_actor
):
    payment = pay(invoice, clerk_actor, amount="20.00")

    client.force_login(clerk)
    as_clerk = client.get(detail_url(account, invoice)).content.decode()
    client.force_login(supervisor)
    as_supervisor = client.get(detail_url(account, invoice)).content.decode()

    assert f'aria-label="Remove payment {payment.pk}"' not in as_clerk
    assert "Record Payment" in as_clerk
    assert f'aria-label="Remove payment {payment.pk}"' in as_supervisor


# --- Payments page --------------------------------------------------------------------


def test_payments_page_lists_the_accounts_payments_including_removed(
    client, viewer, account, invoice, other_invoice, clerk_actor, supervisor_actor
):
    kept = pay(invoice, clerk_actor, amount="20.00")
    removed = pay(invoice, clerk_actor, amount="30.00")
    payment_remove(payment_id=removed.pk, reason="Mistake", actor=supervisor_actor)
    pay(other_invoice, clerk_actor, amount="5.00")
    client.force_login(viewer)

    response = client.get(payments_url(account))

    assert {p.pk for p in response.context["payments"]} == {kept.pk, removed.pk}
    html = response.content.decode()
    assert "Mistake" in html
    assert 'aria-current="page">Payments' in html


def test_payments_page_htmx_partial_and_query_count(
    client, viewer, account, clerk_actor, django_assert_num_queries
):
    client.force_login(viewer)
    invoice = InvoiceFactory(account=account, total_minor=1_000_000)
    pay(invoice, clerk_actor, amount="1.00")
    with django_assert_num_queries(6):
        response = client.get(payments_url(account), **HTMX)
    assert response.content.lstrip().startswith(b'<section id="payment-results"')
    for _ in range(49):
        pay(invoice, clerk_actor, amount="1.00")
    with django_assert_num_queries(6):
        response = client.get(payments_url(account), **HTMX)
    assert len(response.context["payments"]) == 25


def test_service_refuses_removal_by_a_clerk_even_without_the_view(invoice, clerk_actor):
    from billing.errors import BillingError

    payment = pay(invoice, clerk_actor)

    with pytest.raises(BillingError) as refused:
        payment_remove(payment_id=payment.pk, reason="x", actor=Actor.for_user(clerk_actor.user))

    assert refused.value.code == 1003


def test_clerk_can_write_off_or_dispute_from_the_invoice_and_a_viewer_cannot(
    client, clerk, viewer, account, invoice
):
    entry = reverse("writeoff_entry", args=[account.acct_no, invoice.invoice_no])
    dispute = reverse("dispute_entry", args=[account.acct_no, invoice.invoice_no])

    client.force_login(clerk)
    as_clerk = client.get(detail_url(account, invoice)).content.decode()
    client.force_login(viewer)
    as_viewer = client.get(detail_url(account, invoice)).content.decode()

    assert entry in as_clerk and dispute in as_clerk
    assert entry not in as_viewer and dispute not in as_viewer


def test_no_write_off_link_once_nothing_is_available(client, clerk, account, invoice, clerk_actor):
    write_off(invoice, clerk_actor, "")
    client.force_login(clerk)

    html = client.get(detail_url(account, invoice)).content.decode()

    assert reverse("writeoff_entry", args=[account.acct_no, invoice.invoice_no]) not in html
    assert "Record Payment</a>" not in html


@pytest.mark.parametrize("page", ["overview", "invoice"])
def test_an_open_hold_past_its_expiry_shows_expired_and_a_current_one_open(
    client, viewer, account, invoice, clerk_actor, page
):
    expired = put_on_hold(invoice, clerk_actor, "30.00", "Dispute")
    current = put_on_hold(invoice, clerk_actor, "10.00", "Second dispute")
    DisputeHold.objects.filter(pk=expired.pk).update(
        expires_on=today() - datetime.timedelta(days=1)
    )
    client.force_login(viewer)
    url = overview_url(account) if page == "overview" else detail_url(account, invoice)

    html = client.get(url).content.decode()

    rows = {
        hold.pk: html.split(f"<td>{hold.number}</td>")[1].split("</tr>")[0]
        for hold in (expired, current)
    }
    assert "Expired" in rows[expired.pk]
    assert "Expired" not in rows[current.pk]
    assert "Open" in rows[current.pk]


# --- issue 15: the payment drawer follows the entry drawers' pattern -----------------


def test_payment_method_has_no_preselected_value_and_must_be_chosen(
    client, clerk, account, invoice
):
    client.force_login(clerk)
    drawer = client.get(payment_url(account, invoice), **HTMX).content.decode()
    assert '<option value="" selected>Choose a method</option>' in drawer
    form = client.get(payment_url(account, invoice), **HTMX).context["payment_form"]
    response = client.post(
        payment_url(account, invoice),
        {
            "paid_on": datetime.date.today().isoformat(),
            "amount": "10",
            "method": "",
            "idempotency_key": form.initial["idempotency_key"],
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert "method" in response.context["payment_form"].errors
    assert not Payment.objects.exists()


def test_refused_payment_promises_no_remaining_balance_and_lists_the_error_on_top(
    client, clerk, account, invoice
):
    client.force_login(clerk)
    form = client.get(payment_url(account, invoice), **HTMX).context["payment_form"]
    response = client.post(
        payment_url(account, invoice),
        {
            "paid_on": datetime.date.today().isoformat(),
            "amount": "500",
            "method": "check",
            "idempotency_key": form.initial["idempotency_key"],
        },
        **HTMX,
    )
    html = response.content.decode()
    hint = html.split('id="payment-remaining"')[1].split("</p>")[0]
    assert "Remaining balance after this payment" not in hint
    assert "up to 120.00 USD can be paid" in hint
    assert html.index("error-summary") < html.index('id="id_amount"')
    assert 'data-focus-field="id_amount"' in html


def test_payment_drawer_has_the_entry_drawers_summary_and_footer(client, clerk, account, invoice):
    client.force_login(clerk)
    html = client.get(payment_url(account, invoice), **HTMX).content.decode()
    assert 'aria-labelledby="summary-title"' in html  # the invoice summary panel
    for figure in ("Total", "Paid", "Written off", "Held", "Balance due", "Available"):
        assert f">{figure}</dt>" in html
    footer = html.split('<div class="drawer-footer">')[1]
    assert footer.index("Cancel") < footer.index("Record Payment")
    assert "Full balance (120.00)" in html


def test_invoice_page_says_create_a_write_off_like_the_write_offs_page(
    client, clerk, account, invoice
):
    client.force_login(clerk)
    html = client.get(detail_url(account, invoice)).content.decode()
    assert "Create a Write-off</a>" in html
    assert "Write Off Invoice" not in html
