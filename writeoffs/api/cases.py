"""``/api/v1/cases``: dispute cases over the API (SPEC Part 3, "Dispute cases").

The ``/api/v1/`` conventions: the Part 1 API keys as ``Authorization: Bearer <key>``
(checked and throttled as the events feed's are), JSON bodies, ``Idempotency-Key``
honoured on every POST, the documented error codes, 400 with every field's problem,
and 403 (1003) for a key whose role may not. The calls are the case services';
nothing here checks a rule of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from pydantic import BaseModel, ValidationError

from billing.actors import Actor
from billing.errors import (
    ACCOUNT_NOT_FOUND,
    INVALID_ACCOUNTING_CODE,
    INVALID_INPUT,
    MISSING_INPUT,
    BillingError,
)
from billing.models import Account, AccountingCode, ApiKey
from billing.money import from_minor
from billing.rules import REQUIRED_MESSAGE, require_perm
from writeoffs.api.case_schemas import (
    CaseApiError,
    CaseAttachmentRow,
    CaseCreateRequest,
    CaseHoldRow,
    CaseNoteRequest,
    CaseNoteResponse,
    CaseNoteRow,
    CaseResponse,
    CaseSettleRequest,
    FieldProblem,
)
from writeoffs.api.transport import (
    bearer_api_key,
    bearer_endpoint,
    idempotency_key,
    json_body,
    method_not_allowed,
    run_idempotent,
)
from writeoffs.cases.notes import case_add_note
from writeoffs.cases.open import CaseHold, case_open
from writeoffs.cases.resolution import HoldSettlement, case_settle
from writeoffs.cases.rules import case_id_for
from writeoffs.models import Case, ReasonCode, Source, WriteOff

type Answer = tuple[int, dict]


# Every refusal in the case calls' shape: a 400 lists each field's problem.
_case_endpoint = bearer_endpoint(describe=CaseApiError.of)


@_case_endpoint
def cases_collection(request: HttpRequest) -> JsonResponse:
    return _v1_call(request, "POST", CaseCreateRequest, _create)


@_case_endpoint
def case_detail(request: HttpRequest, number: str) -> JsonResponse:
    return _v1_call(request, "GET", None, lambda api_key, _: _read(api_key, number))


@_case_endpoint
def case_notes(request: HttpRequest, number: str) -> JsonResponse:
    return _v1_call(
        request, "POST", CaseNoteRequest, lambda api_key, given: _add_note(api_key, number, given)
    )


@_case_endpoint
def case_settlement(request: HttpRequest, number: str) -> JsonResponse:
    return _v1_call(
        request, "POST", CaseSettleRequest, lambda api_key, given: _settle(api_key, number, given)
    )


# --- The calls ----------------------------------------------------------------


def _create(
    api_key: ApiKey, given: CaseCreateRequest, idempotency_key: str | None = None
) -> Answer:
    actor = Actor.for_api_key(api_key)
    # The permission first: a clerk-less key hears 403, not whether the account exists.
    require_perm(actor, "writeoffs.add_case")
    account_id = Account.objects.filter(acct_no=given.acct_no).values_list("pk", flat=True).first()
    if account_id is None:
        raise BillingError(
            ACCOUNT_NOT_FOUND, f"Account {given.acct_no} does not exist.", field="acct_no"
        )
    case = case_open(
        account_id=account_id,
        category=given.category,
        holds=[CaseHold(invoice_no=h.invoice_no, amount=h.amount) for h in given.holds],
        actor=actor,
        contact_name=given.contact_name or "",
        contact_email=given.contact_email or "",
        comments=given.comments or "",
        expire_hold_days=given.expire_hold_days,
        source=Source.API,
        idempotency_key=idempotency_key,
    )
    return HTTPStatus.CREATED, case_answer(case).body()


def _read(api_key: ApiKey, number: str) -> Answer:
    require_perm(Actor.for_api_key(api_key), "writeoffs.view_case")
    case = Case.objects.get(pk=case_id_for(number))
    return HTTPStatus.OK, case_answer(case).body()


def _add_note(api_key: ApiKey, number: str, given: CaseNoteRequest) -> Answer:
    actor = Actor.for_api_key(api_key)
    require_perm(actor, "writeoffs.add_casenote")
    note = case_add_note(case_id=case_id_for(number), text=given.text, actor=actor)
    answer = CaseNoteResponse.ok(case_number=note.case.number, note=_note_row(note))
    return HTTPStatus.CREATED, answer.body()


def _settle(api_key: ApiKey, number: str, given: CaseSettleRequest) -> Answer:
    actor = Actor.for_api_key(api_key)
    require_perm(actor, "writeoffs.settle_disputehold")
    case_id = case_id_for(number)
    settlements = [
        HoldSettlement(
            dispute_no=hold.dispute_no,
            action=hold.action,
            amount=hold.amount,
            reason_code=hold.reason_code if hold.reason_code is not None else ReasonCode.BAD_DEBT,
            accounting_code_id=(
                _expense_code_id(hold.accounting_code, index)
                if hold.accounting_code is not None
                else None
            ),
        )
        for index, hold in enumerate(given.holds)
    ]
    case = case_settle(
        case_id=case_id,
        settlements=settlements,
        root_cause_code=given.root_cause,
        actor=actor,
        source=Source.API,
    )
    return HTTPStatus.OK, case_answer(Case.objects.get(pk=case.pk)).body()


def _expense_code_id(code: str, index: int) -> int:
    found = AccountingCode.objects.filter(code=code).values_list("pk", flat=True).first()
    if found is None:
        raise BillingError(
            INVALID_ACCOUNTING_CODE,
            f"No accounting code {code!r}: give an active expense code's code.",
            field=f"holds.{index}.accounting_code",
        )
    return found


# --- The answer ---------------------------------------------------------------


def case_answer(case: Case) -> CaseResponse:
    holds = case.holds.select_related("invoice").order_by("pk")
    conversions = dict(
        WriteOff.objects.filter(origin_dispute__case=case)
        .exclude(status__in=[WriteOff.Status.REJECTED, WriteOff.Status.LAPSED])
        .values_list("origin_dispute_id", "pk")
    )
    return CaseResponse.ok(
        number=case.number,
        acct_no=case.account.acct_no,
        category=case.category.code,
        status=case.status,
        assignee=case.assignee.get_username() if case.assignee else None,
        due_date=case.due_date,
        overdue=case.overdue,
        contact_name=case.contact_name,
        contact_email=case.contact_email,
        root_cause=case.root_cause.code if case.root_cause else None,
        created_at=case.created_at,
        resolved_at=case.resolved_at,
        holds=[
            CaseHoldRow(
                dispute_no=hold.pk,
                invoice_no=hold.invoice.invoice_no,
                amount=str(from_minor(hold.amount_minor, hold.invoice.currency)),
                currency=hold.invoice.currency,
                status=hold.status,
                conversion_pending=hold.conversion_pending,
                writeoff_no=conversions.get(hold.pk),
            )
            for hold in holds
        ],
        notes=[_note_row(note) for note in case.notes.all()],
        attachments=[
            CaseAttachmentRow(
                name=attachment.original_name,
                content_type=attachment.content_type,
                size=attachment.size,
                sha256=attachment.sha256,
                url=attachment_url(case, attachment.pk),
            )
            for attachment in case.attachments.all()
        ],
    )


def attachment_url(case: Case, attachment_id: int) -> str:
    """Where an API caller downloads the file, with the same Bearer key:
    ``GET /api/v1/cases/{number}/attachments/{id}`` (writeoffs/api/case_files.py)."""
    path = reverse(
        "api_case_attachment_file",
        kwargs={"number": str(case.number), "attachment_id": str(attachment_id)},
    )
    return settings.SITE_URL.rstrip("/") + path


def _note_row(note) -> CaseNoteRow:
    return CaseNoteRow(author=note.author_label, created_at=note.created_at, text=note.text)


# --- The transport ------------------------------------------------------------


def _v1_call(
    request: HttpRequest,
    method: str,
    model: type[BaseModel] | None,
    handler: Callable[..., Answer],
) -> JsonResponse:
    """The shared steps of a case call; refusals are answered by ``_case_endpoint``."""
    if request.method not in (method, "HEAD" if method == "GET" else method):
        return method_not_allowed("GET, HEAD" if method == "GET" else method, f"Use {method}.")
    api_key = bearer_api_key(request)
    if model is None:
        status, body = _run(lambda: handler(api_key, None))
        return JsonResponse(body, status=status)
    params = json_body(request)
    given = _validate(model, params)
    key = idempotency_key(request)
    if model is CaseCreateRequest:
        run = lambda: _run(lambda: handler(api_key, given, key))  # noqa: E731
    else:
        run = lambda: _run(lambda: handler(api_key, given))  # noqa: E731
    return run_idempotent(request, api_key, key, params, run)


def _run(call: Callable[[], Answer]) -> Answer:
    try:
        return call()
    except BillingError as error:
        return error.http_status, CaseApiError.of(error)


def _validate[Model: BaseModel](model: type[Model], params: dict[str, object]) -> Model:
    try:
        return model.model_validate(params)
    except ValidationError as error:
        problems = [_problem(p) for p in error.errors(include_url=False)]
        first = problems[0]
        raise _FieldErrors(first.error_code, first.error_msg, first.field, problems) from None


def _problem(problem) -> FieldProblem:
    field = ".".join(str(part) for part in problem["loc"]) or "body"
    if problem["type"] == "missing":
        return FieldProblem(field=field, error_code=MISSING_INPUT, error_msg=REQUIRED_MESSAGE)
    if problem["type"] == "extra_forbidden":
        return FieldProblem(
            field=field,
            error_code=INVALID_INPUT,
            error_msg=f"{field} is not an input of this call.",
        )
    return FieldProblem(
        field=field, error_code=INVALID_INPUT, error_msg=f"{field}: {problem['msg']}."
    )


class _FieldErrors(BillingError):
    def __init__(self, code: int, message: str, field: str, problems: list[FieldProblem]) -> None:
        super().__init__(code, message, field=field)
        self.problems = problems
