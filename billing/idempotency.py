"""Idempotency: a retried request returns what the first one did and writes nothing.

Two layers use it. The services (``fingerprint``, ``find_replay``,
``create_once``) store the caller's key on the entry itself, so a retry finds the
entry however long after. The API (``replay_or_run``) also keeps the first HTTP
answer for ``IDEMPOTENCY_WINDOW`` in ``ApiIdempotencyRecord``, so a retry gets
the very same answer, refusals included.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from billing.actors import Actor
from billing.errors import IDEMPOTENCY_CLASH, INVALID_INPUT, OVER_AVAILABLE, BillingError
from billing.models import IDEMPOTENCY_WINDOW, ApiIdempotencyRecord, ApiKey

IDEMPOTENCY_KEY_MAX_LENGTH = 100

# The constraints a lost race can break: the entry's idempotency key (its model's
# unique constraint on it, ``idempotency_constraint``) and the invoice's balance
# CHECKs. Any other IntegrityError is a bug, not a race.
BALANCE_CONSTRAINTS = frozenset(
    {
        "invoice_paid_gte_0",
        "invoice_written_off_gte_0",
        "invoice_held_gte_0",
        "invoice_pending_gte_0",
        "invoice_held_pending_within_balance",
    }
)


def fingerprint(**content: object) -> str:
    """A stable hash of a request's content, to tell a replay from a clash."""

    def normalise(value: object) -> object:
        if isinstance(value, Decimal | datetime.date):
            return str(value)
        return value

    payload = json.dumps({k: normalise(v) for k, v in sorted(content.items())}, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def find_replay(
    model: type[models.Model], actor: Actor, key: str | None, content_fingerprint: str
) -> Any:
    """The entry an earlier request with this idempotency key created, if any.

    The same key with other content is refused: the caller reused a key for a
    different operation, and guessing which one they meant would be wrong.
    """
    if not key:
        return None
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise BillingError(
            INVALID_INPUT, "The idempotency key is too long.", field="idempotency_key"
        )
    # At most one row matches (a unique constraint), so no ORDER BY is needed.
    # Every entry model with an idempotency key also stores its fingerprint. Almost
    # every key is new: the lookup reads two columns, and only a replay the row.
    match = next(
        iter(
            model._default_manager.filter(
                idempotency_scope=actor.idempotency_scope, idempotency_key=key
            )
            .order_by()
            .values_list("pk", "idempotency_fingerprint")[:1]
        ),
        None,
    )
    if match is None:
        return None
    pk, stored_fingerprint = match
    if stored_fingerprint != content_fingerprint:
        raise BillingError(
            IDEMPOTENCY_CLASH,
            "This request's idempotency key was already used for a different request.",
        )
    return model._default_manager.get(pk=pk)


def idempotency_constraint(model: type[models.Model]) -> str | None:
    """The name of ``model``'s unique constraint on its idempotency key, if it has one
    (every entry model that takes a key declares one in its ``Meta.constraints``)."""
    for constraint in model._meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint):
            continue
        if "idempotency_key" in constraint.fields:
            return constraint.name
    return None


def violated_constraint(error: IntegrityError, model: type[models.Model]) -> str | None:
    """The name of the constraint ``error`` reports, when the database says it.

    PostgreSQL names it in the diagnostics. SQLite names a CHECK constraint in
    its message and a UNIQUE one only by its columns, so the idempotency key's
    unique constraint of ``model`` (the entry being created) is recognised by its
    table and column.
    """
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    if diag is not None:
        return diag.constraint_name
    message = str(cause or error)
    if message.startswith("CHECK constraint failed: "):
        return message.removeprefix("CHECK constraint failed: ").strip()
    if message.startswith("UNIQUE constraint failed: ") and message.endswith(".idempotency_key"):
        table = message.removeprefix("UNIQUE constraint failed: ").split(".", 1)[0]
        if table == model._meta.db_table:
            return idempotency_constraint(model)
    return None


def create_once(
    model: type[models.Model],
    actor: Actor,
    key: str | None,
    content_fingerprint: str,
    create: Callable[[], Any],
):
    """Run ``create`` in its own transaction, turning a lost race into a clean answer.

    ``create`` takes the invoice lock and looks for a replay itself, so two
    requests with one key normally serialise. The unique constraint and the
    invoice CHECK constraints catch what a lock cannot (the same key on two
    invoices at once): the loser gets the first record, or a refusal, never a
    half-written row or an IntegrityError. Any other constraint is re-raised:
    it is a bug, and must be logged as one.
    """
    try:
        with transaction.atomic():
            return create()
    except IntegrityError as error:
        constraint = violated_constraint(error, model)
        race = constraint is not None and (
            constraint == idempotency_constraint(model) or constraint in BALANCE_CONSTRAINTS
        )
        if not race:
            raise
        existing = find_replay(model, actor, key, content_fingerprint) if key else None
        if existing is not None:
            return existing
        raise BillingError(
            OVER_AVAILABLE,
            "The invoice's balance changed while this was being saved. Nothing was written; "
            "check the balance and try again.",
            field="amount",
        ) from None


def idempotency_fields(actor: Actor, key: str | None, content_fingerprint: str) -> dict[str, Any]:
    """The columns by which a later request with the same key finds this entry."""
    return {
        "idempotency_scope": actor.idempotency_scope,
        "idempotency_key": key or None,
        "idempotency_fingerprint": content_fingerprint,
    }


# --- The API's stored answers ---------------------------------------------------


def request_sha256(call: str, params: dict[str, object]) -> str:
    """A hash of what was asked, not of how it was encoded: the same inputs sent
    as JSON or as a form are the same request. The API key itself is left out."""
    content = {
        name: str(value) if isinstance(value, int | Decimal) else value
        for name, value in params.items()
        if name != "auth_key"
    }
    payload = json.dumps({"call": call, "params": content}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


Answer = tuple[int, dict]


def replay_or_run(
    api_key: ApiKey, key: str, digest: str, run: Callable[[], Answer]
) -> tuple[int, dict, bool]:
    """Answer a request sent with an Idempotency-Key: ``(status, body, replayed)``.

    The first answer is stored with the request's hash. A retry with the same
    request gets that answer back, a different request with the same key gets 409.
    Concurrent retries all reach the service, whose own idempotency key (the same
    header) makes them return one and the same entry; then one of them stores the
    answer and the rest find it.
    """
    since = timezone.now() - IDEMPOTENCY_WINDOW
    record = ApiIdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
    if record is not None and record.created_at >= since:
        return _replay(record, digest)
    status, body = run()
    if body["error_code"] == IDEMPOTENCY_CLASH:
        # The service saw this key used for something else; storing that would
        # make the key's first use look like the clash.
        return status, body, False
    try:
        with transaction.atomic():
            if record is not None:
                ApiIdempotencyRecord.objects.filter(pk=record.pk, created_at__lt=since).delete()
            ApiIdempotencyRecord.objects.create(
                api_key=api_key,
                key=key,
                request_sha256=digest,
                response_status=status,
                response_body=body,
            )
    except IntegrityError:
        # A concurrent request with this key stored its answer first.
        stored = ApiIdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
        if stored is not None and stored.request_sha256 == digest:
            return _replay(stored, digest)
    return status, body, False


def _replay(record: ApiIdempotencyRecord, digest: str) -> tuple[int, dict, bool]:
    if record.request_sha256 != digest:
        error = BillingError(
            IDEMPOTENCY_CLASH, "This Idempotency-Key was already used for a different request."
        )
        return error.http_status, {"error_code": error.code, "error_msg": error.message}, False
    return record.response_status, record.response_body, True
