"""What every idempotent ledger row shares: who made it and the token that makes a
retry return the first row.
"""

from __future__ import annotations

from django.db import models


class IdempotentEntry(models.Model):
    """A ledger row that a retried request must not create twice.

    The key is scoped to whoever sent it (a user, an API key), and the
    fingerprint of the request's content tells a true replay from a clash.
    """

    idempotency_scope = models.CharField(max_length=40, blank=True, default="")
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        abstract = True
