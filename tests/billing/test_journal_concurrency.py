"""On PostgreSQL a move of the lock date waits for every posting in flight: a
posting holds the period lock (shared) from reading the lock date to its commit,
and the move takes it exclusively. SQLite's IMMEDIATE transactions already
serialise every write."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection, connections, transaction

from billing.actors import Actor
from billing.factories import UserFactory
from billing.ledger.close import lock_date_move
from billing.ledger.periods import lock_date
from billing.roles import CONTROLLER
from billing.rules import today

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's advisory lock")
def test_a_lock_date_move_waits_for_a_posting_in_flight():
    controller = Actor.for_user(UserFactory(username="race-controller", groups=[CONTROLLER]))
    posting_read_the_lock = threading.Event()
    posting_may_commit = threading.Event()
    moved = threading.Event()
    errors: list[BaseException] = []

    def posting() -> None:
        try:
            with transaction.atomic():
                assert lock_date() is None
                posting_read_the_lock.set()
                posting_may_commit.wait(timeout=10)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    def move() -> None:
        try:
            lock_date_move(
                locked_through=today() - datetime.timedelta(days=1),
                reason="Month end",
                actor=controller,
            )
            moved.set()
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    first = threading.Thread(target=posting)
    first.start()
    assert posting_read_the_lock.wait(timeout=10)
    second = threading.Thread(target=move)
    second.start()
    # The move cannot finish while the posting's transaction is open.
    assert not moved.wait(timeout=1.0)
    posting_may_commit.set()
    first.join(timeout=10)
    second.join(timeout=10)
    assert errors == []
    assert moved.is_set()
    assert lock_date() == today() - datetime.timedelta(days=1)
