"""What every ledger admin shares: capped counts, exact-number search, correction
forms that call a service, readable history and confirmed actions.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Q
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject, ModelChange
from simple_history.template_utils import HistoricalRecordContextHelper

from billing.actors import Actor
from billing.errors import BillingError
from billing.models import (
    Invoice,
)
from billing.money import minor_money_text
from billing.parsing import is_ascii_digits
from billing.receivables.timeline import concrete_field, field_label, shown_date
from billing.rules import clean_correction_reason
from billing.web.forms import attach_billing_error

# The revenue-code correction moves write-offs too, so its service is the write-offs app's.

# An admin action runs a service once per row; a larger selection belongs in a
# management command.
ACTION_MAX_ROWS = 500


class CappedCountPaginator(Paginator):
    """Counts at most ``cap`` rows.

    ``COUNT(*)`` over a million-row table runs on every changelist page. This
    counts over ``LIMIT cap + 1`` instead; past the cap the list shows ``cap``
    results, and a search or filter narrows it.
    """

    cap = 10_000

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if isinstance(object_list, models.QuerySet):
            return min(object_list[: self.cap + 1].count(), self.cap)
        return len(object_list)


class ExactNumberSearchMixin:
    """Search that matches numbers exactly.

    ``number_search_fields`` are integer lookups such as ``"invoice_no"`` or
    ``"invoice__invoice_no"``. A term of digits matches them exactly; a lookup
    through a relation is resolved to the related rows' keys first, so every
    part of the query is an index lookup. Any other term matches
    ``text_search_fields`` (exact lookups too) and nothing else.
    """

    number_search_fields: tuple[str, ...] = ()
    text_search_fields: tuple[str, ...] = ()

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        # Non-empty, so that admin shows the search box; the lookups are ours.
        return self.number_search_fields + self.text_search_fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        query = Q()
        if is_ascii_digits(term) and len(term) <= 18:
            number = int(term)
            for lookup in self.number_search_fields:
                query |= self._number_q(queryset.model, lookup, number)
        else:
            for lookup in self.text_search_fields:
                query |= Q(**{lookup: term})
        if not query:
            return queryset.none(), False
        return queryset.filter(query), False

    @staticmethod
    def _number_q(model: type[models.Model], lookup: str, number: int) -> Q:
        relation, _, field_name = lookup.rpartition("__")
        if not relation:
            return Q(**{lookup: number})
        # A lookup through a relation: its field always names the related model.
        field = model._meta.get_field(relation)
        related = cast("type[models.Model]", field.related_model)
        matches = related._default_manager.filter(**{field_name: number})
        keys = list(matches.values_list("pk", flat=True))
        return Q(**{f"{relation}__in": keys}) if keys else Q(pk__in=[])


class CorrectionForm(forms.ModelForm):
    """A ledger row's admin change form: the correction service checks its input.

    ``clean`` asks the service's correction plan, so a refusal shows next to its
    field like in every other form, and ``correct`` calls the service, which checks
    again under the invoice lock. ``actor`` is set by ``LedgerAdmin.get_form``.
    """

    actor: Actor

    reason = forms.CharField(
        label="Reason for the correction",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Required with any change; kept in the row's history.",
    )

    def changes(self) -> dict[str, Any]:
        """The service's keyword arguments for the fields that changed."""
        return {name: self.cleaned_data[name] for name in self.changed_data if name != "reason"}

    def plan(self, changes: dict[str, Any]) -> object:
        raise NotImplementedError

    def correct(self, changes: dict[str, Any]) -> object:
        raise NotImplementedError

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        changes = self.changes() if not self.errors else {}
        if changes:
            try:
                self.plan(changes)
                clean_correction_reason(self.cleaned_data.get("reason"))
            except BillingError as error:
                attach_billing_error(self, error)
        return data


class ReadableHistoryContext(HistoricalRecordContextHelper):
    """A change as a person reads it: each field by its name in words ("Total", not
    "Total minor"), an empty value is "—" (simple-history shows "Deleted user
    (pk=None)" for a foreign key that was empty), minor units are money in the row's
    currency, a choice is its label, and dates and moments are in the app's format and
    TIME_ZONE (as the history's own Date/time column), never UTC."""

    def format_delta_change(self, change: ModelChange) -> ModelChange:
        formatted = super().format_delta_change(change)
        return dataclasses.replace(formatted, field=field_label(self.model, change.field))

    def prepare_delta_change_value(self, change: ModelChange, value: Any) -> Any:
        if value is None or value == "" or (isinstance(value, DeletedObject) and value.pk is None):
            return "—"
        if change.field.endswith("_minor") and isinstance(value, int):
            return minor_money_text(value, self.currency())
        field = concrete_field(self.model, change.field)
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, datetime.date):
            return shown_date(value)
        return super().prepare_delta_change_value(change, value)

    def currency(self) -> str:
        record = self.record
        if getattr(record, "currency", ""):
            return record.currency
        return Invoice.objects.values_list("currency", flat=True).get(pk=record.invoice_id)


class ReadableHistoryMixin:
    """History pages that say what changed in money and words, and say so when a row's
    earliest record is a change (its state before was never recorded)."""

    model: type[models.Model]

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryContext(self.model, historical_record)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """Each record's changes against the record before it, the page's oldest one
        included (simple-history leaves it out, so every page's last row showed none)."""
        records = list(historical_records)
        if not records:
            return
        for newer, older in zip(records, [*records[1:], records[-1].prev_record], strict=True):
            if older is None:
                # Seeded rows and rows older than their history start with a change.
                newer.history_earlier_state_unknown = newer.history_type == "~"
                continue
            delta = newer.diff_against(older, foreign_keys_are_objs=foreign_keys_are_objs)
            helper = self.get_historical_record_context_helper(request, newer)
            newer.history_delta_changes = helper.context_for_delta_changes(delta)


class LedgerAdmin(ReadableHistoryMixin, ExactNumberSearchMixin, SimpleHistoryAdmin):
    """Admin for rows that are never added or deleted here.

    Every field is read-only except ``editable_fields`` (free text and
    accounting codes), and those are saved by the form's correction service
    (``CorrectionForm``), never by admin itself.
    """

    form: type[CorrectionForm]
    editable_fields: tuple[str, ...] = ()
    display_fields: tuple[str, ...] = ()
    #: What a person reads first on the detail page (invoice, money, status, comments).
    lead_fields: tuple[str, ...] = ()
    history_list_display = ["history_actor"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    ordering = ["-id"]

    def action_checkbox(self, obj) -> str:
        """The row's selection box exactly as ``ModelAdmin.action_checkbox`` writes it,
        without rendering a form widget's templates for every row: in the write-off
        changelist those were a fifth of the page (docs/benchmarks.md, 2026-12-07)."""
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            label,
        )

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Also removes the "Delete selected" action: admin offers it only with this permission.
        return False

    def revert_disabled(self, request: HttpRequest, obj=None) -> bool:
        """No "Revert" on a ledger row's history: putting back an earlier version would
        rewrite a posted row around its services (its amounts, status and journal).
        An earlier version is shown to read only."""
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied(
                "A ledger row is never reverted to an earlier version: correct its free "
                "text or code with a reason, or reverse it."
            )
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        names = [f.name for f in self.model._meta.fields if f.name != "id"]
        return [*names, *self.display_fields]

    def get_editable_fields(self, obj) -> tuple[str, ...]:
        return self.editable_fields

    def get_fieldsets(self, request: HttpRequest, obj=None):
        """The lead fields first; the rest after; idempotency fields and raw minor units in
        a collapsed section (the amounts show as money in the lead)."""
        fields = self.get_fields(request, obj)
        lead = [name for name in self.lead_fields if name in fields]
        technical = [
            name
            for name in fields
            if name not in lead and ("idempotency" in name or name.endswith("_minor"))
        ]
        rest = [name for name in fields if name not in lead and name not in technical]
        fieldsets: list[tuple[str | None, dict[str, Any]]] = (
            [(None, {"fields": lead}), ("Details", {"fields": rest})]
            if lead
            else [(None, {"fields": rest})]
        )
        if (
            obj is not None
            and self.get_editable_fields(obj)
            and self.has_change_permission(request, obj)
        ):
            fieldsets.insert(1, ("Correction", {"fields": ["reason"]}))
        if technical:
            fieldsets.append(("Technical details", {"classes": ["collapse"], "fields": technical}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        editable = self.get_editable_fields(obj)
        names = [f.name for f in self.model._meta.fields if f.name not in editable]
        return [*names, *self.display_fields]

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # modelform_factory makes a new class on every call, so this is this request's.
        form.actor = Actor.for_request(request)
        return form

    def save_model(self, request: HttpRequest, obj, form: CorrectionForm, change: bool) -> None:
        changes = form.changes()
        if not change or not changes:
            return
        try:
            form.correct({**changes, "reason": form.cleaned_data.get("reason")})
        except BillingError as error:
            # Only a change made between the form's check and the lock gets here.
            self.message_user(request, error.message, messages.ERROR)


class ActionTextForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}))

    def __init__(self, *args, label: str, required: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].label = label
        self.fields["text"].required = required


def confirm_ledger_action(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: models.QuerySet,
    *,
    action: str,
    title: str,
    label: str,
    required: bool,
    apply: Callable[[models.Model, Actor, str], object],
    done: str,
) -> TemplateResponse | None:
    """Ask for a reason or comments on a confirmation page, then call ``apply``
    (a service) once per selected row, each in its own transaction.

    A row the service refuses is reported with the service's message; the
    others go ahead.
    """
    selected = queryset.count()
    if selected > ACTION_MAX_ROWS:
        modeladmin.message_user(
            request,
            f"Select at most {ACTION_MAX_ROWS} rows for this action ({selected} selected).",
            messages.ERROR,
        )
        return None
    if "apply" in request.POST:
        form = ActionTextForm(request.POST, label=label, required=required)
        if form.is_valid():
            actor = Actor.for_request(request)
            succeeded = 0
            for obj in queryset.order_by("pk"):
                try:
                    apply(obj, actor, form.cleaned_data["text"])
                except BillingError as error:
                    modeladmin.message_user(request, f"{obj}: {error.message}", messages.ERROR)
                else:
                    succeeded += 1
            if succeeded:
                modeladmin.message_user(request, done.format(count=succeeded), messages.SUCCESS)
            return None
    else:
        form = ActionTextForm(label=label, required=required)
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": opts,
        "form": form,
        "objects": list(queryset.order_by("pk")),
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/ledger_action_confirm.html", context)


class ReadOnlyAdmin(admin.ModelAdmin):
    """The journal and the lock date's history: shown, never added, changed or deleted
    here. A correction is a new, dated entry made by a service; the lock date moves
    on its own screen."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
