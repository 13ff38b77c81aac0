"""The events feed (SPEC Part 3): each change the billing system must hear about.

An event's ``id`` is its place in the feed: gap-free, and given out under the lock
on the one ``EventCounter`` row, so ids commit in the order they are given (see
``billing.events`` and docs/api.md, "Events feed").
"""

from django.db import models


class EventType(models.TextChoices):
    """The wire names a billing system subscribes to; one definition, used by the
    services that write events, the API and its OpenAPI document."""

    WRITEOFF_CREATED = "writeoff.created", "Write-off created"
    WRITEOFF_APPROVED = "writeoff.approved", "Write-off approved"
    WRITEOFF_REJECTED = "writeoff.rejected", "Write-off rejected"
    WRITEOFF_REVERSED = "writeoff.reversed", "Write-off reversed"
    DISPUTE_OPENED = "dispute.opened", "Dispute opened"
    DISPUTE_SETTLED = "dispute.settled", "Dispute settled"
    DISPUTE_EXPIRED = "dispute.expired", "Dispute expired"
    RECOVERY_RECORDED = "recovery.recorded", "Recovery recorded"
    PAYMENT_RECORDED = "payment.recorded", "Payment recorded"
    PAYMENT_VOIDED = "payment.voided", "Payment voided"
    INVOICE_VOIDED = "invoice.voided", "Invoice voided"
    # Written by dispute cases (SPEC Part 3, "Collections pause").
    COLLECTIONS_PAUSED = "collections.paused", "Collections paused"
    COLLECTIONS_RESUMED = "collections.resumed", "Collections resumed"


class Event(models.Model):
    """One event, with its answer in the feed (``payload``) built when it was written:
    a later change to the account or invoice never rewrites what was announced."""

    id = models.PositiveBigIntegerField(primary_key=True)
    type = models.CharField(max_length=40, choices=EventType.choices)
    occurred_at = models.DateTimeField()
    account = models.ForeignKey(
        "billing.Account", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    actor_label = models.CharField(max_length=150, blank=True)
    payload = models.JSONField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(id__gt=0), name="event_id_positive"),
        ]

    def __str__(self) -> str:
        return f"Event {self.id} {self.type}"


class EventCounter(models.Model):
    """The feed's one counter row: the last event id given out. Writers lock it, so
    they give out ids one at a time and each id commits before the next is given."""

    id = models.PositiveSmallIntegerField(primary_key=True)
    last_id = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="event_counter_single_row"),
        ]

    def __str__(self) -> str:
        return f"Event counter at {self.last_id}"
