"""Dispute expiry: DISPUTE_HOLD_EXPIRATION_ACTION on the holds past their expiry date."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings

from billing.actors import Actor
from billing.errors import (
    INVALID_DISPUTE_SETTINGS,
    INVALID_STATE,
    BillingError,
)
from billing.ledger.codes import control_codes
from billing.ledger.periods import lock_date
from writeoffs.checks import EXPIRATION_LEAVE_OPEN
from writeoffs.lifecycle.holds import _settle
from writeoffs.lifecycle.rules import run_date_or_today
from writeoffs.models import (
    DisputeHold,
    ReasonCode,
    Settlement,
    Source,
)


@dataclass
class ExpiryResult:
    run_date: datetime.date
    action: str
    settled: list[int] = field(default_factory=list)
    left_open: list[int] = field(default_factory=list)
    # Set when the run date is in a closed period and the action would post.
    closed_through: datetime.date | None = None
    # Conversions over the hold creator's limit, now waiting for approval.
    conversion_pending: list[int] = field(default_factory=list)
    # Past expiry, but their conversion was refused (rejected, withdrawn or lapsed):
    # asked once, so left open for a person to settle (convert action only).
    refused: list[int] = field(default_factory=list)
    # release_reage: the holds (among ``settled``) released without re-aging, and why.
    not_reaged: dict[int, str] = field(default_factory=dict)

    def summary(self) -> str:
        if self.closed_through is not None:
            return (
                f"The books are closed through {self.closed_through}: converted nothing on "
                f"{self.run_date} ({len(self.left_open)} dispute hold(s) past expiry left open)."
            ) + self._refused_summary()
        if self.action == EXPIRATION_LEAVE_OPEN:
            return (
                f"{len(self.left_open)} dispute hold(s) past expiry on {self.run_date} left open "
                f"(DISPUTE_HOLD_EXPIRATION_ACTION is none)."
            )
        summary = f"{len(self.settled)} dispute hold(s) expired on {self.run_date}: {self.action}."
        if self.not_reaged:
            summary += f" {len(self.not_reaged)} of them released without re-aging."
        if self.conversion_pending:
            summary += (
                f" {len(self.conversion_pending)} conversion(s) over the hold creator's limit "
                "are pending approval."
            )
        return summary + self._refused_summary()

    def _refused_summary(self) -> str:
        if not self.refused:
            return ""
        return (
            f" {len(self.refused)} dispute hold(s) past expiry whose conversion was refused "
            "left open for a person to settle."
        )


def dispute_holds_expire(*, run_date: datetime.date | None = None) -> ExpiryResult:
    """Apply DISPUTE_HOLD_EXPIRATION_ACTION to every open hold past its expiry date.

    Each hold is settled in its own transaction, as the system. Running it again
    changes nothing: settled holds are no longer open. ``run_date`` may be a past
    date (a catch-up run), never a future one. ``release_reage`` re-ages only an
    invoice whose whole balance due the hold covered, and never moves an aging date
    backwards or inside a closed period: such a hold is released without re-aging.
    """
    run_date = run_date_or_today(run_date)
    action = settings.DISPUTE_HOLD_EXPIRATION_ACTION
    result = ExpiryResult(run_date=run_date, action=action)
    past_expiry = DisputeHold.objects.filter(
        # A hold whose conversion waits for approval is left to the approver.
        status=DisputeHold.Status.OPEN,
        conversion_pending=False,
        expires_on__lt=run_date,
    ).order_by("id")
    if action == Settlement.CONVERT:
        # A conversion is asked for once: one refused is not asked for again.
        result.refused = list(
            past_expiry.filter(conversion_refused=True).values_list("id", flat=True)
        )
        past_expiry = past_expiry.filter(conversion_refused=False)
    due = list(past_expiry.values_list("id", flat=True))
    if action == EXPIRATION_LEAVE_OPEN:
        result.left_open = due
        return result
    if action not in Settlement.values:
        raise BillingError(
            INVALID_DISPUTE_SETTINGS, f"DISPUTE_HOLD_EXPIRATION_ACTION {action!r} is not valid."
        )
    conversion_code_id = None
    if action == Settlement.CONVERT:
        locked = lock_date()
        # A conversion posts on the run date: a closed period takes no postings.
        if locked is not None and run_date <= locked:
            result.closed_through = locked
            result.left_open = due
            return result
        conversion_code_id = control_codes().dispute_conversion_id
    system = Actor.for_system()
    for hold_id in due:
        try:
            settled = _settle(
                dispute_hold_id=hold_id,
                action=action,
                actor=system,
                comments=f"Dispute hold expired on {run_date}.",
                reason_code=ReasonCode.SYSTEM_CONVERSION,
                # Expiry posts to DISPUTE_CONVERSION_CODE (SPEC, Part 1 rules amended).
                accounting_code_id=conversion_code_id,
                source=Source.SYSTEM,
                on_date=run_date,
                by_expiry=True,
            )
        except BillingError as error:
            # Settled by a person between the listing and the lock: nothing to do.
            if error.code != INVALID_STATE:
                raise
            continue
        if settled.hold.conversion_pending:
            result.conversion_pending.append(hold_id)
        else:
            result.settled.append(hold_id)
        if settled.reage is not None and not settled.reage.moves:
            result.not_reaged[hold_id] = settled.reage.refusal
    return result
