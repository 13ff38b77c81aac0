"""The import screen's forms: the upload, and a column mapping beside the file's header."""

from __future__ import annotations

from django import forms

from billing.models import ImportKind, ImportMapping
from billing.sync.imports.reading import LAYOUTS


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label="What the file holds", choices=ImportKind.choices)
    file = forms.FileField(label="CSV file (UTF-8)")
    mapping = forms.ModelChoiceField(
        label="Column mapping",
        queryset=ImportMapping.objects.all(),
        required=False,
        empty_label="None: the file uses our column names",
        help_text="A saved mapping reads a billing system's own layout (Stripe, Chargebee, yours).",
    )

    def clean(self):
        data = super().clean() or {}
        mapping = data.get("mapping")
        if mapping is not None and data.get("kind") and mapping.kind != data["kind"]:
            self.add_error("mapping", f"This mapping is for {mapping.kind}, not {data['kind']}.")
        return data


class MappingForm(forms.Form):
    """Per field of the layout: the file's column it is read from, or a fixed value."""

    name = forms.CharField(label="Save the mapping as", max_length=100)
    dates_from_timestamps = forms.BooleanField(
        label="Dates are written with a time after them: read only the date",
        required=False,
    )
    currency_in_capitals = forms.BooleanField(
        label="Currencies are written in lower case (usd): read them in capitals",
        required=False,
    )

    def __init__(self, *args, kind: str, header: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        layout = LAYOUTS[kind]
        choices = [("", "(not in this file)")] + [(column, column) for column in header]
        for name in layout.fields:
            required = name in layout.required
            self.fields[f"column_{name}"] = forms.ChoiceField(
                label=f"{name}{' (required)' if required else ''}",
                choices=choices,
                required=False,
                initial=name if name in header else "",
                widget=forms.Select(attrs={"class": "form-select"}),
            )
            self.fields[f"fixed_{name}"] = forms.CharField(
                label=f"or one value for every row of {name}",
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"class": "form-control"}),
            )

    def rows(self):
        """(field, its column select, its fixed value input), in the layout's order."""
        return [
            (name, self[f"column_{name}"], self[f"fixed_{name}"])
            for name in LAYOUTS[self.kind].fields
        ]

    def mapping(self) -> tuple[dict[str, str], dict[str, str]]:
        data = self.cleaned_data
        fields = LAYOUTS[self.kind].fields
        columns = {name: data[f"column_{name}"] for name in fields if data[f"column_{name}"]}
        fixed = {name: data[f"fixed_{name}"] for name in fields if data[f"fixed_{name}"]}
        return columns, fixed
