"""Django admin for write-offs and dispute holds.

Both are immutable ledger rows: no add, no delete, amounts and invoices
read-only. Comments (and the expense code of a write-off that is not
revenue-impacting) may be corrected through the correction services, and the
correction shows in history. Reversing a write-off and releasing a dispute
hold are admin actions that call the services, row by row.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from billing.admin.base import (
    CorrectionForm,
    LedgerAdmin,
    ReadableHistoryMixin,
    confirm_ledger_action,
)
from billing.models import AccountingCode
from billing.money import minor_money_text
from writeoffs.approvals.limits import missing_limit_message, missing_limit_rows
from writeoffs.cases.resolution import case_reject
from writeoffs.cases.work import case_change_status
from writeoffs.lifecycle.corrections import (
    dispute_hold_correct,
    dispute_hold_correction_plan,
    writeoff_correct,
    writeoff_correction_plan,
)
from writeoffs.lifecycle.holds import dispute_hold_settle
from writeoffs.lifecycle.reverse import writeoff_reverse
from writeoffs.models import (
    ApprovalLimit,
    BulkRun,
    BulkRunItem,
    Case,
    CaseCategory,
    CaseNote,
    CaseStatus,
    CaseStatusChange,
    DisputeHold,
    ProvisionRate,
    ProvisionRun,
    RootCause,
    Settlement,
    Source,
    WriteOff,
)


class WriteOffAdminForm(CorrectionForm):
    class Meta:
        model = WriteOff
        fields = ["comments", "accounting_code"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "accounting_code" in self.fields:
            # Offered only for a write-off that is not revenue-impacting (see
            # WriteOffAdmin.get_editable_fields): exactly the codes the service takes.
            codes = cast(forms.ModelChoiceField, self.fields["accounting_code"])  # a ForeignKey's
            codes.queryset = AccountingCode.objects.filter(
                kind=AccountingCode.Kind.EXPENSE, active=True
            )
            self.fields["accounting_code"].required = True

    def changes(self) -> dict[str, Any]:
        changes = super().changes()
        if "accounting_code" in changes:
            code = changes.pop("accounting_code")
            changes["accounting_code_id"] = code.pk if code else None
        return changes

    def plan(self, changes: dict[str, Any]) -> object:
        return writeoff_correction_plan(writeoff=self.instance, actor=self.actor, **changes)

    def correct(self, changes: dict[str, Any]) -> object:
        return writeoff_correct(writeoff_id=self.instance.pk, actor=self.actor, **changes)


@admin.register(WriteOff)
class WriteOffAdmin(LedgerAdmin):
    form = WriteOffAdminForm
    list_display = [
        "id",
        "invoice",
        "account",
        "writeoff_date",
        "amount_display",
        "reason_code",
        "status",
        "created_by_label",
    ]
    list_filter = ["status", "reason_code", "source", "revenue_impacting"]
    list_select_related = ["invoice", "account"]
    number_search_fields = ("id", "invoice__invoice_no", "account__acct_no")
    search_help_text = "Exact write-off number, invoice number or account number."
    editable_fields = ("comments", "accounting_code")
    display_fields = ("amount_display",)
    lead_fields = (
        "invoice",
        "amount_display",
        "status",
        "reason_code",
        "writeoff_date",
        "comments",
    )
    actions = ["reverse_selected"]

    def get_editable_fields(self, obj) -> tuple[str, ...]:
        # A revenue-impacting write-off's code follows its invoice's revenue code.
        if obj is not None and obj.revenue_impacting:
            return ("comments",)
        return self.editable_fields

    @admin.display(description="amount", ordering="amount_minor")
    def amount_display(self, writeoff: WriteOff) -> str:
        return minor_money_text(writeoff.amount_minor, writeoff.invoice.currency)

    def has_reverse_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("writeoffs.reverse_writeoff")

    @admin.action(description="Reverse selected write-offs", permissions=["reverse"])
    def reverse_selected(self, request: HttpRequest, queryset):
        return confirm_ledger_action(
            self,
            request,
            queryset.select_related("invoice"),
            action="reverse_selected",
            title="Reverse write-offs",
            label="Reason for the reversal",
            required=True,
            apply=lambda writeoff, actor, reason: writeoff_reverse(
                writeoff_id=writeoff.pk, reason=reason, actor=actor
            ),
            done="Reversed {count} write-off(s); their amounts are due again.",
        )


class DisputeHoldAdminForm(CorrectionForm):
    class Meta:
        model = DisputeHold
        fields = ["comments"]

    def plan(self, changes: dict[str, Any]) -> object:
        return dispute_hold_correction_plan(hold=self.instance, actor=self.actor, **changes)

    def correct(self, changes: dict[str, Any]) -> object:
        return dispute_hold_correct(dispute_hold_id=self.instance.pk, actor=self.actor, **changes)


@admin.register(DisputeHold)
class DisputeHoldAdmin(LedgerAdmin):
    form = DisputeHoldAdminForm
    list_display = [
        "id",
        "invoice",
        "account",
        "created_at",
        "amount_display",
        "expires_on",
        "status",
        "created_by_label",
    ]
    list_filter = ["status", "source"]
    list_select_related = ["invoice", "account"]
    number_search_fields = ("id", "invoice__invoice_no", "account__acct_no")
    search_help_text = "Exact dispute number, invoice number or account number."
    editable_fields = ("comments",)
    display_fields = ("amount_display",)
    lead_fields = ("invoice", "amount_display", "status", "expires_on", "comments")
    actions = ["release_selected"]

    @admin.display(description="amount", ordering="amount_minor")
    def amount_display(self, hold: DisputeHold) -> str:
        return minor_money_text(hold.amount_minor, hold.invoice.currency)

    def has_settle_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("writeoffs.settle_disputehold")

    @admin.action(description="Release selected dispute holds", permissions=["settle"])
    def release_selected(self, request: HttpRequest, queryset):
        return confirm_ledger_action(
            self,
            request,
            queryset.select_related("invoice"),
            action="release_selected",
            title="Release dispute holds",
            label="Comments",
            required=False,
            apply=lambda hold, actor, comments: dispute_hold_settle(
                dispute_hold_id=hold.pk,
                action=Settlement.RELEASE,
                actor=actor,
                comments=comments,
                source=Source.ADMIN,
            ),
            done="Released {count} dispute hold(s); the balance stays due.",
        )


class ApprovalLimitAdminForm(forms.ModelForm):
    class Meta:
        model = ApprovalLimit
        fields = ["role", "currency", "limit_minor"]

    def clean_currency(self) -> str:
        currency = (self.cleaned_data["currency"] or "").strip().upper()
        if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
            raise forms.ValidationError("Enter a three-letter ISO 4217 code, such as USD.")
        return currency

    def clean_limit_minor(self) -> int | None:
        limit = self.cleaned_data["limit_minor"]
        if limit is not None and limit < 0:
            raise forms.ValidationError("A limit is 0 or more; leave it empty for unlimited.")
        return limit


@admin.register(ApprovalLimit)
class ApprovalLimitAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    """Limits are edited by the finance controller and superusers: only they hold
    the add/change permissions (writeoffs/roles.py). A row is never deleted; set
    it to 0 instead, so history keeps every value a write-off was checked against."""

    form = ApprovalLimitAdminForm
    list_display = ["role", "currency", "limit_display"]
    list_filter = ["role", "currency"]
    history_list_display = ["history_actor", "limit_minor"]

    @admin.display(description="limit", ordering="limit_minor")
    def limit_display(self, limit: ApprovalLimit) -> str:
        if limit.limit_minor is None:
            return "Unlimited"
        return minor_money_text(limit.limit_minor, limit.currency)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        """The limits screen says which currency in use lacks a row for a limited role
        (the same warnings as ``manage.py check``, writeoffs.W001)."""
        if request.method == "GET":
            for role, currency in missing_limit_rows():
                self.message_user(request, missing_limit_message(role, currency), messages.WARNING)
        return super().changelist_view(request, extra_context)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that only their services write (bulk runs and their items, cases, notes):
    admin reads them."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(BulkRun)
class BulkRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "status",
        "created_by",
        "approved_by",
        "writeoff_date",
        "max_balance_minor",
        "heartbeat_at",
        "finished_at",
    ]
    list_filter = ["status"]
    list_select_related = ["created_by", "approved_by"]


@admin.register(BulkRunItem)
class BulkRunItemAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "run",
        "invoice",
        "currency",
        "amount_minor",
        "excluded",
        "state",
        "skip_rule",
        "error_code",
        "writeoff",
        "heartbeat_at",
    ]
    list_filter = ["state", "skip_rule", "excluded"]
    list_select_related = ["run", "invoice"]
    raw_id_fields = ["run", "invoice", "writeoff"]


@admin.register(ProvisionRate)
class ProvisionRateAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    """The provision matrix: edited by the finance controller (writeoffs/roles.py), its
    history kept. The data migration writes every currency's rows; none is added or
    deleted here, so a run never meets a half-filled matrix."""

    list_display = ["currency", "bucket", "rate"]
    list_filter = ["currency"]
    list_editable = ["rate"]
    fields = ["currency", "bucket", "rate"]
    readonly_fields = ["currency", "bucket"]
    history_list_display = ["history_actor", "rate"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ProvisionRun)
class ProvisionRunAdmin(ReadOnlyAdmin):
    """Written only by ``writeoffs.allowance.provision``."""

    list_display = [
        "month_end",
        "currency",
        "status",
        "required_minor",
        "booked_before_minor",
        "posted_minor",
        "journal_entry",
        "created_by_label",
        "created_at",
    ]
    list_filter = ["currency", "status"]


# --- Dispute cases ----------------------------------------------------------------


class CaseListAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    """Categories and root causes: edited here, with history. Never deleted (a case
    points at them): set one inactive to stop offering it. Its code is fixed once made,
    because the API and the services name it."""

    list_display = ["code", "name", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(CaseCategory)
class CaseCategoryAdmin(CaseListAdmin):
    list_display = ["code", "name", "target_days", "active"]


@admin.register(RootCause)
class RootCauseAdmin(CaseListAdmin):
    pass


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class CaseHoldInline(ReadOnlyInline):
    model = DisputeHold
    fields = ["id", "invoice", "amount_minor", "status", "expires_on"]
    readonly_fields = fields


class CaseStatusChangeInline(ReadOnlyInline):
    model = CaseStatusChange
    fields = ["changed_at", "from_status", "to_status", "changed_by_label"]
    readonly_fields = fields


class CaseNoteInline(ReadOnlyInline):
    model = CaseNote
    fields = ["created_at", "author_label", "text"]
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    """Cases are opened, worked and settled through the case services (the screens,
    the API): here they are read, and moved on or rejected by actions that call those
    services row by row, never by a raw save."""

    list_display = ["number", "account", "category", "status", "assignee", "due_date"]
    list_filter = ["status", "category"]
    search_fields = ["=number", "account__name", "=account__acct_no"]
    list_select_related = ["account", "category", "assignee"]
    inlines = [CaseHoldInline, CaseStatusChangeInline, CaseNoteInline]
    actions = ["move_to_in_review", "move_to_waiting_on_customer", "reject_selected"]

    def has_change_case_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("writeoffs.change_case")

    def has_settle_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("writeoffs.settle_disputehold")

    def _move(self, request: HttpRequest, queryset, status: CaseStatus):
        return confirm_ledger_action(
            self,
            request,
            queryset,
            action=f"move_to_{status}",
            title=f"Move cases to {status.label.lower()}",
            label="Comments (not kept; add a note on the case page)",
            required=False,
            apply=lambda case, actor, _: case_change_status(
                case_id=case.pk, status=status, actor=actor
            ),
            done=f"Moved {{count}} case(s) to {status.label.lower()}.",
        )

    @admin.action(description="Move selected cases to in review", permissions=["change_case"])
    def move_to_in_review(self, request: HttpRequest, queryset):
        return self._move(request, queryset, CaseStatus.IN_REVIEW)

    @admin.action(
        description="Move selected cases to waiting on customer", permissions=["change_case"]
    )
    def move_to_waiting_on_customer(self, request: HttpRequest, queryset):
        return self._move(request, queryset, CaseStatus.WAITING_ON_CUSTOMER)

    @admin.action(
        description="Reject selected cases (releases their holds)", permissions=["settle"]
    )
    def reject_selected(self, request: HttpRequest, queryset):
        return confirm_ledger_action(
            self,
            request,
            queryset,
            action="reject_selected",
            title="Reject dispute cases",
            label="Reason",
            required=True,
            apply=lambda case, actor, reason: case_reject(
                case_id=case.pk, reason=reason, actor=actor, source=Source.ADMIN
            ),
            done="Rejected {count} case(s); their holds are released.",
        )


@admin.register(CaseNote)
class CaseNoteAdmin(ReadOnlyAdmin):
    """Notes are append-only: admin reads them."""

    list_display = ["case", "author_label", "created_at"]
    search_fields = ["=case__number", "text"]
    list_select_related = ["case"]
