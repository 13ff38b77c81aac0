"""``PUT /api/v1/accounts|invoices|payments/{external_id}`` (SPEC Part 3): one record
from the billing system, through the import's own rules (``import_record``).

Bearer API keys as the events feed takes them, clerk keys and above; an
Idempotency-Key makes a retry return the first answer. 201 when the record was
created, 200 when it was updated or was already so (each with the record as
stored), 400 with each problem by field.
"""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, JsonResponse
from pydantic import BaseModel, ValidationError

from billing.actors import Actor
from billing.errors import ERROR_CODES, INVALID_INPUT, MISSING_INPUT, BillingError
from billing.models import Account, ImportKind, Invoice, Payment
from billing.money import from_minor
from billing.sync.imports.fields import RowProblem
from billing.sync.imports.service import import_record
from billing.sync.imports.verdicts import Outcome
from writeoffs.api.answers import ApiError
from writeoffs.api.sync_schemas import (
    AccountPut,
    AccountStored,
    FieldError,
    InvoiceLineStored,
    InvoicePut,
    InvoiceStored,
    PaymentPut,
    PaymentStored,
    PutError,
)
from writeoffs.api.transport import (
    bearer_api_key,
    bearer_endpoint,
    idempotency_key,
    json_body,
    method_not_allowed,
    run_idempotent,
)

# The body's name for each invoice-line column of the CSV layout.
_LINE_FIELDS = {
    "line_description": "description",
    "line_amount": "amount",
    "tax_code": "tax_code",
    "line_tax_amount": "tax_amount",
}


def _put_view(kind: str, body_model: type[BaseModel]):
    @bearer_endpoint()
    def view(request: HttpRequest, external_id: str) -> JsonResponse:
        if request.method != "PUT":
            return method_not_allowed("PUT")
        api_key = bearer_api_key(request)
        body = json_body(request, noun="record")
        key = idempotency_key(request)
        actor = Actor.for_api_key(api_key)
        return run_idempotent(
            request, api_key, key, body, lambda: _put(kind, body_model, external_id, body, actor)
        )

    return view


def _put(
    kind: str, body_model: type[BaseModel], external_id: str, body: dict, actor: Actor
) -> tuple[int, dict]:
    try:
        given = body_model.model_validate(body)
    except ValidationError as error:
        return _refusal([_schema_problem(problem) for problem in error.errors()])
    values = given.model_dump(exclude_none=True)
    if values.pop("external_id", external_id) != external_id:
        return _refusal([("external_id", INVALID_INPUT, "Give the path's external_id or none.")])
    try:
        result = import_record(
            kind=kind, external_id=external_id, rows=_rows(kind, values), actor=actor
        )
    except BillingError as error:
        return error.http_status, ApiError.of(error)
    if result.outcome is Outcome.REFUSE:
        return _refusal([_field(kind, problem) for problem in result.problems])
    status = HTTPStatus.CREATED if result.outcome is Outcome.CREATE else HTTPStatus.OK
    return status, _stored(kind, external_id, result.outcome.value).body()


def _rows(kind: str, values: dict[str, Any]) -> list[dict[str, str]]:
    text = {name: str(value) for name, value in values.items() if name != "lines"}
    if kind != ImportKind.INVOICES:
        return [text]
    by_name = {body: column for column, body in _LINE_FIELDS.items()}
    return [
        {**text, **{by_name[name]: str(value) for name, value in line.items()}}
        for line in values["lines"]
    ]


def _schema_problem(problem: Any) -> tuple[str, int, str]:
    where = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in problem["loc"]
    ).lstrip(".")
    if problem["type"] == "missing":
        return where, MISSING_INPUT, "This field is required."
    if problem["type"] == "extra_forbidden":
        return where, INVALID_INPUT, "There is no such field."
    return where, INVALID_INPUT, problem["msg"]


def _field(kind: str, problem: RowProblem) -> tuple[str, int, str]:
    name = problem.column
    if kind == ImportKind.INVOICES and name in _LINE_FIELDS:
        name = f"lines[{problem.row - 1}].{_LINE_FIELDS[name]}"
    return name, problem.code, problem.message


def _refusal(problems: list[tuple[str, int, str]]) -> tuple[int, dict]:
    field, code, message = problems[0]
    body = PutError(
        error_code=code,
        error_msg=message,
        field=field,
        errors=[FieldError(field=f, error_code=c, message=m) for f, c, m in problems],
    )
    return int(ERROR_CODES[code][1]), body.model_dump(exclude_none=True)


def _money(minor: int, currency: str) -> str:
    amount: Decimal = from_minor(minor, currency)
    return format(amount, "f")


def _stored(
    kind: str, external_id: str, outcome: str
) -> AccountStored | InvoiceStored | PaymentStored:
    ok: dict[str, Any] = {
        "error_code": 0,
        "error_msg": "OK",
        "outcome": outcome,
        "external_id": external_id,
    }
    if kind == ImportKind.ACCOUNTS:
        account = Account.objects.get(external_id=external_id)
        return AccountStored(
            **ok,
            acct_no=account.acct_no,
            name=account.name,
            currency=account.currency,
            client_acct_id=account.client_acct_id,
            email=account.email,
            status=account.status,
        )
    if kind == ImportKind.INVOICES:
        invoice = (
            Invoice.objects.select_related("account", "revenue_code")
            .prefetch_related("lines__tax_rate")
            .get(external_id=external_id)
        )
        return InvoiceStored(
            **ok,
            invoice_no=invoice.invoice_no,
            acct_no=invoice.account.acct_no,
            account_external_id=invoice.account.external_id,
            bill_date=invoice.bill_date,
            due_date=invoice.due_date,
            status=invoice.status,
            revenue_code=invoice.revenue_code.code if invoice.revenue_code else None,
            currency=invoice.currency,
            total=_money(invoice.total_minor, invoice.currency),
            tax=_money(invoice.tax_minor, invoice.currency),
            lines=[
                InvoiceLineStored(
                    description=line.description,
                    amount=_money(line.amount_minor, invoice.currency),
                    tax_code=line.tax_rate.code if line.tax_rate else None,
                    tax_amount=_money(line.tax_minor, invoice.currency),
                )
                for line in invoice.lines.all()
            ],
        )
    payment = Payment.objects.select_related("invoice", "account").get(external_id=external_id)
    return PaymentStored(
        **ok,
        payment_no=payment.pk,
        invoice_no=payment.invoice.invoice_no,
        invoice_external_id=payment.invoice.external_id,
        acct_no=payment.account.acct_no,
        amount=_money(payment.amount_minor, payment.invoice.currency),
        currency=payment.invoice.currency,
        paid_on=payment.paid_on,
        method=payment.method,
        reference=payment.reference,
        status=payment.status,
    )


put_account = _put_view(ImportKind.ACCOUNTS, AccountPut)
put_invoice = _put_view(ImportKind.INVOICES, InvoicePut)
put_payment = _put_view(ImportKind.PAYMENTS, PaymentPut)
