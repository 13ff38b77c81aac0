"""factory-boy factories for write-offs and dispute holds, shared by the tests
and by ``seed_billing``.

Like the payment factory, these make rows only: the invoice's running totals
are left alone. Use the services when a test needs a consistent ledger.
"""

import datetime

import factory

from billing.factories import InvoiceFactory
from writeoffs.models import DisputeHold, ReasonCode, Source, WriteOff


class WriteOffFactory(factory.django.DjangoModelFactory[WriteOff]):
    class Meta:
        model = WriteOff

    invoice = factory.SubFactory(InvoiceFactory)
    account = factory.LazyAttribute(lambda w: w.invoice.account)
    amount_minor = 1000
    comments = "Written off"
    source = Source.UI
    created_by_label = "seed"
    reason_code = ReasonCode.BAD_DEBT
    writeoff_date = factory.LazyAttribute(lambda w: w.invoice.bill_date)
    revenue_impacting = True
    accounting_code = factory.LazyAttribute(lambda w: w.invoice.revenue_code)
    status = WriteOff.Status.ACTIVE


class DisputeHoldFactory(factory.django.DjangoModelFactory[DisputeHold]):
    class Meta:
        model = DisputeHold

    invoice = factory.SubFactory(InvoiceFactory)
    account = factory.LazyAttribute(lambda d: d.invoice.account)
    amount_minor = 1000
    comments = "Customer disputes the charge"
    source = Source.UI
    created_by_label = "seed"
    reason_code = ReasonCode.CHARGE_DISPUTE_HOLD
    expire_hold_days = 30
    expires_on = factory.LazyAttribute(
        lambda d: d.invoice.bill_date + datetime.timedelta(days=d.expire_hold_days)
    )
    status = DisputeHold.Status.OPEN
