"""Approval limits: the defaults, how a requester's limit is found, who may edit them."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core import checks
from django.core.management import call_command

from billing.actors import Actor
from billing.api.keys import api_key_create
from billing.factories import AccountFactory, InvoiceFactory, UserFactory
from billing.roles import CLERK, CONTROLLER, SUPERVISOR, VIEWER
from writeoffs.approvals.decisions import writeoff_approve
from writeoffs.approvals.limits import (
    approval_limit_minor,
    ensure_default_limits,
    hold_requester,
    within_limit,
)
from writeoffs.factories import DisputeHoldFactory
from writeoffs.lifecycle.create import writeoff_create
from writeoffs.models import ApprovalLimit, WriteOff

pytestmark = pytest.mark.django_db


def _user(*groups, **fields):
    return Actor.for_user(UserFactory(groups=list(groups), **fields))


@pytest.mark.parametrize("currency", ["USD", "EUR"])
def test_defaults_are_the_specs_for_each_currency(currency):
    assert approval_limit_minor(_user(CLERK), currency) == 500_00
    assert approval_limit_minor(_user(SUPERVISOR), currency) == 5_000_00
    assert approval_limit_minor(_user(CONTROLLER), currency) is None


def test_a_currency_without_a_row_has_limit_zero_except_for_the_controller():
    """Issue 26: the controller is unlimited in every currency, with or without a row;
    the other roles' limit in a currency without their row is 0."""
    assert approval_limit_minor(_user(CLERK), "GBP") == 0
    assert approval_limit_minor(_user(SUPERVISOR), "GBP") == 0
    assert approval_limit_minor(_user(CONTROLLER), "GBP") is None
    assert approval_limit_minor(_user(CLERK, CONTROLLER), "GBP") is None


def test_a_controllers_row_for_a_currency_still_applies():
    """The row is the controller's edit (admin, with history): it is honoured."""
    ApprovalLimit.objects.filter(role="controller", currency="EUR").update(limit_minor=90_000_00)
    assert approval_limit_minor(_user(CONTROLLER), "EUR") == 90_000_00
    assert approval_limit_minor(_user(CONTROLLER), "USD") is None


def test_the_controller_approves_a_writeoff_in_a_currency_without_limit_rows():
    """A GBP write-off by a clerk (limit 0 there) goes pending; before, nobody at all
    could approve it, not even the controller."""
    account = AccountFactory(acct_no=8801, currency="GBP")
    invoice = InvoiceFactory(account=account, total_minor=100_00)
    clerk = _user(CLERK)
    pending = writeoff_create(
        invoice_id=invoice.pk, amount="10.00", reason_code=0, comments="x", actor=clerk
    )
    assert pending.status == WriteOff.Status.PENDING
    approved = writeoff_approve(writeoff_id=pending.pk, actor=_user(CONTROLLER))
    assert approved.status == WriteOff.Status.ACTIVE
    assert approved.approved_by is not None


def test_a_user_without_a_limit_role_has_limit_zero():
    assert approval_limit_minor(_user(VIEWER), "USD") == 0
    assert approval_limit_minor(_user(), "USD") == 0


def test_a_users_limit_is_the_highest_of_their_roles():
    assert approval_limit_minor(_user(CLERK, SUPERVISOR), "USD") == 5_000_00
    assert approval_limit_minor(_user(CLERK, CONTROLLER), "USD") is None


def test_a_role_row_set_to_zero_lowers_only_that_role():
    ApprovalLimit.objects.filter(role="supervisor", currency="EUR").update(limit_minor=0)
    both = _user(CLERK, SUPERVISOR)
    assert approval_limit_minor(both, "EUR") == 500_00
    assert approval_limit_minor(both, "USD") == 5_000_00


def test_an_inactive_user_has_limit_zero():
    assert approval_limit_minor(_user(SUPERVISOR, is_active=False), "USD") == 0


@pytest.mark.parametrize(("role", "expected"), [("clerk", 500_00), ("supervisor", 5_000_00)])
def test_an_api_key_has_its_roles_limit(role, expected):
    key, _ = api_key_create(f"key-{role}", role=role)
    assert approval_limit_minor(Actor.for_api_key(key), "USD") == expected


def test_a_revoked_api_key_has_limit_zero():
    key, _ = api_key_create("gone", role="supervisor")
    key.revoked = True
    assert approval_limit_minor(Actor.for_api_key(key), "USD") == 0


def test_the_system_has_no_limit_of_its_own():
    with pytest.raises(ValueError, match="hold creator"):
        approval_limit_minor(Actor.for_system(), "USD")


def test_an_expiry_conversion_is_requested_for_the_holds_creator():
    supervisor = UserFactory(groups=[SUPERVISOR])
    hold = DisputeHoldFactory(created_by=supervisor)
    assert hold_requester(hold).user == supervisor
    assert approval_limit_minor(hold_requester(hold), "USD") == 5_000_00


def test_an_expiry_conversion_of_a_keys_hold_uses_the_keys_limit():
    key, _ = api_key_create("holds", role="clerk")
    hold = DisputeHoldFactory(api_key=key)
    assert approval_limit_minor(hold_requester(hold), "USD") == 500_00


def test_a_hold_with_no_recorded_creator_has_limit_zero():
    assert approval_limit_minor(hold_requester(DisputeHoldFactory()), "USD") == 0


def test_within_limit_is_inclusive_and_none_is_unlimited():
    assert within_limit(500_00, 500_00)
    assert not within_limit(500_00, 500_01)
    assert within_limit(None, 10**15)
    assert not within_limit(0, 1)


def test_defaults_come_back_after_a_flush_but_never_over_existing_rows():
    ApprovalLimit.objects.filter(role="clerk", currency="USD").update(limit_minor=1)
    ensure_default_limits()
    assert ApprovalLimit.objects.get(role="clerk", currency="USD").limit_minor == 1
    ApprovalLimit.objects.all().delete()
    ensure_default_limits()
    assert ApprovalLimit.objects.count() == 6


def test_limit_edits_are_kept_in_history():
    row = ApprovalLimit.objects.get(role="clerk", currency="USD")
    for limit in (750_00, None):
        row.limit_minor = limit
        row.save()
    assert [h.limit_minor for h in row.history.order_by("history_id")] == [750_00, None]


def test_only_the_controller_among_roles_may_edit_limits():
    perms = {
        name: set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))
        for name in (VIEWER, CLERK, SUPERVISOR, CONTROLLER)
    }
    for name in (VIEWER, CLERK, SUPERVISOR):
        assert "change_approvallimit" not in perms[name]
        assert "add_approvallimit" not in perms[name]
    assert {"change_approvallimit", "add_approvallimit"} <= perms[CONTROLLER]
    assert not any(p.startswith("delete_") for p in perms[CONTROLLER])


def test_the_controller_approves_and_creates_settles_reverses_nothing():
    controller = UserFactory(groups=[CONTROLLER])
    assert controller.has_perm("writeoffs.approve_writeoff")
    for perm in (
        "writeoffs.add_writeoff",
        "writeoffs.add_disputehold",
        "writeoffs.settle_disputehold",
        "writeoffs.reverse_writeoff",
        "billing.add_payment",
        "billing.remove_payment",
    ):
        assert not controller.has_perm(perm), perm


def test_supervisors_approve_and_clerks_do_not():
    assert UserFactory(groups=[SUPERVISOR]).has_perm("writeoffs.approve_writeoff")
    assert not UserFactory(groups=[CLERK]).has_perm("writeoffs.approve_writeoff")


class TestAdmin:
    URL = "/admin/writeoffs/approvallimit/"

    def _staff(self, *groups, **fields):
        return UserFactory(groups=list(groups), is_staff=True, **fields)

    def test_controller_edits_a_limit_in_admin(self, client):
        client.force_login(self._staff(CONTROLLER))
        row = ApprovalLimit.objects.get(role="clerk", currency="USD")
        response = client.post(
            f"{self.URL}{row.pk}/change/",
            {"role": "clerk", "currency": "USD", "limit_minor": "60000"},
        )
        assert response.status_code == 302
        row.refresh_from_db()
        assert row.limit_minor == 600_00

    def test_supervisor_cannot_edit_a_limit_in_admin(self, client):
        client.force_login(self._staff(SUPERVISOR))
        row = ApprovalLimit.objects.get(role="clerk", currency="USD")
        response = client.post(
            f"{self.URL}{row.pk}/change/",
            {"role": "clerk", "currency": "USD", "limit_minor": "999999999"},
        )
        assert response.status_code == 403
        row.refresh_from_db()
        assert row.limit_minor == 500_00

    def test_superuser_adds_a_limit_for_a_new_currency(self, client):
        client.force_login(self._staff(is_superuser=True))
        response = client.post(
            f"{self.URL}add/", {"role": "clerk", "currency": "gbp", "limit_minor": "10000"}
        )
        assert response.status_code == 302
        assert ApprovalLimit.objects.get(role="clerk", currency="GBP").limit_minor == 100_00

    def test_a_second_row_for_the_same_role_and_currency_is_refused(self, client):
        client.force_login(self._staff(is_superuser=True))
        response = client.post(
            f"{self.URL}add/", {"role": "clerk", "currency": "USD", "limit_minor": "1"}
        )
        assert response.status_code == 200
        assert ApprovalLimit.objects.filter(role="clerk", currency="USD").count() == 1

    def test_the_limits_screen_warns_of_a_currency_in_use_without_rows(self, client):
        AccountFactory(acct_no=8802, currency="GBP")
        ApprovalLimit.objects.create(role="clerk", currency="GBP", limit_minor=100_00)
        client.force_login(self._staff(CONTROLLER))
        page = client.get(self.URL).content.decode()
        assert "No Billing supervisor approval limit for GBP" in page
        assert "No Billing clerk approval limit for GBP" not in page
        assert "No Finance controller" not in page  # unlimited without a row

    def test_the_limits_screen_has_no_warning_with_every_row(self, client):
        client.force_login(self._staff(CONTROLLER))
        assert "approval limit for" not in client.get(self.URL).content.decode()

    def test_nobody_deletes_a_limit_in_admin(self, client):
        client.force_login(self._staff(is_superuser=True))
        row = ApprovalLimit.objects.get(role="clerk", currency="USD")
        assert client.post(f"{self.URL}{row.pk}/delete/", {"post": "yes"}).status_code == 403
        assert ApprovalLimit.objects.filter(pk=row.pk).exists()


def test_a_users_roles_are_read_once_per_user_object_like_its_permissions(
    django_assert_num_queries,
):
    """The groups are read once per user object (a request's), as Django reads its
    permissions; a later object of the same user (the next request) sees a change."""
    user = UserFactory(groups=[CLERK])
    actor = Actor.for_user(user)
    with django_assert_num_queries(2):  # the groups, then the limits
        assert approval_limit_minor(actor, "USD") == 500_00
    with django_assert_num_queries(1):  # the limits only
        assert approval_limit_minor(actor, "EUR") == 500_00
    user.groups.add(Group.objects.get(name=SUPERVISOR))
    assert approval_limit_minor(actor, "USD") == 500_00
    fresh = Actor.for_user(type(user).objects.get(pk=user.pk))
    assert approval_limit_minor(fresh, "USD") == 5_000_00
    # The limits themselves are read every time: a controller's edit applies at once.
    ApprovalLimit.objects.filter(role="supervisor", currency="USD").update(limit_minor=600_00)
    assert approval_limit_minor(fresh, "USD") == 600_00


# --- configuration warnings (manage.py check) -------------------------------------------


def limit_warnings():
    return [m for m in checks.run_checks() if m.id == "writeoffs.W001"]


def test_the_default_rows_raise_no_warning():
    assert limit_warnings() == []


def test_a_currency_billed_in_without_rows_is_a_warning_per_limited_role():
    AccountFactory(acct_no=8803, currency="GBP")
    warnings = limit_warnings()
    assert [w.level for w in warnings] == [checks.WARNING] * 2
    assert sorted(w.msg for w in warnings) == [
        "No Billing clerk approval limit for GBP: the role's limit there is 0.",
        "No Billing supervisor approval limit for GBP: the role's limit there is 0.",
    ]
    assert "Approval limits" in warnings[0].hint


def test_a_currency_with_only_some_rows_is_a_warning_for_the_missing_roles():
    ApprovalLimit.objects.create(role="supervisor", currency="CHF", limit_minor=1_000_00)
    [warning] = limit_warnings()
    assert warning.msg.startswith("No Billing clerk approval limit for CHF")


def test_manage_py_check_reports_the_warning():
    AccountFactory(acct_no=8804, currency="GBP")
    err = io.StringIO()
    call_command("check", stdout=io.StringIO(), stderr=err)
    assert "writeoffs.W001" in err.getvalue()
