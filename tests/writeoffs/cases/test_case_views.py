"""writeoffs/web/cases.py and case_actions.py: the Cases page, a case's page and the
drawers that work it, over HTTP."""

import datetime

import pytest
from django.urls import reverse

from billing.rules import today
from tests.ledger import assert_ledger_consistent
from writeoffs.cases.open import CaseHold
from writeoffs.models import Case, CaseNote, CaseStatus, DisputeHold, WriteOff

HTMX = {"HTTP_HX_REQUEST": "true"}


def case_url(case, tab=""):
    url = reverse("case_detail", args=[case.number])
    return f"{url}?tab={tab}" if tab else url


@pytest.fixture
def case(open_case):
    return open_case()


# --- the Cases page -------------------------------------------------------------


def test_cases_page_lists_open_cases_with_a_partial_for_htmx(client, viewer, case):
    client.force_login(viewer)
    full = client.get(reverse("case_list"))
    partial = client.get(reverse("case_list"), **HTMX)
    assert full.status_code == partial.status_code == 200
    assert f"Case {case.number}".encode() in full.content
    assert b"<html" in full.content and b"<html" not in partial.content
    assert b'id="case-list"' in partial.content
    assert "HX-Request" in partial["Vary"]


def small(invoice):
    return [CaseHold(invoice_no=invoice.invoice_no, amount="10.00")]


def test_cases_page_filters_mine_unassigned_overdue_category_and_status(
    client, clerk, open_case, assignee, invoice
):
    mine = open_case(assignee_id=clerk.pk, holds=small(invoice))
    theirs = open_case(assignee_id=assignee.pk, category="quality", holds=small(invoice))
    Case.objects.filter(pk=theirs.pk).update(due_date=today() - datetime.timedelta(days=1))
    client.force_login(clerk)

    def shown(query):
        content = client.get(reverse("case_list") + query).content.decode()
        return {n for n in (mine.number, theirs.number) if f"Case {n}<" in content}

    assert shown("?view=mine") == {mine.number}
    assert shown("?view=overdue") == {theirs.number}
    assert shown("?view=unassigned") == set()
    assert shown("?category=quality") == {theirs.number}
    assert shown("?status=in_review") == set()
    assert shown("?view=nonsense") == {mine.number, theirs.number}


def test_cases_page_is_in_the_top_navigation(client, viewer, case):
    client.force_login(viewer)
    assert f'href="{reverse("case_list")}">Cases</a>'.encode() in client.get("/").content


def test_bulk_assign_assigns_every_ticked_case(client, clerk, open_case, assignee, invoice):
    first, second = open_case(holds=small(invoice)), open_case(holds=small(invoice))
    client.force_login(clerk)
    response = client.post(
        reverse("case_bulk_assign"),
        {"cases": [first.pk, second.pk], "assignee": assignee.pk},
        **HTMX,
    )
    assert response.status_code == 204
    assert set(Case.objects.values_list("assignee", flat=True)) == {assignee.pk}


def test_bulk_assign_with_nothing_ticked_says_so(client, clerk, case):
    client.force_login(clerk)
    response = client.post(reverse("case_bulk_assign"), {"assignee": ""})
    assert response.status_code == 302
    follow = client.get(response["Location"])
    assert b"Select at least one case." in follow.content


def test_bulk_assign_is_post_only_and_a_viewer_may_not(client, viewer, clerk):
    client.force_login(viewer)
    assert client.post(reverse("case_bulk_assign"), {}).status_code == 403
    client.force_login(clerk)
    assert client.get(reverse("case_bulk_assign")).status_code == 405


# --- a case's page --------------------------------------------------------------


def test_case_page_shows_holds_and_each_tab_as_a_partial(client, viewer, case):
    client.force_login(viewer)
    page = client.get(case_url(case))
    assert page.status_code == 200
    content = page.content.decode()
    for hold in case.holds.all():
        assert f'id="hold-{hold.pk}"' in content
    for tab in ("timeline", "notes", "attachments"):
        partial = client.get(case_url(case, tab), **HTMX)
        assert partial.status_code == 200
        assert b"<html" not in partial.content
        assert f'id="case-tab-{tab}" class="nav-link active"'.encode() in partial.content


def test_case_timeline_names_events_in_words(client, viewer, case):
    client.force_login(viewer)
    content = client.get(case_url(case, "timeline")).content.decode()
    assert "Case opened (Open)." in content
    assert "on invoice 10023 put on hold" in content
    assert "_" not in content.split('aria-label="Case events, newest first"')[1].split("</ol>")[0]


def test_case_page_needs_sign_in_view_permission_and_get(client, viewer, case):
    from billing.factories import UserFactory

    assert client.get(case_url(case))["Location"].startswith("/login/")
    client.force_login(UserFactory(username="nobody"))
    assert client.get(case_url(case)).status_code == 403
    client.force_login(viewer)
    assert client.post(case_url(case)).status_code == 405
    assert client.get(reverse("case_detail", args=[987654])).status_code == 404


def test_viewer_sees_no_work_buttons_and_gets_403_from_the_drawers(client, viewer, case):
    client.force_login(viewer)
    content = client.get(case_url(case)).content.decode()
    assert "Add note" not in content and "Settle" not in content
    for name in ("case_note_new", "case_assign", "case_status", "case_settle"):
        assert client.get(reverse(name, args=[case.number])).status_code == 403


# --- the drawers ------------------------------------------------------------------


def test_add_note_drawer_adds_a_note(client, clerk, case):
    client.force_login(clerk)
    url = reverse("case_note_new", args=[case.number])
    assert b"<html" not in client.get(url, **HTMX).content
    response = client.post(url, {"text": "Customer sent the contract."}, **HTMX)
    assert response.status_code == 204
    assert case.notes.filter(text="Customer sent the contract.").exists()


def test_an_empty_note_is_refused_next_to_the_field(client, clerk, case):
    client.force_login(clerk)
    before = CaseNote.objects.count()
    response = client.post(reverse("case_note_new", args=[case.number]), {"text": ""}, **HTMX)
    assert response.status_code == 200
    assert b"Nothing was saved" in response.content
    assert CaseNote.objects.count() == before


def test_assign_drawer_assigns(client, clerk, case, assignee):
    client.force_login(clerk)
    response = client.post(
        reverse("case_assign", args=[case.number]), {"assignee": assignee.pk}, **HTMX
    )
    assert response.status_code == 204
    case.refresh_from_db()
    assert case.assignee == assignee


def test_status_drawer_offers_only_allowed_moves_and_changes_it(client, clerk, case):
    client.force_login(clerk)
    url = reverse("case_status", args=[case.number])
    drawer = client.get(url, **HTMX).content.decode()
    assert 'value="in_review"' in drawer and 'value="resolved"' not in drawer
    assert client.post(url, {"status": "in_review"}, **HTMX).status_code == 204
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW


def test_settle_writes_off_part_of_one_hold_and_releases_the_other(
    client, supervisor, case, invoice, second_invoice
):
    first, second = case.holds.order_by("id")
    client.force_login(supervisor)
    url = reverse("case_settle", args=[case.number])
    assert b"Dispute hold" in client.get(url, **HTMX).content
    response = client.post(
        url,
        {
            f"hold_{first.pk}_action": "convert",
            f"hold_{first.pk}_amount": "20.00",
            f"hold_{second.pk}_action": "release",
            "reason_code": "2",
            "revenue_impacting": "on",
            "root_cause": "pricing_error",
            "comments": "Agreed with the customer",
        },
        **HTMX,
    )
    assert response.status_code == 204, response.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    written_off = WriteOff.objects.get(invoice=invoice)
    assert written_off.amount_minor == 2000
    assert not DisputeHold.objects.filter(case=case, status="open").exists()
    assert_ledger_consistent(invoice.pk)
    assert_ledger_consistent(second_invoice.pk)


def test_settle_part_above_the_hold_is_refused_next_to_that_holds_amount(client, supervisor, case):
    first = case.holds.order_by("id").first()
    client.force_login(supervisor)
    response = client.post(
        reverse("case_settle", args=[case.number]),
        {
            f"hold_{first.pk}_action": "convert",
            f"hold_{first.pk}_amount": "60.00",
            "reason_code": "2",
            "revenue_impacting": "on",
        },
        **HTMX,
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert f'href="#id_hold_{first.pk}_amount"' in content
    assert "60.00 is more than dispute hold" in content
    assert DisputeHold.objects.filter(case=case, status="open").count() == 2


def test_settle_with_nothing_chosen_asks_for_an_action(client, supervisor, case):
    client.force_login(supervisor)
    response = client.post(reverse("case_settle", args=[case.number]), {}, **HTMX)
    assert b"Choose what to do with at least one hold." in response.content


def test_a_clerk_may_not_settle(client, clerk, case):
    client.force_login(clerk)
    assert client.get(reverse("case_settle", args=[case.number])).status_code == 403


# --- the counts on the home page and the disputes worklist ------------------------


def test_home_and_worklist_count_open_overdue_unassigned_and_my_cases(
    client, clerk, open_case, invoice
):
    mine = open_case(assignee_id=clerk.pk, holds=small(invoice))
    open_case(holds=small(invoice))
    Case.objects.filter(pk=mine.pk).update(due_date=today() - datetime.timedelta(days=1))
    client.force_login(clerk)
    home = client.get(reverse("home")).context["case_counts"]
    assert (home.open, home.overdue, home.unassigned, home.mine) == (2, 1, 1, 1)
    worklist = client.get(reverse("worklist_disputes")).content.decode()
    assert "2 open</a>" in worklist and "1 overdue</a>" in worklist


# --- the due date drawer ----------------------------------------------------------


def test_due_date_drawer_is_a_partial_for_htmx_and_a_page_without(client, supervisor, case):
    client.force_login(supervisor)
    url = reverse("case_due_date", args=[case.number])
    full, partial = client.get(url), client.get(url, **HTMX)
    assert full.status_code == partial.status_code == 200
    assert b"<html" in full.content and b"<html" not in partial.content
    assert b'name="due_date"' in partial.content
    assert "HX-Request" in partial["Vary"]


def test_due_date_drawer_moves_the_due_date(client, supervisor, case):
    client.force_login(supervisor)
    day = today() + datetime.timedelta(days=30)
    response = client.post(
        reverse("case_due_date", args=[case.number]), {"due_date": day.isoformat()}, **HTMX
    )
    assert response.status_code == 204
    assert "ledgerChanged" in response["HX-Trigger"]
    case.refresh_from_db()
    assert case.due_date == day


def test_due_date_without_htmx_redirects_to_the_case(client, supervisor, case):
    client.force_login(supervisor)
    day = today() + datetime.timedelta(days=5)
    response = client.post(
        reverse("case_due_date", args=[case.number]), {"due_date": day.isoformat()}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(case_url(case))


def test_a_due_date_past_a_year_is_refused_next_to_the_field(client, supervisor, case):
    client.force_login(supervisor)
    before = case.due_date
    day = today() + datetime.timedelta(days=400)
    response = client.post(
        reverse("case_due_date", args=[case.number]), {"due_date": day.isoformat()}, **HTMX
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert 'href="#id_due_date"' in content
    assert "Choose a due date from" in content
    case.refresh_from_db()
    assert case.due_date == before


def test_a_clerk_may_not_move_the_due_date_nor_see_the_control(client, clerk, case):
    client.force_login(clerk)
    url = reverse("case_due_date", args=[case.number])
    assert url not in client.get(case_url(case)).content.decode()
    assert client.get(url).status_code == 403
    assert client.post(url, {"due_date": today().isoformat()}).status_code == 403


def test_a_supervisor_sees_the_due_date_and_reject_controls(client, supervisor, case):
    client.force_login(supervisor)
    content = client.get(case_url(case)).content.decode()
    assert reverse("case_due_date", args=[case.number]) in content
    assert reverse("case_reject", args=[case.number]) in content


def test_due_date_and_reject_need_sign_in_get_or_post_and_a_real_case(client, supervisor, case):
    for name in ("case_due_date", "case_reject"):
        url = reverse(name, args=[case.number])
        client.logout()
        assert client.get(url)["Location"].startswith("/login/")
        client.force_login(supervisor)
        assert client.put(url).status_code == 405
        assert client.get(reverse(name, args=[987654])).status_code == 404


# --- the reject pop-out -----------------------------------------------------------


def test_reject_pop_out_names_the_holds_it_releases(client, supervisor, case):
    client.force_login(supervisor)
    url = reverse("case_reject", args=[case.number])
    full, partial = client.get(url), client.get(url, **HTMX)
    assert full.status_code == partial.status_code == 200
    assert b"<html" in full.content and b"<html" not in partial.content
    assert "HX-Request" in partial["Vary"]
    content = partial.content.decode()
    assert "releases every hold: 2 holds, total 130.00 USD." in content
    assert 'name="reason"' in content


def test_reject_releases_every_hold_and_rejects_the_case(
    client, supervisor, case, invoice, second_invoice
):
    client.force_login(supervisor)
    response = client.post(
        reverse("case_reject", args=[case.number]), {"reason": "Prices were as agreed."}, **HTMX
    )
    assert response.status_code == 204, response.content.decode()
    assert "ledgerChanged" in response["HX-Trigger"]
    case.refresh_from_db()
    assert case.status == CaseStatus.REJECTED
    assert not DisputeHold.objects.filter(case=case, status="open").exists()
    assert case.notes.filter(text__contains="Prices were as agreed.").exists()
    assert_ledger_consistent(invoice.pk)
    assert_ledger_consistent(second_invoice.pk)


def test_reject_without_a_reason_is_refused_next_to_the_field(client, supervisor, case):
    client.force_login(supervisor)
    response = client.post(reverse("case_reject", args=[case.number]), {"reason": ""}, **HTMX)
    assert response.status_code == 200
    assert 'href="#id_reason"' in response.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert DisputeHold.objects.filter(case=case, status="open").count() == 2


def test_a_clerk_may_not_reject_nor_see_the_control(client, clerk, case):
    client.force_login(clerk)
    url = reverse("case_reject", args=[case.number])
    assert url not in client.get(case_url(case)).content.decode()
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "No."}).status_code == 403
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN


def test_a_closed_case_shows_no_reject_or_due_date_control(client, supervisor, case):
    client.force_login(supervisor)
    client.post(reverse("case_reject", args=[case.number]), {"reason": "Refused."}, **HTMX)
    content = client.get(case_url(case)).content.decode()
    assert reverse("case_reject", args=[case.number]) not in content
    assert reverse("case_due_date", args=[case.number]) not in content


def test_reject_refused_by_a_hold_awaiting_approval_says_why_and_changes_nothing(
    client, supervisor, case
):
    first = case.holds.order_by("id").first()
    DisputeHold.objects.filter(pk=first.pk).update(conversion_pending=True)
    client.force_login(supervisor)
    response = client.post(
        reverse("case_reject", args=[case.number]), {"reason": "Refused."}, **HTMX
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Nothing was saved" in content
    assert f"Dispute hold {first.number} has a conversion pending approval" in content
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert DisputeHold.objects.filter(case=case, status="open").count() == 2
    assert not case.notes.filter(text__contains="Refused.").exists()
