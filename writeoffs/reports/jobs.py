"""Report jobs: aging and the trial balance as of a past date, computed from the
journal on the task worker when a request would take more than about two seconds
(SPEC Part 3, "Reports that do not grow with history").

A request asks ``aging_runs_as_job`` / ``billing.ledger.aggregates.
trial_balance_runs_as_job`` (an estimate
from two index lookups, ``billing.ledger.aggregates.lines_to_read``); when it says
so the page offers a job instead of computing. ``report_job_request`` records the
job (the transport enqueues it in the same transaction, ``writeoffs.tasks``) and
``report_job_run`` is what the worker runs: one step per currency, the progress
committed after each so the page's bar moves, then the CSV from the one CSV writer,
kept on the row for the requester to download.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterator, Sequence

from django.db import transaction
from django.utils import timezone

from billing.actors import Actor
from billing.csv_export import csv_lines
from billing.errors import INVALID_INPUT, INVALID_STATE, BillingError
from billing.ledger.aggregates import lines_to_read, too_slow_for_a_request
from billing.ledger.books import TrialBalance, trial_balance
from billing.money import from_minor
from billing.receivables.selectors import currencies_in_use
from billing.rules import require_perm, today
from writeoffs.models import ReportJob
from writeoffs.reports.aging import BUCKET_KEYS, BUCKETS, AgingReport, aging_report, outside_columns


def aging_runs_as_job(as_of: datetime.date) -> bool:
    """Aging as of a past date reads every AR line dated on or before it."""
    return as_of < today() and too_slow_for_a_request(
        lines_to_read(None, as_of, stored_months=False)
    )


def report_job_request(
    *,
    kind: str,
    as_of: datetime.date,
    actor: Actor,
    start: datetime.date | None = None,
    currency: str = "",
) -> ReportJob:
    """Record a report job for the worker. Anyone who may read the reports may ask."""
    require_perm(actor, "billing.view_invoice")
    if actor.user is None:
        raise BillingError(INVALID_STATE, "A report job belongs to a signed-in user.")
    if kind not in ReportJob.Kind.values:
        raise BillingError(INVALID_INPUT, "Choose aging or the trial balance.", field="kind")
    if as_of > today():
        raise BillingError(INVALID_INPUT, "The as-of date cannot be in the future.", field="as_of")
    if start is not None and start > as_of:
        raise BillingError(INVALID_INPUT, "The start must be on or before the end.", field="start")
    return ReportJob.objects.create(
        kind=kind,
        as_of=as_of,
        start=start if kind == ReportJob.Kind.TRIAL_BALANCE else None,
        currency=currency if kind == ReportJob.Kind.AGING else "",
        requested_by=actor.user,
    )


def report_job_run(job_id: int) -> ReportJob:
    """Compute a queued job (the worker's entry point calls this). A job already
    taken by another worker, or finished, is left alone. A failure is recorded on
    the job, with its message, and not raised: the job is finished either way."""
    with transaction.atomic():
        job = ReportJob.objects.select_for_update().get(pk=job_id)
        if job.status != ReportJob.Status.QUEUED:
            return job
        currencies = [job.currency] if job.currency else currencies_in_use()
        job.status = ReportJob.Status.RUNNING
        job.steps_total = (len(currencies) if job.kind == ReportJob.Kind.AGING else 1) + 1
        job.save(update_fields=["status", "steps_total"])
    try:
        if job.kind == ReportJob.Kind.AGING:
            header, rows = _aging_rows(job, currencies)
            job.filename = f"aging-{job.as_of.isoformat()}.csv"
        else:
            header, rows = _trial_balance_rows(job)
            start = job.start.isoformat() if job.start else "start"
            job.filename = f"trial-balance-{start}-{job.as_of.isoformat()}.csv"
        job.content = "".join(csv_lines(header, rows))
        job.status = ReportJob.Status.DONE
    except Exception as error:
        job.status, job.error = ReportJob.Status.FAILED, f"{type(error).__name__}: {error}"
    job.steps_done, job.finished_at = job.steps_total, timezone.now()
    job.save(update_fields=["filename", "content", "status", "error", "steps_done", "finished_at"])
    return job


def _step(job: ReportJob) -> None:
    """One more step done, committed at once so the progress bar shows it."""
    job.steps_done += 1
    ReportJob.objects.filter(pk=job.pk).update(steps_done=job.steps_done)


AGING_HEADER = (
    ["As of", "Account No.", "Account", "Currency"]
    + [label for _, label, *_ in BUCKETS]
    + [label for _, label in outside_columns()]
    + ["Total"]
)


def aging_csv_rows(report: AgingReport) -> Iterator[Sequence[object]]:
    """The aging's CSV rows, per account then per currency's total: the report page's
    download and a report job's file. Today's accounts stream a chunk at a time."""
    outside = outside_columns()
    for row in itertools.chain(report.accounts, report.totals.values()):
        yield (
            [report.as_of, row.acct_no, row.name or "Total", row.currency]
            + [from_minor(row.buckets[key], row.currency) for key in BUCKET_KEYS]
            + [from_minor(row.outside[key], row.currency) for key, _ in outside]
            + [from_minor(row.total_minor, row.currency)]
        )


def _aging_rows(job: ReportJob, currencies: list[str]) -> tuple[list[str], list]:
    accounts, totals = [], []
    for currency in currencies:
        report = aging_report(job.as_of, currency=currency, from_journal=True)
        rows = list(aging_csv_rows(report))
        accounts.extend(rows[: len(report.accounts)])
        totals.extend(rows[len(report.accounts) :])
        _step(job)
    return AGING_HEADER, accounts + totals


TRIAL_BALANCE_HEADER = [
    "Code",
    "Name",
    "Kind",
    "Currency",
    "Opening",
    "Debits",
    "Credits",
    "Closing",
]


def trial_balance_csv_rows(balance: TrialBalance) -> Iterator[Sequence[object]]:
    for row in balance.rows:
        yield [
            row.code,
            row.name,
            row.kind,
            row.currency,
            *(
                from_minor(minor, row.currency)
                for minor in (row.opening_minor, row.debit_minor, row.credit_minor)
            ),
            from_minor(row.closing_minor, row.currency),
        ]
    for currency, totals in balance.totals.items():
        yield [
            None,
            "Total",
            None,
            currency,
            *(
                from_minor(minor, currency)
                for minor in (totals.opening_minor, totals.debit_minor, totals.credit_minor)
            ),
            from_minor(totals.closing_minor, currency),
        ]


def _trial_balance_rows(job: ReportJob) -> tuple[list[str], list]:
    balance = trial_balance(start=job.start, end=job.as_of)
    _step(job)
    return TRIAL_BALANCE_HEADER, list(trial_balance_csv_rows(balance))
