"""The allowance for doubtful accounts' provision run (measure_provision).

``writeoffs.allowance.provision.provision_run`` for last month's end, as a controller
runs it at the close: the aging report as of that day, the allowance booked by then
(the trial balance of one code), and a journal entry per currency for the difference,
all under the allowance code's row lock. The dry run (the confirm step's plan, the
same reads under the same lock, nothing written) is timed ``rounds`` times; the run
that posts is timed once, as it runs once a month. Both grow with the invoices the
aging reads, so each is also reported per invoice.
"""

from __future__ import annotations

import datetime
import statistics
import time

from billing.actors import Actor
from billing.models import AccountingPeriodLock
from billing.rules import today
from tests.benchmarks.pages import NotReady
from writeoffs.allowance.provision import provision_run


def last_month_end() -> datetime.date:
    return today().replace(day=1) - datetime.timedelta(days=1)


def measure(user, rounds: int) -> dict[str, object]:
    """Median of ``rounds`` dry runs, then the one run that posts; their milliseconds."""
    month_end = last_month_end()
    locked = AccountingPeriodLock.objects.order_by("-locked_through").first()
    if locked is not None and locked.locked_through >= month_end:
        raise NotReady(f"the books are locked through {locked.locked_through}")
    actor = Actor.for_user(user)
    dry_ms = []
    for _ in range(rounds + 1):  # the first warms the caches, untimed
        start = time.perf_counter()
        provision_run(actor=actor, month_end=month_end, dry_run=True)
        dry_ms.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    result = provision_run(actor=actor, month_end=month_end)
    run_ms = (time.perf_counter() - start) * 1000
    return {
        "month_end": month_end.isoformat(),
        "dry_run_ms": statistics.median(dry_ms[1:]),
        "run_ms": run_ms,
        "currencies": len(result.runs),
        "posted": [
            {"currency": run.currency, "posted_minor": run.posted_minor} for run in result.posted
        ],
    }
