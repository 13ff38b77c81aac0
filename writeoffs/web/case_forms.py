"""The forms of a case's drawers: add a note, assign, change status, move the due
date, settle, reject, and the Cases page's bulk assign. They read what a person
typed; every rule is the cases services' (writeoffs/cases/), whose refusals land
next to the field they name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django import forms

from billing.web.forms import AmountField
from writeoffs.cases.resolution import HoldSettlement
from writeoffs.cases.rules import eligible_assignees
from writeoffs.cases.work import next_statuses
from writeoffs.models import Case, DisputeHold, RootCause, Settlement
from writeoffs.web.forms import WriteOffForm, expense_code_field

LEAVE_OPEN = ""


class NoteForm(forms.Form):
    # Length and illegal characters are the service's checks (clean_comments).
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 5}))


def assignee_choices() -> list[tuple[str, str]]:
    return [("", "Nobody (unassigned)")] + [
        (str(user.pk), user.get_username()) for user in eligible_assignees()
    ]


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label="Assignee", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["assignee"]).choices = assignee_choices()


class BulkAssignForm(AssignForm):
    cases = forms.TypedMultipleChoiceField(
        label="Cases", coerce=int, error_messages={"required": "Select at least one case."}
    )

    def __init__(self, *args: Any, case_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["cases"]).choices = [(pk, pk) for pk in case_ids]


class StatusForm(forms.Form):
    status = forms.ChoiceField(label="New status")

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["status"]).choices = [
            (s.value, s.label) for s in next_statuses(case)
        ]


class DueDateForm(forms.Form):
    # The range (not before the case opened, at most a year ahead) is the service's.
    due_date = forms.DateField(label="Due date", widget=forms.DateInput(attrs={"type": "date"}))


class RejectForm(forms.Form):
    # Not required here: an empty reason is refused by the service (clean_comments),
    # with the same message the API gives.
    reason = forms.CharField(
        label="Reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Kept as the case's note.",
    )


@dataclass(frozen=True)
class HoldRow:
    hold: DisputeHold
    action: forms.BoundField
    amount: forms.BoundField


SETTLE_CHOICES = [(LEAVE_OPEN, "Leave open"), *Settlement.choices]


class CaseSettleForm(forms.Form):
    """One action per open hold (and, for a conversion, an optional part to write off:
    the rest is released), then what every conversion shares: the reason code and
    the posting; the root cause; comments."""

    reason_code = forms.TypedChoiceField(
        label="Reason code (conversions)",
        coerce=int,
        required=False,
        empty_value=None,
        choices=WriteOffForm.base_fields["reason_code"].choices,  # type: ignore[attr-defined]
    )
    revenue_impacting = forms.BooleanField(
        label="Revenue-impacting (conversions)", required=False, initial=True
    )
    accounting_code = expense_code_field(
        help_text="For a conversion that is not revenue-impacting."
    )
    root_cause = forms.ChoiceField(
        label="Root cause",
        required=False,
        help_text="Required when this settles the case's last open hold.",
    )
    comments = forms.CharField(
        label="Comments", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, holds: list[DisputeHold], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.holds = [hold for hold in holds if hold.is_open and not hold.conversion_pending]
        for hold in self.holds:
            self.fields[f"hold_{hold.pk}_action"] = forms.ChoiceField(
                label=f"Dispute hold {hold.number}", choices=SETTLE_CHOICES, required=False
            )
            self.fields[f"hold_{hold.pk}_amount"] = AmountField(
                label=f"Amount to write off ({hold.invoice.currency})",
                currency=hold.invoice.currency,
                required=False,
                help_text="Convert only. Empty: all of the hold. A part: the rest is released.",
            )
        cast(forms.ChoiceField, self.fields["root_cause"]).choices = [
            ("", "Choose a root cause")
        ] + [(cause.code, cause.name) for cause in RootCause.objects.filter(active=True)]

    @property
    def hold_rows(self) -> list[HoldRow]:
        return [
            HoldRow(hold, self[f"hold_{hold.pk}_action"], self[f"hold_{hold.pk}_amount"])
            for hold in self.holds
        ]

    @property
    def shared_fields(self) -> list[forms.BoundField]:
        names = ("reason_code", "revenue_impacting", "accounting_code", "root_cause", "comments")
        return [self[name] for name in names]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any(data.get(f"hold_{hold.pk}_action") for hold in self.holds):
            raise forms.ValidationError("Choose what to do with at least one hold.")
        for hold in self.holds:
            if data.get(f"hold_{hold.pk}_amount") is not None and (
                data.get(f"hold_{hold.pk}_action") != Settlement.CONVERT
            ):
                self.add_error(
                    f"hold_{hold.pk}_amount",
                    "Only a conversion takes an amount; a release releases the whole hold.",
                )
        return data

    def settlements(self) -> list[HoldSettlement]:
        data = self.cleaned_data
        posting: dict[str, Any] = {}
        if data.get("reason_code") is not None:
            posting["reason_code"] = data["reason_code"]
        if not data.get("revenue_impacting"):
            code = data.get("accounting_code")
            posting["accounting_code_id"] = code.pk if code else 0
        chosen = []
        for hold in self.holds:
            action = data.get(f"hold_{hold.pk}_action")
            if not action:
                continue
            amount = data.get(f"hold_{hold.pk}_amount")
            chosen.append(
                HoldSettlement(
                    dispute_no=hold.pk,
                    action=action,
                    amount=format(amount, "f") if amount is not None else None,
                    comments=data.get("comments", ""),
                    **(posting if action == Settlement.CONVERT else {}),
                )
            )
        return chosen

    def field_for(self, service_field: str | None, settlements: list[HoldSettlement]) -> str | None:
        """The form field a service refusal names: ``holds.1.amount`` is the second
        chosen hold's amount; ``reason_code`` or ``root_cause`` are shared fields."""
        if not service_field:
            return None
        parts = service_field.split(".")
        if parts[0] == "holds" and len(parts) >= 2 and parts[1].isdigit():
            index = int(parts[1])
            if index < len(settlements):
                suffix = "amount" if parts[-1] == "amount" else "action"
                return f"hold_{settlements[index].dispute_no}_{suffix}"
            return None
        name = {"accounting_code_id": "accounting_code"}.get(parts[-1], parts[-1])
        return name if name in self.fields else None
