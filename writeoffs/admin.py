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
from django.contrib import admin
from django.http import HttpRequest

from billing.admin import CorrectionForm, LedgerAdmin, confirm_ledger_action, money_display
from billing.models import AccountingCode
from writeoffs.models import DisputeHold, Settlement, Source, WriteOff
from writeoffs.services import (
    dispute_hold_correct,
    dispute_hold_correction_plan,
    dispute_hold_settle,
    writeoff_correct,
    writeoff_correction_plan,
    writeoff_reverse,
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
    actions = ["reverse_selected"]

    def get_editable_fields(self, obj) -> tuple[str, ...]:
        # A revenue-impacting write-off's code follows its invoice's revenue code.
        if obj is not None and obj.revenue_impacting:
            return ("comments",)
        return self.editable_fields

    @admin.display(description="amount", ordering="amount_minor")
    def amount_display(self, writeoff: WriteOff) -> str:
        return money_display(writeoff.amount_minor, writeoff.invoice.currency)

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
    actions = ["release_selected"]

    @admin.display(description="amount", ordering="amount_minor")
    def amount_display(self, hold: DisputeHold) -> str:
        return money_display(hold.amount_minor, hold.invoice.currency)

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
