"""Saved column mappings (``ImportMapping``): reading one by name for an import, and
saving one from the screen.
"""

from __future__ import annotations

from billing.errors import INVALID_INPUT, BillingError
from billing.models import ImportMapping
from billing.sync.imports.reading import LAYOUTS, ColumnMapping


def saved_mapping(name: str, kind: str) -> ColumnMapping:
    """The mapping saved as ``name``, which must be one for files of ``kind``."""
    mapping = ImportMapping.objects.filter(name=name).first()
    if mapping is None:
        known = ", ".join(ImportMapping.objects.filter(kind=kind).values_list("name", flat=True))
        raise BillingError(
            INVALID_INPUT,
            f"No column mapping is saved as {name!r}. For {kind}: {known or 'none yet'}.",
            field="mapping",
        )
    if mapping.kind != kind:
        raise BillingError(
            INVALID_INPUT,
            f"The mapping {name!r} is for {mapping.kind}, not {kind}.",
            field="mapping",
        )
    return column_mapping(mapping)


def column_mapping(mapping: ImportMapping) -> ColumnMapping:
    return ColumnMapping(
        columns=dict(mapping.columns),
        fixed=dict(mapping.fixed),
        dates_from_timestamps=mapping.dates_from_timestamps,
        currency_in_capitals=mapping.currency_in_capitals,
    )


def mapping_save(
    *,
    name: str,
    kind: str,
    columns: dict[str, str],
    fixed: dict[str, str],
    dates_from_timestamps: bool = False,
    currency_in_capitals: bool = False,
) -> ImportMapping:
    """Save (or replace) the mapping ``name``; a shipped mapping is never overwritten."""
    name = name.strip()
    if not name or len(name) > 100:
        raise BillingError(INVALID_INPUT, "Name the mapping (1 to 100 characters).", field="name")
    fields = LAYOUTS[kind].fields
    columns = {f: c.strip() for f, c in columns.items() if f in fields and c.strip()}
    fixed = {f: v.strip() for f, v in fixed.items() if f in fields and v.strip()}
    both = sorted(set(columns) & set(fixed))
    if both:
        raise BillingError(
            INVALID_INPUT,
            f"Give {', '.join(both)} either a column or a fixed value, not both.",
            field="name",
        )
    existing = ImportMapping.objects.filter(name=name).first()
    if existing is not None and existing.builtin:
        raise BillingError(
            INVALID_INPUT,
            f"{name!r} ships with the product; save yours under another name.",
            field="name",
        )
    mapping, _ = ImportMapping.objects.update_or_create(
        name=name,
        defaults={
            "kind": kind,
            "columns": columns,
            "fixed": fixed,
            "dates_from_timestamps": dates_from_timestamps,
            "currency_in_capitals": currency_in_capitals,
        },
    )
    return mapping
