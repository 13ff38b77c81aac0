"""Tallies: running sums kept as insert-only rows of deltas.

A change adds a row of what it changed (``+5000`` due on one currency and day, say)
and never updates one: writers share no row, so twenty of them at once queue on
nothing. A key's figure is the sum of its rows, read in one grouped statement.
Compaction (``billing.tallies.compact``) folds each key's rows into one, so a tally
stays near one row per key, however long the history.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class Tally(models.Model):
    """Base of a tally's model: ``KEYS`` name the columns a figure is kept per,
    ``SUMS`` the integer columns summed (minor units or counts)."""

    id = models.BigAutoField(primary_key=True)

    KEYS: ClassVar[tuple[str, ...]] = ()
    SUMS: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True
