"""Admin for the events feed and its webhooks (SPEC Part 3): the events, read only;
the endpoints, registered, edited and managed through billing.sync.webhooks'
services; and the delivery log, read only."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from billing.admin.base import CappedCountPaginator, ExactNumberSearchMixin, ReadOnlyAdmin
from billing.errors import BillingError
from billing.models import Event, EventType, WebhookDelivery, WebhookEndpoint
from billing.sync.webhooks.endpoints import (
    endpoint_fields_check,
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_set_active,
    webhook_endpoint_update,
    webhook_retry_now,
    webhook_send_test,
)
from billing.sync.webhooks.tasks import enqueue_delivery


@admin.register(Event)
class EventAdmin(ExactNumberSearchMixin, ReadOnlyAdmin):
    list_display = ["id", "type", "occurred_at", "account", "invoice", "actor_label"]
    list_filter = ["type"]
    list_select_related = ["account", "invoice"]
    number_search_fields = ("id", "account__acct_no", "invoice__invoice_no")
    search_help_text = "Exact event id, account number or invoice number."
    ordering = ["-id"]
    fields = readonly_fields = (
        "id",
        "type",
        "occurred_at",
        "account",
        "invoice",
        "actor_label",
        "payload_json",
    )

    @admin.display(description="as sent")
    def payload_json(self, event: Event) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, ensure_ascii=False))


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every type, including types added later.",
    )
    start_after = forms.IntegerField(
        required=False,
        min_value=0,
        label="Start after event",
        help_text="Left empty: the events written from now on. 0: the whole feed from the start.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "event_types", "active"]

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            name, url, types = endpoint_fields_check(
                name=cleaned.get("name", ""),
                url=cleaned.get("url", ""),
                event_types=cleaned.get("event_types", []),
                endpoint_id=self.instance.pk,
            )
        except BillingError as refused:
            field = refused.field if refused.field in self.fields else None
            self.add_error(field, refused.message)
            return cleaned
        cleaned.update(name=name, url=url, event_types=types)
        return cleaned

    def validate_unique(self) -> None:
        # endpoint_fields_check names a clash in its own words.
        pass


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Saving, and every action, goes through the endpoint services. An endpoint is
    deactivated, never deleted: its delivery log stays."""

    form = WebhookEndpointForm
    list_display = ["name", "url", "active", "last_event_id", "state", "created_at"]
    list_filter = ["active"]
    search_fields = ["=name"]
    actions = ["send_test_event", "retry_now", "deactivate", "activate", "rotate_secret"]

    def get_fields(self, request: HttpRequest, obj: Any = None):
        if obj is None:
            return ["name", "url", "event_types", "active", "start_after"]
        # The secret only for those who may change the endpoint, not for view-only staff.
        secret = ["secret_display"] if self.has_change_permission(request, obj) else []
        return ["name", "url", "event_types", "active", *secret, *self.status_fields]

    status_fields = ("last_event_id", "state", "head_first_attempt_at", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else ["secret_display", *self.status_fields]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="secret")
    def secret_display(self, endpoint: WebhookEndpoint) -> str:
        return format_html(
            '<input type="text" readonly size="60" value="{}" aria-label="Signing secret">'
            '<div class="help">Give it to the receiver: it checks each delivery\'s '
            "Webhook-Signature with it (docs/api.md, Webhooks). Rotate it with the "
            "action on the list.</div>",
            endpoint.secret,
        )

    @admin.display(description="delivery")
    def state(self, endpoint: WebhookEndpoint) -> str:
        if not endpoint.active:
            return "Inactive: sent nothing"
        if endpoint.head_failures:
            return (
                f"Event {endpoint.head_event_id} failed {endpoint.head_failures} time(s); "
                f"next attempt {endpoint.next_attempt_at:%Y-%m-%d %H:%M:%S %Z}"
            )
        return "Up to date" if endpoint.head_event_id is None else "Sending"

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        fields = {
            "name": data["name"],
            "url": data["url"],
            "event_types": data["event_types"],
            "active": data["active"],
        }
        if change:
            saved = webhook_endpoint_update(endpoint_id=obj.pk, **fields)
        else:
            saved = webhook_endpoint_create(**fields, start_after=data.get("start_after"))
        obj.pk = saved.pk
        obj.refresh_from_db()

    def response_add(
        self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: str | None = None
    ) -> HttpResponse:
        # Straight to the endpoint's page, where its new secret is to be copied.
        self.message_user(
            request,
            f"Registered {obj.name}. Copy its secret below into the receiver.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:billing_webhookendpoint_change", args=[obj.pk]))

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test_event(self, request: HttpRequest, queryset: Iterable[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            delivery = webhook_send_test(endpoint_id=endpoint.pk)
            if delivery.outcome == "delivered":
                self.message_user(
                    request, f"{endpoint.name}: answered {delivery.status_code}.", messages.SUCCESS
                )
            else:
                answer = delivery.status_code or delivery.error
                self.message_user(request, f"{endpoint.name}: failed ({answer}).", messages.ERROR)

    @admin.action(description="Retry now", permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: Iterable[WebhookEndpoint]) -> None:
        retried = 0
        for endpoint in queryset:
            if webhook_retry_now(endpoint_id=endpoint.pk):
                enqueue_delivery(endpoint.pk)
                retried += 1
        self.message_user(
            request,
            f"{retried} waiting endpoint(s) handed to the task worker to try again now.",
            messages.SUCCESS,
        )

    @admin.action(description="Deactivate (send nothing)", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: Iterable[WebhookEndpoint]) -> None:
        changed = sum(webhook_endpoint_set_active(endpoint_id=e.pk, active=False) for e in queryset)
        self.message_user(request, f"Deactivated {changed} endpoint(s).", messages.SUCCESS)

    @admin.action(description="Activate (carry on from the cursor)", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: Iterable[WebhookEndpoint]) -> None:
        changed = 0
        for endpoint in queryset:
            if webhook_endpoint_set_active(endpoint_id=endpoint.pk, active=True):
                enqueue_delivery(endpoint.pk)
                changed += 1
        self.message_user(request, f"Activated {changed} endpoint(s).", messages.SUCCESS)

    @admin.action(description="Rotate the secret", permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: Iterable[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            webhook_endpoint_rotate_secret(endpoint_id=endpoint.pk)
        self.message_user(
            request,
            "New secret(s) made: copy each from its endpoint's page into the receiver.",
            messages.WARNING,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ExactNumberSearchMixin, ReadOnlyAdmin):
    list_display = [
        "id",
        "attempted_at",
        "endpoint",
        "event_id",
        "attempt",
        "outcome",
        "status_code",
        "duration_ms",
        "next_attempt_at",
        "error",
    ]
    list_filter = ["outcome", "endpoint"]
    list_select_related = ["endpoint"]
    number_search_fields = ("event_id",)
    search_help_text = "Exact event id."
    ordering = ["-id"]
    paginator = CappedCountPaginator
