"""What the hold services tell the layers above them (dispute cases), which they
never import: functions registered in ``WriteoffsConfig.ready()``, called inside the
service's transaction, under its invoice lock, as its actor.

- ``hold_opened``: a hold was created outside a case (the Part 1 hold form and API),
  so that the case layer gives it a case of its own;
- ``hold_settled``: a hold was settled (by a person, by expiry, or by the approval of
  its conversion), so that its case is resolved when nothing of it is left open.
"""

from __future__ import annotations

from collections.abc import Callable

from billing.actors import Actor
from writeoffs.models import DisputeHold

type HoldListener = Callable[[DisputeHold, Actor], None]

hold_opened: list[HoldListener] = []
hold_settled: list[HoldListener] = []


def register(listeners: list[HoldListener], listener: HoldListener) -> None:
    if listener not in listeners:
        listeners.append(listener)


def announce(listeners: list[HoldListener], hold: DisputeHold, actor: Actor) -> None:
    for listener in listeners:
        listener(hold, actor)
