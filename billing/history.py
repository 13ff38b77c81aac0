"""The actor behind every historical row.

django-simple-history records ``history_user`` from the request. Changes made by
an API key or by the system have no user, so each historical model also carries
``history_actor``: a readable label filled from the actor the service is acting
for (or, for an admin edit, the signed-in user).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import models

from billing.actors import Actor

_current_actor: ContextVar[Actor | None] = ContextVar("current_actor", default=None)


class ActorHistoryModel(models.Model):
    """Base for historical models: adds who made the change, in words."""

    history_actor = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        abstract = True


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _current_actor.set(actor)
    try:
        yield actor
    finally:
        _current_actor.reset(token)


def current_actor() -> Actor | None:
    return _current_actor.get()


def _fill_history_actor(sender, history_instance, **kwargs) -> None:
    actor = current_actor()
    if actor is not None:
        history_instance.history_actor = actor.label
        if actor.user is not None:
            history_instance.history_user = actor.user
    elif getattr(history_instance, "history_user", None) is not None:
        history_instance.history_actor = history_instance.history_user.get_username()


def connect_history_actor() -> None:
    from simple_history.signals import pre_create_historical_record

    pre_create_historical_record.connect(_fill_history_actor, dispatch_uid="history_actor")


def cache_history_managers() -> None:
    """Build each model's history manager class once instead of on every access.

    django-simple-history's ``HistoryDescriptor`` creates a new manager class
    (``from_queryset``, which walks the queryset with ``inspect.getmembers``) every
    time ``instance.history`` is read, and it reads it for every historical row it
    writes. In the write-off service's profile that was a third of the cost of each
    history row. The class never changes, so it is made once here.
    """
    from django.apps import apps
    from simple_history.manager import HistoryDescriptor

    class CachedHistoryDescriptor(HistoryDescriptor):
        def __init__(self, original: HistoryDescriptor) -> None:
            super().__init__(original.model, original.manager_class, original.queryset_class)
            self.bound_manager_class = self.manager_class.from_queryset(self.queryset_class)

        def __get__(self, instance, owner):
            return self.bound_manager_class(self.model, instance)

    for model in apps.get_models():
        for name, value in list(vars(model).items()):
            if type(value) is HistoryDescriptor:
                setattr(model, name, CachedHistoryDescriptor(value))


def record_creation_history(
    model: type[models.Model],
    *,
    after_pk: int,
    actor_label: str,
    reason: str,
    only_pks: Sequence[int] | None = None,
) -> int:
    """Write a creation record ("+") for each row of ``model`` with a key above
    ``after_pk`` (and among ``only_pks``, when given), in one INSERT … SELECT: for
    rows written in bulk (``seed_billing``, the import), which bypasses
    simple-history's signals. Their first change then shows what it changed.
    Returns how many records it wrote."""
    from django.db import connection
    from django.utils import timezone

    history = model.history.model  # type: ignore[attr-defined]  # simple_history
    own = {"history_id", "history_date", "history_change_reason", "history_type"}
    own |= {"history_user", "history_actor"}
    columns = [f.column for f in history._meta.concrete_fields if f.name not in own]
    quote = connection.ops.quote_name
    copied = ", ".join(quote(column) for column in columns)
    key = model._meta.pk.column if model._meta.pk else None
    sql = (
        f"INSERT INTO {quote(history._meta.db_table)} "  # noqa: S608  (names from _meta)
        f"({copied}, history_date, history_change_reason, history_type, history_actor) "
        f"SELECT {copied}, %s, %s, '+', %s FROM {quote(model._meta.db_table)} "
        f"WHERE {quote(key or 'id')} > %s"
    )
    params: list[Any] = [timezone.now(), reason, actor_label, after_pk]
    if only_pks is not None:
        sql += f" AND {quote(key or 'id')} IN ({', '.join(['%s'] * len(only_pks))})"
        params.extend(only_pks)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
