"""The case emails (SPEC Part 3, "Notifications"): the assignee hears of an assignment
when it commits, and each user gets a daily digest of their overdue cases (a
``run_daily`` step). Both go through Django's email settings (the console backend
by default)."""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.conf import settings
from django.core.mail import send_mail, send_mass_mail
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils.formats import date_format

from billing.rules import today
from writeoffs.models import OPEN_CASE_STATUSES, Case, OverdueDigestRun


def case_url(case: Case) -> str:
    """The case's page, absolute, for an email. The page is the screens' (another part
    of the product); until its URL exists the link is the Cases list's root."""
    try:
        path = reverse("case_detail", args=[case.number])
    except NoReverseMatch:
        path = "/"
    return settings.SITE_URL.rstrip("/") + path


def notify_assignee_on_commit(case: Case) -> None:
    """Mail the case's assignee once the assignment commits (never for a rolled back
    one), if they have an email address."""
    assignee = case.assignee
    if assignee is None or not assignee.email:
        return
    subject = f"{case} assigned to you: {case.account.name}"
    body = (
        f"{case} ({case.category.name}) on account {case.account.acct_no} · "
        f"{case.account.name} is assigned to you.\n"
        f"Due {date_format(case.due_date)}.\n\n{case_url(case)}\n"
    )
    recipient = assignee.email
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
    )


def overdue_digest(on: datetime.date | None = None) -> int | None:
    """Mail each assignee the list of their open cases past their due date on ``on``
    (today); return how many emails went out, or ``None`` when that day's digest was
    sent already (the daily run may be repeated; the digest goes once)."""
    day = on or today()
    with transaction.atomic():
        # The day's row is taken first, under its unique constraint: two daily runs
        # at once cannot both send.
        run, created = OverdueDigestRun.objects.select_for_update().get_or_create(
            day=day, defaults={"emails_sent": 0}
        )
        if not created:
            return None
        sent = _send_digest(day)
        run.emails_sent = sent
        run.save(update_fields=["emails_sent"])
    return sent


def _send_digest(day: datetime.date) -> int:
    cases = (
        Case.objects.filter(status__in=OPEN_CASE_STATUSES, due_date__lt=day, assignee__isnull=False)
        .exclude(assignee__email="")
        .filter(assignee__is_active=True)
        .select_related("assignee", "account", "category")
        .order_by("assignee_id", "due_date", "number")
    )
    per_user: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        per_user[case.assignee.email].append(case)
    messages = []
    for email, overdue in per_user.items():
        lines = [
            f"- {case} ({case.category.name}), {case.account.name}: due "
            f"{date_format(case.due_date)}, {case.get_status_display().lower()}. "
            f"{case_url(case)}"
            for case in overdue
        ]
        subject = f"{len(overdue)} overdue dispute case{'s' if len(overdue) != 1 else ''}"
        body = f"Your dispute cases past their due date on {date_format(day)}:\n\n" + "\n".join(
            lines
        )
        messages.append((subject, body + "\n", settings.DEFAULT_FROM_EMAIL, [email]))
    if messages:
        send_mass_mail(messages)
    return len(messages)
