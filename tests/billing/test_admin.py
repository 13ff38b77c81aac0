"""Django admin: ledger rows are never deleted or silently edited, corrections
land in history, and the actions go through the services."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from billing.actors import Actor
from billing.admin.base import CappedCountPaginator
from billing.factories import AccountingCodeFactory, InvoiceFactory, UserFactory
from billing.models import AccountingCode, ApiKey, Invoice
from billing.receivables.payments import payment_record
from billing.roles import CLERK, SUPERVISOR
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.lifecycle.holds import dispute_hold_create
from writeoffs.models import DisputeHold, WriteOff


@pytest.fixture
def writeoff(invoice, supervisor_actor):
    return writeoff_create(
        invoice_id=invoice.pk,
        amount="30.00",
        reason_code=0,
        comments="Customer bankrupt",
        actor=supervisor_actor,
    )


@pytest.fixture
def hold(invoice, supervisor_actor):
    return dispute_hold_create(
        invoice_id=invoice.pk, amount="20.00", comments="Disputed", actor=supervisor_actor
    )


@pytest.fixture
def payment(invoice, supervisor_actor):
    return payment_record(invoice_id=invoice.pk, amount="10.00", actor=supervisor_actor)


@pytest.fixture
def staff_supervisor(db):
    return UserFactory(username="staff-supervisor", is_staff=True, groups=[SUPERVISOR])


@pytest.fixture
def staff_clerk(db):
    return UserFactory(username="staff-clerk", is_staff=True, groups=[CLERK])


def admin_url(obj, view="change"):
    opts = obj._meta
    name = f"admin:{opts.app_label}_{opts.model_name}_{view}"
    return reverse(name) if view in {"changelist", "add"} else reverse(name, args=[obj.pk])


@pytest.mark.parametrize("row", ["writeoff", "hold", "payment", "invoice"])
def test_ledger_changelist_offers_no_delete_action(admin_client, request, row):
    obj = request.getfixturevalue(row)
    response = admin_client.get(admin_url(obj, "changelist"))
    assert response.status_code == 200
    assert b"delete_selected" not in response.content


@pytest.mark.parametrize("row", ["writeoff", "hold", "payment", "invoice"])
def test_ledger_rows_cannot_be_deleted_or_added_through_admin(admin_client, request, row):
    obj = request.getfixturevalue(row)
    assert admin_client.get(admin_url(obj, "delete")).status_code == 403
    assert admin_client.post(admin_url(obj, "delete"), {"post": "yes"}).status_code == 403
    assert admin_client.get(admin_url(obj, "add")).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_change_form_offers_no_delete_link(admin_client, writeoff):
    response = admin_client.get(admin_url(writeoff))
    assert response.status_code == 200
    assert admin_url(writeoff, "delete").encode() not in response.content


def test_posted_amount_invoice_and_status_of_a_writeoff_are_ignored(admin_client, writeoff):
    other = InvoiceFactory(invoice_no=20001, account=writeoff.account)
    response = admin_client.post(
        admin_url(writeoff),
        {
            "comments": "Customer bankrupt (case 4411)",
            "accounting_code": writeoff.accounting_code_id,
            "amount_minor": "1",
            "invoice": other.pk,
            "status": "reversed",
            "reason_code": "5",
            "reason": "Entered in error",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    writeoff.refresh_from_db()
    assert writeoff.comments == "Customer bankrupt (case 4411)"
    assert writeoff.amount_minor == 3000
    assert writeoff.invoice.invoice_no == 10023
    assert writeoff.status == WriteOff.Status.ACTIVE
    assert writeoff.reason_code == 0
    assert Invoice.objects.get(invoice_no=10023).written_off_minor == 3000
    assert other.writeoffs.count() == 0


def test_posted_totals_of_an_invoice_are_ignored(admin_client, invoice, payment):
    line = invoice.lines.get()
    revenue_code = AccountingCodeFactory(code="4100", name="Services")
    response = admin_client.post(
        admin_url(invoice),
        {
            "revenue_code": revenue_code.pk,
            "total_minor": "999999",
            "paid_minor": "0",
            "held_minor": "5",
            "status": "void",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-id": line.pk,
            "lines-0-invoice": invoice.pk,
            "lines-0-amount_minor": "1",
            "reason": "Entered in error",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    invoice.refresh_from_db()
    line.refresh_from_db()
    assert invoice.revenue_code == revenue_code
    assert (invoice.total_minor, invoice.paid_minor, invoice.held_minor) == (12000, 1000, 0)
    assert invoice.status == Invoice.Status.SENT
    assert line.amount_minor == 12000


def test_comment_correction_is_in_history_with_the_admin_as_actor(admin_client, admin_user, hold):
    response = admin_client.post(
        admin_url(hold),
        {"comments": "Disputed: duplicate charge", "reason": "Entered in error", "_save": "Save"},
    )
    assert response.status_code == 302
    latest = hold.history.order_by("-history_id").first()
    assert latest.comments == "Disputed: duplicate charge"
    assert latest.history_actor == admin_user.username
    assert latest.history_user == admin_user
    # The creation row stays, with its own actor.
    assert hold.history.order_by("history_id").first().comments == "Disputed"
    page = admin_client.get(admin_url(hold, "history"))
    assert page.status_code == 200
    assert admin_user.username.encode() in page.content


def test_comment_correction_with_a_control_character_is_refused(admin_client, writeoff):
    response = admin_client.post(
        admin_url(writeoff),
        {
            "comments": "Bad\x07bell",
            "accounting_code": writeoff.accounting_code_id,
            "reason": "Entered in error",
            "_save": "Save",
        },
    )
    assert response.status_code == 200
    assert b"Illegal characters" in response.content
    writeoff.refresh_from_db()
    assert writeoff.comments == "Customer bankrupt"


def test_reverse_action_asks_for_a_reason_before_reversing(admin_client, writeoff):
    response = admin_client.post(
        admin_url(writeoff, "changelist"),
        {"action": "reverse_selected", "_selected_action": [writeoff.pk]},
    )
    assert response.status_code == 200
    assert b"Reason for the reversal" in response.content
    writeoff.refresh_from_db()
    assert writeoff.status == WriteOff.Status.ACTIVE


def test_reverse_action_without_a_reason_reverses_nothing(admin_client, writeoff):
    response = admin_client.post(
        admin_url(writeoff, "changelist"),
        {"action": "reverse_selected", "_selected_action": [writeoff.pk], "apply": "yes"},
    )
    assert response.status_code == 200
    writeoff.refresh_from_db()
    assert writeoff.status == WriteOff.Status.ACTIVE


def test_reverse_action_reverses_through_the_service_and_restores_the_balance(
    client, staff_supervisor, writeoff
):
    client.force_login(staff_supervisor)
    response = client.post(
        admin_url(writeoff, "changelist"),
        {
            "action": "reverse_selected",
            "_selected_action": [writeoff.pk],
            "apply": "yes",
            "text": "Entered against the wrong invoice",
        },
    )
    assert response.status_code == 302
    writeoff.refresh_from_db()
    assert writeoff.status == WriteOff.Status.REVERSED
    assert writeoff.reversal_reason == "Entered against the wrong invoice"
    assert writeoff.reversed_by == staff_supervisor
    invoice = Invoice.objects.get(pk=writeoff.invoice_id)
    assert invoice.written_off_minor == 0
    assert invoice.balance_due_minor == 12000
    assert writeoff.history.order_by("-history_id").first().history_actor == "staff-supervisor"


def test_reverse_action_reports_each_refused_row_and_reverses_the_rest(
    admin_client, invoice, writeoff, supervisor_actor
):
    from writeoffs.lifecycle.reverse import writeoff_reverse

    second = writeoff_create(
        invoice_id=invoice.pk,
        amount="5.00",
        reason_code=1,
        comments="Goodwill",
        actor=supervisor_actor,
    )
    writeoff_reverse(writeoff_id=writeoff.pk, reason="First attempt", actor=supervisor_actor)
    response = admin_client.post(
        admin_url(writeoff, "changelist"),
        {
            "action": "reverse_selected",
            "_selected_action": [writeoff.pk, second.pk],
            "apply": "yes",
            "text": "Cleanup",
        },
    )
    assert response.status_code == 302
    texts = [m.message for m in get_messages(response.wsgi_request)]
    assert any(f"Write-off {writeoff.pk} was already reversed" in t for t in texts)
    assert any("Reversed 1 write-off(s)" in t for t in texts)
    second.refresh_from_db()
    assert second.status == WriteOff.Status.REVERSED
    writeoff.refresh_from_db()
    assert writeoff.reversal_reason == "First attempt"


def test_release_action_releases_the_hold_and_keeps_the_balance_due(client, staff_supervisor, hold):
    client.force_login(staff_supervisor)
    response = client.post(
        admin_url(hold, "changelist"),
        {
            "action": "release_selected",
            "_selected_action": [hold.pk],
            "apply": "yes",
            "text": "Customer accepted the charge",
        },
    )
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.status == DisputeHold.Status.RELEASED
    assert hold.settlement_comments == "Customer accepted the charge"
    invoice = Invoice.objects.get(pk=hold.invoice_id)
    assert (invoice.held_minor, invoice.balance_due_minor) == (0, 12000)


def test_staff_without_the_supervisor_permissions_cannot_run_the_actions(
    client, staff_clerk, writeoff, hold
):
    client.force_login(staff_clerk)
    changelist = client.get(admin_url(writeoff, "changelist"))
    assert changelist.status_code == 200
    assert b"reverse_selected" not in changelist.content
    client.post(
        admin_url(writeoff, "changelist"),
        {
            "action": "reverse_selected",
            "_selected_action": [writeoff.pk],
            "apply": "yes",
            "text": "Not mine to reverse",
        },
    )
    client.post(
        admin_url(hold, "changelist"),
        {"action": "release_selected", "_selected_action": [hold.pk], "apply": "yes"},
    )
    writeoff.refresh_from_db()
    hold.refresh_from_db()
    assert writeoff.status == WriteOff.Status.ACTIVE
    assert hold.status == DisputeHold.Status.OPEN


def test_staff_with_view_permission_cannot_correct_comments(client, staff_clerk, writeoff):
    client.force_login(staff_clerk)
    client.post(
        admin_url(writeoff),
        {"comments": "Changed by a clerk", "accounting_code": writeoff.accounting_code_id},
    )
    writeoff.refresh_from_db()
    assert writeoff.comments == "Customer bankrupt"


def test_search_by_invoice_number_is_an_exact_match(admin_client, invoice):
    InvoiceFactory(invoice_no=100230, account=invoice.account)
    url = reverse("admin:billing_invoice_changelist")
    found = admin_client.get(url, {"q": "10023"})
    assert [i.invoice_no for i in found.context["cl"].result_list] == [10023]
    by_account = admin_client.get(url, {"q": str(invoice.account.acct_no)})
    assert sorted(i.invoice_no for i in by_account.context["cl"].result_list) == [10023, 100230]
    assert list(admin_client.get(url, {"q": "1002"}).context["cl"].result_list) == []
    assert list(admin_client.get(url, {"q": "acme"}).context["cl"].result_list) == []


def test_writeoff_search_by_invoice_number_finds_its_writeoffs(admin_client, writeoff):
    response = admin_client.get(admin_url(writeoff, "changelist"), {"q": "10023"})
    assert list(response.context["cl"].result_list) == [writeoff]
    assert (
        list(
            admin_client.get(admin_url(writeoff, "changelist"), {"q": "99999"})
            .context["cl"]
            .result_list
        )
        == []
    )


def test_revoke_action_revokes_the_selected_api_keys(admin_client):
    key = ApiKey.objects.create(name="erp", prefix="abcd1234", key_hash="0" * 64)
    response = admin_client.post(
        reverse("admin:billing_apikey_changelist"),
        {"action": "revoke_selected", "_selected_action": [key.pk]},
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked
    assert key.revoked_at is not None
    assert not Actor.for_api_key(key).has_perm("writeoffs.add_writeoff")


def test_api_keys_cannot_be_added_or_deleted_in_admin(admin_client):
    key = ApiKey.objects.create(name="erp", prefix="abcd1234", key_hash="0" * 64)
    assert admin_client.get(reverse("admin:billing_apikey_add")).status_code == 403
    assert admin_client.get(admin_url(key, "delete")).status_code == 403


def test_capped_paginator_counts_no_further_than_its_cap(account):
    for number in range(5):
        InvoiceFactory(invoice_no=30000 + number, account=account)

    class SmallCap(CappedCountPaginator):
        cap = 3

    assert SmallCap(Invoice.objects.order_by("pk"), 2).count == 3
    assert SmallCap(Invoice.objects.filter(invoice_no__lt=30002).order_by("pk"), 2).count == 2


def test_revenue_impacting_writeoff_form_offers_no_accounting_code(admin_client, writeoff):
    response = admin_client.get(admin_url(writeoff))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "accounting_code" not in form.fields
    assert "comments" in form.fields


def test_expense_writeoff_form_offers_only_active_expense_codes(
    admin_client, invoice, supervisor_actor, expense_code
):
    writeoff = writeoff_create(
        invoice_id=invoice.pk,
        amount="10.00",
        reason_code=1,
        comments="Good will",
        actor=supervisor_actor,
        revenue_impacting=False,
        accounting_code_id=expense_code.pk,
    )
    AccountingCodeFactory(code="6900", kind=AccountingCode.Kind.EXPENSE, active=False)
    AccountingCodeFactory(code="4100", name="Services")
    form = admin_client.get(admin_url(writeoff)).context["adminform"].form
    offered = set(form.fields["accounting_code"].queryset)
    assert offered == {expense_code}


def test_expense_code_correction_goes_through_the_service_into_history(
    admin_client, admin_user, invoice, supervisor_actor, expense_code
):
    writeoff = writeoff_create(
        invoice_id=invoice.pk,
        amount="10.00",
        reason_code=1,
        comments="Good will",
        actor=supervisor_actor,
        revenue_impacting=False,
        accounting_code_id=expense_code.pk,
    )
    other = AccountingCodeFactory(code="6200", kind=AccountingCode.Kind.EXPENSE)
    response = admin_client.post(
        admin_url(writeoff),
        {
            "comments": "Good will",
            "accounting_code": other.pk,
            "reason": "Entered in error",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    writeoff.refresh_from_db()
    assert writeoff.accounting_code == other
    latest = writeoff.history.order_by("-history_id").first()
    assert (latest.accounting_code_id, latest.history_actor) == (other.pk, admin_user.username)


def test_invoice_revenue_code_correction_moves_its_revenue_impacting_writeoffs(
    admin_client, invoice, writeoff
):
    revenue_code = AccountingCodeFactory(code="4100", name="Services")
    line = invoice.lines.get()
    response = admin_client.post(
        admin_url(invoice),
        {
            "revenue_code": revenue_code.pk,
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-id": line.pk,
            "lines-0-invoice": invoice.pk,
            "reason": "Entered in error",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    writeoff.refresh_from_db()
    assert writeoff.accounting_code == revenue_code


def test_invoice_form_offers_only_active_revenue_codes(admin_client, invoice, expense_code):
    AccountingCodeFactory(code="4900", active=False)
    form = admin_client.get(admin_url(invoice)).context["adminform"].form
    assert set(form.fields["revenue_code"].queryset) == {invoice.revenue_code}


def test_payment_reference_with_a_control_character_is_refused_next_to_the_field(
    admin_client, payment
):
    response = admin_client.post(
        admin_url(payment), {"reference": "CHK\x07", "reason": "Entered in error", "_save": "Save"}
    )
    assert response.status_code == 200
    assert "reference" in response.context["adminform"].form.errors
    payment.refresh_from_db()
    assert payment.reference == ""


def test_payment_reference_correction_is_in_history_with_the_admin_as_actor(
    admin_client, admin_user, payment
):
    response = admin_client.post(
        admin_url(payment), {"reference": "CHK-2291", "reason": "Entered in error", "_save": "Save"}
    )
    assert response.status_code == 302
    latest = payment.history.order_by("-history_id").first()
    assert (latest.reference, latest.history_actor) == ("CHK-2291", admin_user.username)


# --- issue 15: detail pages lead with what a person reads; one date format ----------


@pytest.mark.parametrize("row", ["writeoff", "hold", "payment"])
def test_ledger_detail_leads_with_invoice_amount_status_and_hides_technical_fields(
    admin_client, request, row
):
    obj = request.getfixturevalue(row)
    html = admin_client.get(admin_url(obj)).content.decode()
    first_fieldset = html.split("<fieldset")[1]
    for label in ("Invoice", "Amount", "Status"):
        assert f">{label}:</label>" in first_fieldset or f">{label}</label>" in first_fieldset, (
            label
        )
    assert "amount_minor" not in first_fieldset and "idempotency" not in first_fieldset
    technical = html.split("Technical details")[1].split("</fieldset>")[0]
    assert "Amount minor" in technical and "Idempotency key" in technical
    assert 'class="module collapse' in html or "<details" in html


def test_admin_shows_dates_in_the_apps_one_format(admin_client, writeoff):
    from django.utils.formats import date_format

    html = admin_client.get(admin_url(writeoff)).content.decode()
    assert date_format(writeoff.writeoff_date) in html
    assert writeoff.writeoff_date.strftime("%b %-d, %Y") in html


def test_bill_date_refusal_names_the_date_in_the_apps_format(invoice, clerk_actor):
    from billing.errors import BillingError

    with pytest.raises(BillingError) as info:
        writeoff_create(
            invoice_id=invoice.pk,
            amount="1",
            reason_code=0,
            comments="x",
            actor=clerk_actor,
            writeoff_date=invoice.bill_date.replace(year=invoice.bill_date.year - 1),
        )
    assert info.value.message.endswith(f"bill date, {invoice.bill_date:%b %-d, %Y}.")


# --- issue 15: history says what changed and why, for seeded rows too -------------


def test_a_correction_without_a_reason_is_refused_next_to_the_reason_field(admin_client, writeoff):
    response = admin_client.post(
        admin_url(writeoff), {"comments": "Bankrupt, case 7", "reason": " ", "_save": "Save"}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["reason"] == ["This field is required."]
    writeoff.refresh_from_db()
    assert writeoff.comments == "Customer bankrupt"


def test_saving_an_unchanged_row_needs_no_reason_and_writes_no_history(admin_client, writeoff):
    before = writeoff.history.count()
    response = admin_client.post(
        admin_url(writeoff), {"comments": "Customer bankrupt", "_save": "Save"}
    )
    assert response.status_code == 302
    assert writeoff.history.count() == before


def test_a_view_only_user_sees_no_correction_reason_field(client, staff_clerk, writeoff):
    client.force_login(staff_clerk)
    page = client.get(admin_url(writeoff))
    assert page.status_code == 200
    assert b'name="reason"' not in page.content


def test_a_seeded_rows_first_change_shows_what_changed_and_why(admin_client, settings):
    from django.core.management import call_command

    settings.DEBUG = True  # seeding a development database
    call_command("seed_billing", "--accounts", "2", "--invoices-per-account", "30", stdout=None)
    seeded = WriteOff.objects.filter(status=WriteOff.Status.ACTIVE).first()
    old_comments = seeded.comments
    response = admin_client.post(
        admin_url(seeded),
        {"comments": "Customer bankrupt, case 7", "reason": "Case number added", "_save": "Save"},
    )
    assert response.status_code == 302
    history = admin_client.get(admin_url(seeded, "history")).content.decode()
    assert "Case number added" in history
    assert f"<strong>Comments</strong>: {old_comments} → Customer bankrupt, case 7" in history
    assert "seed_billing" in history and "Seeded" in history
    assert "was not recorded" not in history


def test_history_of_a_reversal_names_people_and_money_never_deleted_user_pk_none(
    admin_client, writeoff, supervisor_actor
):
    from writeoffs.lifecycle.reverse import writeoff_reverse

    writeoff_reverse(writeoff_id=writeoff.pk, reason="Wrong invoice", actor=supervisor_actor)
    history = admin_client.get(admin_url(writeoff, "history")).content.decode()
    assert "Deleted user" not in history and "pk=None" not in history
    assert f"<strong>Reversed by</strong>: — → {supervisor_actor.user.username}" in history
    invoice_history = admin_client.get(admin_url(writeoff.invoice, "history")).content.decode()
    # The invoice's written-off total, as money, not minor units.
    assert "<strong>Written off</strong>: 30.00 USD → 0.00 USD" in invoice_history


def test_a_row_whose_history_starts_with_a_change_says_its_earlier_state_is_unknown(
    admin_client, writeoff
):
    writeoff.history.filter(history_type="+").delete()  # as for a row older than its history
    WriteOff.objects.filter(pk=writeoff.pk).update(comments="Imported")
    from writeoffs.lifecycle.corrections import writeoff_correct

    writeoff_correct(
        writeoff_id=writeoff.pk,
        actor=Actor.for_user(UserFactory(is_superuser=True)),
        comments="Imported, checked",
        reason="Checked against the contract",
    )
    history = admin_client.get(admin_url(writeoff, "history")).content.decode()
    assert "The state before this change was not recorded." in history
    assert "Checked against the contract" in history


def test_every_history_page_shows_the_changes_of_its_oldest_row(admin_client, writeoff, admin_user):
    from writeoffs.lifecycle.corrections import writeoff_correct

    actor = Actor.for_user(admin_user)
    for n in range(3):
        writeoff_correct(
            writeoff_id=writeoff.pk, actor=actor, comments=f"Note {n}", reason=f"Step {n}"
        )
    from writeoffs.admin import WriteOffAdmin

    per_page = WriteOffAdmin.history_list_per_page
    WriteOffAdmin.history_list_per_page = 2
    try:
        first = admin_client.get(admin_url(writeoff, "history")).content.decode()
    finally:
        WriteOffAdmin.history_list_per_page = per_page
    # Page 1 holds the two newest changes; the older of them is compared with page 2's.
    assert "<strong>Comments</strong>: Note 1 → Note 2" in first
    assert "<strong>Comments</strong>: Note 0 → Note 1" in first


# --- issue 25: no "Revert" on the history of ledger rows ----------------------------


@pytest.mark.parametrize("row", ["writeoff", "hold", "payment", "invoice"])
def test_ledger_history_offers_no_revert_and_refuses_one(admin_client, request, row):
    obj = request.getfixturevalue(row)
    record = obj.history.order_by("history_id").first()
    opts = obj._meta
    url = reverse(
        f"admin:{opts.app_label}_{opts.model_name}_simple_history", args=[obj.pk, record.pk]
    )
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b"Revert" not in page.content
    before = obj.history.count()
    refused = admin_client.post(url, {"_save": "Revert", "comments": "Old", "reason": "Undo"})
    assert refused.status_code == 403
    assert obj.history.count() == before
