"""factory-boy factories, shared by the tests and by ``seed_billing``."""

import datetime

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User

from billing.actors import Actor
from billing.ledger.codes import STARTING_TAX_RATE
from billing.models import Account, AccountingCode, Invoice, InvoiceLine, Payment, TaxRate
from billing.receivables.invoices import invoice_send, invoice_void


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        """``UserFactory(groups=["Billing clerk"])`` adds the user to those groups."""
        if create and extracted:
            self.groups.add(*(Group.objects.get(name=name) for name in extracted))


class AccountingCodeFactory(factory.django.DjangoModelFactory[AccountingCode]):
    class Meta:
        model = AccountingCode
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"4{n:03d}")
    name = factory.Sequence(lambda n: f"Subscription revenue {n}")
    kind = AccountingCode.Kind.REVENUE


class AccountFactory(factory.django.DjangoModelFactory[Account]):
    class Meta:
        model = Account

    acct_no = factory.Sequence(lambda n: 100000 + n)
    client_acct_id = factory.LazyAttribute(lambda a: f"CL-{a.acct_no}")
    userid = factory.LazyAttribute(lambda a: f"u{a.acct_no}")
    name = factory.Faker("company")
    email = factory.Faker("company_email")
    currency = "USD"
    status = Account.Status.ACTIVE


class InvoiceFactory(factory.django.DjangoModelFactory[Invoice]):
    """A sent invoice with one line; ``total_minor`` is the line's amount, net plus
    ``tax_minor`` (taxed at the starting rate, STD20, when ``tax_minor`` is given:
    ``InvoiceFactory(total_minor=12000, tax_minor=2000)`` is 100.00 + 20.00).

    It is made as a draft with its line and sent through ``invoice_send``, the only
    way an invoice becomes sent, so its journal entry is posted as in production.
    """

    class Meta:
        model = Invoice
        skip_postgeneration_save = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # A void invoice was sent, then voided: both through the services.
        wanted = kwargs.get("status", Invoice.Status.SENT)
        send = wanted in (Invoice.Status.SENT, Invoice.Status.VOID)
        if send:
            kwargs["status"] = Invoice.Status.DRAFT
        invoice = super()._create(model_class, *args, **kwargs)
        if invoice.total_minor > 0:
            tax = invoice.tax_minor
            InvoiceLine.objects.create(
                invoice=invoice,
                description="Subscription",
                service_start=invoice.bill_date,
                service_end=invoice.due_date,
                amount_minor=invoice.total_minor - tax,
                tax_rate=TaxRate.objects.get(code=STARTING_TAX_RATE) if tax else None,
                tax_minor=tax,
            )
        if send:
            done = invoice_send(invoice_id=invoice.pk, actor=Actor.for_system())
            if wanted == Invoice.Status.VOID:
                done = invoice_void(
                    invoice_id=invoice.pk, reason="Issued in error.", actor=Actor.for_system()
                )
            for name in ("status", "voided_at", "void_reason"):
                setattr(invoice, name, getattr(done, name))
        return invoice

    invoice_no = factory.Sequence(lambda n: 10000 + n)
    account = factory.SubFactory(AccountFactory)
    currency = factory.LazyAttribute(lambda i: i.account.currency)
    bill_date = factory.LazyFunction(lambda: datetime.date.today() - datetime.timedelta(days=40))
    due_date = factory.LazyAttribute(lambda i: i.bill_date + datetime.timedelta(days=30))
    aging_date = factory.LazyAttribute(lambda i: i.due_date)
    status = Invoice.Status.SENT
    revenue_code = factory.SubFactory(
        AccountingCodeFactory, code="4000", name="Subscription revenue"
    )
    total_minor = 12000
    tax_minor = 0


# The factories below make single ledger rows. They do not touch the invoice's
# running totals: a test that needs a consistent ledger goes through the
# services, and ``seed_billing`` computes the totals itself before inserting.


class InvoiceLineFactory(factory.django.DjangoModelFactory[InvoiceLine]):
    class Meta:
        model = InvoiceLine

    invoice = factory.SubFactory(InvoiceFactory, total_minor=0, status=Invoice.Status.DRAFT)
    description = "Subscription"
    service_start = factory.LazyAttribute(lambda line: line.invoice.bill_date)
    service_end = factory.LazyAttribute(lambda line: line.invoice.due_date)
    amount_minor = 12000


class PaymentFactory(factory.django.DjangoModelFactory[Payment]):
    class Meta:
        model = Payment

    invoice = factory.SubFactory(InvoiceFactory)
    account = factory.LazyAttribute(lambda p: p.invoice.account)
    amount_minor = 5000
    paid_on = factory.LazyAttribute(lambda p: p.invoice.bill_date)
    method = Payment.Method.CHECK
    reference = ""
    recorded_by_label = "seed"
