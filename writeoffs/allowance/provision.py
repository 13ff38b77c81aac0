"""The provision run: at a month end, the allowance the aging requires per currency
(each aging column's total x its rate), against the allowance booked, and one journal
entry per currency for the difference.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction

from billing.actors import Actor
from billing.errors import INVALID_INPUT, INVALID_STATE, BillingError
from billing.ledger.books import trial_balance
from billing.ledger.periods import lock_date_read_once, require_open
from billing.ledger.posting import post_provision
from billing.models import AccountingCode
from billing.rules import require_perm, today
from writeoffs.approvals.limits import DEFAULT_CURRENCIES
from writeoffs.checks import method_switch_refusal
from writeoffs.models import DEFAULT_RATES, ProvisionBucket, ProvisionRate, ProvisionRun
from writeoffs.reports.aging import BUCKET_KEYS, BUCKET_LABELS, aging_report, outside_columns

RUN_PERMISSION = "writeoffs.run_provision"


@dataclass(frozen=True)
class ColumnProvision:
    """One aging column of one currency: its total at the month end x its rate."""

    key: str
    label: str
    total_minor: int
    rate: Decimal
    amount_minor: int


@dataclass(frozen=True)
class CurrencyProvision:
    currency: str
    columns: tuple[ColumnProvision, ...]
    booked_minor: int

    @property
    def required_minor(self) -> int:
        return sum(column.amount_minor for column in self.columns)

    @property
    def difference_minor(self) -> int:
        """What the run posts: positive tops the allowance up (Dr expense / Cr
        allowance), negative releases it."""
        return self.required_minor - self.booked_minor

    @property
    def difference_size_minor(self) -> int:
        return abs(self.difference_minor)


@dataclass(frozen=True)
class ProvisionPlan:
    """What a run for ``month_end`` would post; the confirm step shows it and the run
    recomputes it under its lock."""

    month_end: datetime.date
    currencies: tuple[CurrencyProvision, ...]

    @property
    def nothing_to_post(self) -> bool:
        return all(c.difference_minor == 0 for c in self.currencies)


@dataclass
class ProvisionResult:
    plan: ProvisionPlan
    runs: list[ProvisionRun] = field(default_factory=list)

    @property
    def posted(self) -> list[ProvisionRun]:
        return [run for run in self.runs if run.status == ProvisionRun.Status.POSTED]


def provision_amount(total_minor: int, rate: Decimal) -> int:
    """``total x rate %`` rounded half-up (away from zero) to the minor unit."""
    return int((Decimal(total_minor) * rate / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def month_end_of(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def parse_month(raw: str) -> datetime.date:
    """``YYYY-MM`` -> that month's last day; anything else is refused."""
    try:
        first = datetime.datetime.strptime(raw.strip(), "%Y-%m").date()
    except ValueError:
        raise BillingError(
            INVALID_INPUT, f"Enter a month as YYYY-MM, not {raw!r}.", field="month"
        ) from None
    return month_end_of(first.year, first.month)


def require_month_end(month_end: datetime.date) -> None:
    if month_end != month_end_of(month_end.year, month_end.month):
        raise BillingError(
            INVALID_INPUT, f"{month_end} is not the last day of a month.", field="month"
        )
    if month_end > today():
        raise BillingError(
            INVALID_INPUT,
            f"The month ending {month_end} has not ended yet (today is {today()}).",
            field="month",
        )


def ensure_default_provision_rates(**kwargs) -> None:
    """Put the starting matrix back when the table is empty (post_migrate).

    The data migration starts it once; this runs after every migrate, so a test
    database that was flushed (a transactional test) gets it again, as the approval
    limits do. Admin never deletes a rate, so an empty table only follows a flush.
    """
    if ProvisionRate.objects.exists():
        return
    ProvisionRate.objects.bulk_create(
        ProvisionRate(currency=currency, bucket=bucket, rate=rate)
        for currency in DEFAULT_CURRENCIES
        for bucket, rate in DEFAULT_RATES.items()
    )


def rates_for(currency: str) -> dict[str, Decimal]:
    """The currency's matrix; a currency the matrix has no row for yet (one first
    invoiced after the data migration) is provided for at the SPEC's starting rates."""
    rates = {str(bucket): rate for bucket, rate in DEFAULT_RATES.items()}
    rates.update(ProvisionRate.objects.filter(currency=currency).values_list("bucket", "rate"))
    return rates


def allowance_booked(as_of: datetime.date) -> dict[str, int]:
    """The allowance account's balance per currency at ``as_of``, from the journal: a
    contra-asset, so its credit balance, as a positive number."""
    balance = trial_balance(start=None, end=as_of, codes=[settings.ALLOWANCE_CODE])
    return {row.currency: -row.closing_minor for row in balance.rows}


def provision_plan(month_end: datetime.date, *, currency: str | None = None) -> ProvisionPlan:
    """The allowance required at ``month_end`` from the aging report as of that day
    (the aging CSV's figures), per currency, against the allowance booked by then."""
    aging = aging_report(month_end, currency=currency)
    booked = allowance_booked(month_end)
    currencies = set(aging.totals) | {code for code, amount in booked.items() if amount}
    if currency:
        currencies &= {currency}
    plans = []
    for code in sorted(currencies):
        totals = aging.totals.get(code)
        rates = rates_for(code)
        columns = []
        for key in BUCKET_KEYS:
            total = totals.buckets[key] if totals else 0
            rate = rates[key]
            columns.append(
                ColumnProvision(key, BUCKET_LABELS[key], total, rate, provision_amount(total, rate))
            )
        for key, label in outside_columns():
            total = totals.outside[key] if totals else 0
            rate = rates[ProvisionBucket.HELD_OR_PENDING]
            columns.append(ColumnProvision(key, label, total, rate, provision_amount(total, rate)))
        plans.append(CurrencyProvision(code, tuple(columns), booked.get(code, 0)))
    return ProvisionPlan(month_end, tuple(plans))


def provision_run(
    *,
    actor: Actor,
    month_end: datetime.date,
    currency: str | None = None,
    dry_run: bool = False,
    expected: dict[str, int] | None = None,
) -> ProvisionResult:
    """Post, per currency, the difference between the allowance the aging requires at
    ``month_end`` and the one booked by then, dated the month end (controller only).

    Refused for a day that is not a month end, a month not yet over, and a month end
    on or before the lock date (3130). A second run for the same month posts only a
    new difference. ``dry_run`` computes the plan and writes nothing. ``expected`` is
    the difference per currency the person confirmed: a plan that no longer matches it
    (a payment or another run since) is refused, so nothing posts that was not shown.
    """
    require_perm(actor, RUN_PERMISSION)
    require_month_end(month_end)
    with transaction.atomic(), lock_date_read_once():
        require_open(month_end, field="month", what="month end")
        refusal = method_switch_refusal()
        if refusal is not None:
            raise BillingError(INVALID_STATE, refusal, field="month")
        # Every run takes the allowance code's row first, so two runs queue instead of
        # both reading the same booked balance and both posting the difference.
        AccountingCode.objects.select_for_update().get(code=settings.ALLOWANCE_CODE)
        plan = provision_plan(month_end, currency=currency)
        shown = {c.currency: c.difference_minor for c in plan.currencies if c.difference_minor}
        if expected is not None and shown != {k: v for k, v in expected.items() if v}:
            raise BillingError(
                INVALID_STATE,
                "The figures changed since they were shown (a posting or another run since): "
                "review them again before posting.",
                field="month",
            )
        result = ProvisionResult(plan)
        if dry_run:
            return result
        for provision in plan.currencies:
            result.runs.append(_record(provision, month_end, actor))
    return result


def _record(provision: CurrencyProvision, month_end: datetime.date, actor: Actor) -> ProvisionRun:
    difference = provision.difference_minor
    run = ProvisionRun.objects.create(
        month_end=month_end,
        currency=provision.currency,
        status=ProvisionRun.Status.POSTED if difference else ProvisionRun.Status.NOTHING_TO_POST,
        allowance_method=settings.ALLOWANCE_METHOD,
        required_minor=provision.required_minor,
        booked_before_minor=provision.booked_minor,
        posted_minor=difference,
        breakdown=[
            {
                "column": column.key,
                "total_minor": column.total_minor,
                "rate": str(column.rate),
                "amount_minor": column.amount_minor,
            }
            for column in provision.columns
        ],
        created_by=actor.user,
        created_by_label=actor.label,
    )
    if difference:
        run.journal_entry = post_provision(run, actor=actor)
        run.save(update_fields=["journal_entry"])
    return run
