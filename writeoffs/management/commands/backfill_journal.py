"""Post the journal entries of a database made before the journal existed.

Each row posts on its own dates: an invoice on its bill date and its void on the
day it was voided, a payment on its paid-on date and its void on the day it was
removed, a write-off on its write-off date and its reversal on the day it was
reversed. Rows that already
have their entry are skipped, so a second run posts nothing. It goes through the
posting module like every service, a batch of rows per transaction, and refuses
once a lock date is set: history must not post into closed periods.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Exists, OuterRef

from billing.actors import Actor
from billing.ledger.aggregates import rebuild_aggregates
from billing.ledger.periods import lock_date
from billing.ledger.posting import post_invoice_sent, post_payment, post_reversal, post_writeoff
from billing.ledger.rules import reverses
from billing.models import Invoice, JournalEntry, JournalEvent, Payment
from writeoffs.models import WriteOff

BATCH = 1000


def _without(queryset, source_type: str, *events: str):
    posted = JournalEntry.objects.filter(
        source_type=source_type, source_id=OuterRef("pk"), event__in=events
    )
    return queryset.filter(~Exists(posted)).order_by("pk")


class Command(BaseCommand):
    help = (
        "Post journal entries for existing invoices, payments and write-offs on their own "
        "dates. Idempotent; refuses once a lock date is set."
    )

    def handle(self, *args, **options) -> None:
        locked = lock_date()
        if locked is not None:
            raise CommandError(
                f"Refusing to backfill: the books are closed through {locked}. Backfill runs "
                "before any lock date is set."
            )
        system = Actor.for_system()
        counts = {}

        def each(label: str, queryset, post) -> None:
            done = 0
            while True:
                # Re-read the next batch each time: posted rows drop out of the query.
                with transaction.atomic():
                    batch = list(queryset[:BATCH])
                    for row in batch:
                        post(row)
                done += len(batch)
                if len(batch) < BATCH:
                    break
            counts[label] = done

        sent = Invoice.objects.filter(
            status__in=[Invoice.Status.SENT, Invoice.Status.VOID], total_minor__gt=0
        )
        each(
            "invoices sent",
            _without(sent, "billing.invoice", JournalEvent.INVOICE_SENT),
            lambda invoice: post_invoice_sent(invoice, actor=system),
        )
        each(
            "invoice voids",
            _without(
                sent.filter(status=Invoice.Status.VOID),
                "billing.invoice",
                JournalEvent.INVOICE_VOID,
            ),
            lambda invoice: post_reversal(
                invoice,
                event=JournalEvent.INVOICE_VOID,
                invoice=invoice,
                actor=system,
                entry_date=reverses(JournalEvent.INVOICE_VOID).date.of(invoice),
            ),
        )
        payments = Payment.objects.select_related("invoice")
        each(
            "payments",
            _without(payments, "billing.payment", JournalEvent.PAYMENT),
            lambda payment: post_payment(payment, invoice=payment.invoice, actor=system),
        )
        each(
            "payment voids",
            _without(
                payments.filter(status=Payment.Status.REMOVED),
                "billing.payment",
                JournalEvent.PAYMENT_VOID,
            ),
            lambda payment: post_reversal(
                payment,
                event=JournalEvent.PAYMENT_VOID,
                invoice=payment.invoice,
                actor=system,
                entry_date=reverses(JournalEvent.PAYMENT_VOID).date.of(payment),
            ),
        )
        writeoffs = WriteOff.objects.select_related("invoice").filter(
            status__in=[WriteOff.Status.ACTIVE, WriteOff.Status.REVERSED]
        )
        each(
            "write-offs",
            _without(
                writeoffs,
                "writeoffs.writeoff",
                JournalEvent.WRITEOFF,
                JournalEvent.DISPUTE_CONVERSION,
            ),
            lambda writeoff: post_writeoff(writeoff, actor=system),
        )
        each(
            "write-off reversals",
            _without(
                writeoffs.filter(status=WriteOff.Status.REVERSED),
                "writeoffs.writeoff",
                JournalEvent.WRITEOFF_REVERSAL,
            ),
            lambda writeoff: post_reversal(
                writeoff,
                event=JournalEvent.WRITEOFF_REVERSAL,
                invoice=writeoff.invoice,
                actor=system,
                entry_date=reverses(JournalEvent.WRITEOFF_REVERSAL).date.of(writeoff),
            ),
        )
        if not any(counts.values()):
            self.stdout.write(
                self.style.SUCCESS(
                    "Nothing to backfill: every invoice, payment and write-off already has "
                    "its journal entries."
                )
            )
            return
        # Each posting kept its invoice's aggregate; a journal that lost lines behind
        # the services' back left the aggregates counting them, so recompute them
        # from the lines now complete (idempotent: nothing changes when none drifted).
        rebuild_aggregates()
        summary = ", ".join(f"{n:,} {label}" for label, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Posted {summary}."))
