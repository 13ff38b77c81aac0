"""The ledger check's result, and the check the close snapshot records.

The check itself recomputes every stored total from the rows and the journal's
postings from what each row should have posted; it needs the rows of every app
that posts, so those apps register it (``billing.extensions.register_ledger_check``).
``verify_ledger`` runs every registered check and merges what they found; the
``verify_ledger`` management command prints it, and a move of the lock date stores
it (``Verification.as_snapshot``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from billing import extensions

# A close snapshot keeps this many failures (all are counted).
SNAPSHOT_FAILURES = 20


@dataclass(frozen=True)
class Failure:
    """One thing the check found wrong: its kind (what was checked, e.g.
    ``"invoice_totals"`` or ``"unbalanced_entry"``) and a sentence naming the row."""

    kind: str
    message: str


@dataclass
class Verification:
    """What a ledger check looked at and what it found wrong.

    ``checked`` counts what was checked, by name (``"invoices"``,
    ``"journal_entries"``). ``failed`` counts every failure found, by kind;
    ``failures`` lists them in the order found, at most the check's limit of each
    group it reports, so a ledger that drifts everywhere is counted whole but
    listed short.
    """

    checked: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    failed: dict[str, int] = field(default_factory=dict)

    @property
    def failure_count(self) -> int:
        return sum(self.failed.values())

    @property
    def ok(self) -> bool:
        return self.failure_count == 0

    def count(self, kind: str, message: str, *, listed: bool) -> None:
        """Count a failure of ``kind``; list it too when ``listed``."""
        self.failed[kind] = self.failed.get(kind, 0) + 1
        if listed:
            self.failures.append(Failure(kind, message))

    def merge(self, other: Verification) -> None:
        for name, n in other.checked.items():
            self.checked[name] = self.checked.get(name, 0) + n
        self.failures.extend(other.failures)
        for kind, n in other.failed.items():
            self.failed[kind] = self.failed.get(kind, 0) + n

    def as_snapshot(self, cap: int = SNAPSHOT_FAILURES) -> dict[str, object]:
        """The JSON a close snapshot stores: ``ok``, the counts, the first ``cap``
        failures and how many there were in all."""
        return {
            "ok": self.ok,
            "checked": dict(self.checked),
            "failures": [asdict(failure) for failure in self.failures[:cap]],
            "failure_count": self.failure_count,
        }


def verify_ledger(limit: int) -> Verification:
    """Every registered ledger check, merged; each lists at most ``limit`` failures
    of each group it reports. With no check registered nothing is checked
    (``checked`` is empty)."""
    result = Verification()
    for check in extensions.hooks.ledger_checks:
        result.merge(check(limit))
    return result
