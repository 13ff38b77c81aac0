"""Django admin for accounts, invoices, payments, accounting codes, API keys and the
journal. Corrections go through the services; nothing here writes a ledger row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from billing.admin.base import (
    CappedCountPaginator,
    CorrectionForm,
    ExactNumberSearchMixin,
    LedgerAdmin,
    ReadableHistoryMixin,
    ReadOnlyAdmin,
    confirm_ledger_action,
)
from billing.api.keys import api_key_revoke
from billing.models import (
    Account,
    AccountingCode,
    AccountingPeriodLock,
    ApiKey,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    Payment,
    TaxRate,
)
from billing.money import minor_money_text
from billing.receivables.invoices import (
    invoice_revenue_code_correct,
    invoice_revenue_code_correction_plan,
    invoice_void,
)
from billing.receivables.payments import payment_correct, payment_correction_plan


@admin.register(Account)
class AccountAdmin(ExactNumberSearchMixin, admin.ModelAdmin):
    list_display = ["acct_no", "name", "client_acct_id", "external_id", "currency", "status"]
    list_filter = ["status", "currency"]
    number_search_fields = ("acct_no",)
    text_search_fields = ("client_acct_id", "userid", "external_id")
    search_help_text = "Exact account number, client account ID, user ID or external ID."
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    ordering = ["acct_no"]


@admin.register(AccountingCode)
class AccountingCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["=code"]


class TaxRateAdminForm(forms.ModelForm):
    class Meta:
        model = TaxRate
        fields = ["code", "name", "rate", "payable_code", "relief_after_months", "active"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        codes = cast(forms.ModelChoiceField, self.fields["payable_code"])  # a ForeignKey's
        codes.queryset = AccountingCode.objects.filter(
            kind=AccountingCode.Kind.LIABILITY, active=True
        )

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        # Posted tax stays on the code it was posted to, and verify_ledger reads a
        # line's rate for it: a rate in use keeps its code (make a new rate instead).
        if (
            self.instance.pk is not None
            and "payable_code" in self.changed_data
            and InvoiceLine.objects.filter(tax_rate=self.instance).exists()
        ):
            self.add_error(
                "payable_code",
                "Invoice lines are taxed at this rate, and their tax is posted to its code: "
                "make a new rate for the new code and deactivate this one.",
            )
        return cleaned


@admin.register(TaxRate)
class TaxRateAdmin(ReadableHistoryMixin, SimpleHistoryAdmin):
    """Kept by the finance controller (and superusers), with history. A rate is never
    deleted (invoice lines protect it): deactivate it."""

    form = TaxRateAdminForm
    list_display = ["code", "name", "rate", "payable_code", "relief_after_months", "active"]
    list_filter = ["active"]
    history_list_display = ["history_actor", "rate", "payable_code", "relief_after_months"]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    fields = readonly_fields = (
        "description",
        "service_start",
        "service_end",
        "amount_display",
        "tax_rate",
        "tax_display",
    )
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="amount")
    def amount_display(self, line: InvoiceLine) -> str:
        return minor_money_text(line.amount_minor, line.invoice.currency)

    @admin.display(description="tax")
    def tax_display(self, line: InvoiceLine) -> str:
        return minor_money_text(line.tax_minor, line.invoice.currency)


class InvoiceAdminForm(CorrectionForm):
    """The revenue code; the invoice's revenue-impacting write-offs follow it."""

    class Meta:
        model = Invoice
        fields = ["revenue_code"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "revenue_code" in self.fields:
            codes = cast(forms.ModelChoiceField, self.fields["revenue_code"])  # a ForeignKey's
            codes.queryset = AccountingCode.objects.filter(
                kind=AccountingCode.Kind.REVENUE, active=True
            )
            self.fields["revenue_code"].required = True

    def changes(self) -> dict[str, Any]:
        code = self.cleaned_data.get("revenue_code")
        if "revenue_code" in self.changed_data and code is not None:
            return {"revenue_code_id": code.pk}
        return {}

    def plan(self, changes: dict[str, Any]) -> object:
        return invoice_revenue_code_correction_plan(
            invoice=self.instance, actor=self.actor, **changes
        )

    def correct(self, changes: dict[str, Any]) -> object:
        return invoice_revenue_code_correct(
            invoice_id=self.instance.pk, actor=self.actor, **changes
        )


@admin.register(Invoice)
class InvoiceAdmin(LedgerAdmin):
    form = InvoiceAdminForm
    inlines = [InvoiceLineInline]
    list_display = [
        "invoice_no",
        "account",
        "status",
        "bill_date",
        "due_date",
        "total_display",
        "balance_due_display",
        "held_display",
        "external_id",
    ]
    list_filter = ["status"]
    list_select_related = ["account"]
    number_search_fields = ("invoice_no", "account__acct_no")
    text_search_fields = ("external_id",)
    search_help_text = "Exact invoice number, account number or external ID."
    editable_fields = ("revenue_code",)
    display_fields = ("balance_due_display", "available_display")
    actions = ["void_selected"]

    @admin.display(description="total")
    def total_display(self, invoice: Invoice) -> str:
        return minor_money_text(invoice.total_minor, invoice.currency)

    @admin.display(description="balance due")
    def balance_due_display(self, invoice: Invoice) -> str:
        return minor_money_text(invoice.balance_due_minor, invoice.currency)

    @admin.display(description="held")
    def held_display(self, invoice: Invoice) -> str:
        return minor_money_text(invoice.held_minor, invoice.currency)

    @admin.display(description="available")
    def available_display(self, invoice: Invoice) -> str:
        return minor_money_text(invoice.available_minor, invoice.currency)

    def has_void_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.void_invoice")

    @admin.action(description="Void selected invoices", permissions=["void"])
    def void_selected(self, request: HttpRequest, queryset):
        return confirm_ledger_action(
            self,
            request,
            queryset,
            action="void_selected",
            title="Void invoices",
            label="Reason for voiding",
            required=True,
            apply=lambda invoice, actor, reason: invoice_void(
                invoice_id=invoice.pk, reason=reason, actor=actor
            ),
            done="Voided {count} invoice(s); their postings are reversed and nothing is due.",
        )


class PaymentAdminForm(CorrectionForm):
    class Meta:
        model = Payment
        fields = ["reference"]

    def plan(self, changes: dict[str, Any]) -> object:
        return payment_correction_plan(payment=self.instance, actor=self.actor, **changes)

    def correct(self, changes: dict[str, Any]) -> object:
        return payment_correct(payment_id=self.instance.pk, actor=self.actor, **changes)


@admin.register(Payment)
class PaymentAdmin(LedgerAdmin):
    form = PaymentAdminForm
    list_display = [
        "id",
        "invoice",
        "account",
        "amount_display",
        "paid_on",
        "method",
        "status",
        "recorded_by_label",
        "external_id",
    ]
    list_filter = ["status", "method"]
    list_select_related = ["invoice", "account"]
    number_search_fields = ("id", "invoice__invoice_no", "account__acct_no")
    text_search_fields = ("external_id",)
    search_help_text = "Exact payment number, invoice number, account number or external ID."
    editable_fields = ("reference",)
    display_fields = ("amount_display",)
    lead_fields = ("invoice", "amount_display", "status", "paid_on", "method", "reference")

    @admin.display(description="amount", ordering="amount_minor")
    def amount_display(self, payment: Payment) -> str:
        return minor_money_text(payment.amount_minor, payment.invoice.currency)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created and revoked by management command; admin lists them and
    can revoke them through the same service. Only the key's hash is stored."""

    list_display = ["name", "role", "prefix", "created_at", "last_used_at", "revoked"]
    list_filter = ["role", "revoked"]
    search_fields = ["=name", "=prefix"]
    actions = ["revoke_selected"]
    exclude = ["key_hash"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [f.name for f in ApiKey._meta.fields if f.name not in {"id", "key_hash"}]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: Iterable[ApiKey]) -> None:
        revoked = 0
        for key in queryset:
            if not key.revoked:
                api_key_revoke(key.name)
                revoked += 1
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)


class JournalLineInline(admin.TabularInline):
    model = JournalLine
    fields = readonly_fields = ("accounting_code", "debit_display", "credit_display")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="debit")
    def debit_display(self, line: JournalLine) -> str:
        return minor_money_text(line.debit_minor, line.currency) if line.debit_minor else ""

    @admin.display(description="credit")
    def credit_display(self, line: JournalLine) -> str:
        return minor_money_text(line.credit_minor, line.currency) if line.credit_minor else ""


@admin.register(JournalEntry)
class JournalEntryAdmin(ExactNumberSearchMixin, ReadOnlyAdmin):
    list_display = ["id", "entry_date", "event", "invoice", "currency", "memo", "posted_at"]
    list_filter = ["event", "currency"]
    list_select_related = ["invoice"]
    number_search_fields = ("id", "invoice__invoice_no")
    search_help_text = "Exact entry number or invoice number."
    inlines = [JournalLineInline]
    ordering = ["-id"]


@admin.register(AccountingPeriodLock)
class AccountingPeriodLockAdmin(ReadOnlyAdmin):
    list_display = ["locked_through", "previous", "moved_by_label", "moved_at", "reason"]
    ordering = ["-id"]


# The events feed and its webhooks register themselves with admin on import.
from billing.admin import sync  # noqa: E402, F401
