"""The JSON API (seed 001).

Each call parses its input, authenticates the API key and calls the same
services as the UI, with the key as the actor. It has no money rules of its
own: a refusal is the service's ``BillingError``, translated into
``error_code``/``error_msg`` and the HTTP status from ``ERROR_CODES``.

Every answer is JSON with ``error_code`` and ``error_msg``, including a wrong
method (405), an unknown call (404), an oversized body (413) and an unexpected
failure (500, code 1001, no traceback).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from billing.actors import Actor
from billing.api_keys import api_key_authenticate
from billing.errors import (
    ACCOUNT_NOT_FOUND,
    AUTHENTICATION_FAILED,
    BODY_TOO_LARGE,
    IDEMPOTENCY_CLASH,
    ILLEGAL_CHARACTERS,
    INVALID_DATE_FORMAT,
    INVALID_EXPIRE_HOLD_DAYS,
    INVALID_INPUT,
    INVALID_REASON_CODE,
    INVALID_SETTLEMENT_ACTION,
    INVOICE_NOT_FOUND,
    MALFORMED_BODY,
    METHOD_NOT_ALLOWED,
    MISSING_INPUT,
    UNEXPECTED_ERROR,
    UNKNOWN_API_CALL,
    BillingError,
)
from billing.models import Account, ApiIdempotencyRecord, ApiKey, Invoice
from billing.money import from_minor
from billing.rules import IDEMPOTENCY_KEY_MAX_LENGTH, check_text, today
from writeoffs.models import DisputeHold, ReasonCode, Source, WriteOff
from writeoffs.openapi import openapi_document
from writeoffs.services import dispute_hold_create, dispute_hold_settle, writeoff_create

log = logging.getLogger(__name__)

IDEMPOTENCY_WINDOW = datetime.timedelta(hours=24)
PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 500
SETTLEMENT_ACTIONS = {1: "convert", 2: "release_reage", 3: "release"}

# ASCII only: Python's \d and str.isdigit() also accept digits such as "²" that int() refuses.
_WHOLE_NUMBER = re.compile(r"\s*(-?[0-9]{1,18})\s*", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_BIGINT_MAX = 2**63 - 1


@dataclass(frozen=True)
class ApiCall:
    """One authenticated request: its parsed input and who sent it."""

    params: dict[str, object]
    api_key: ApiKey
    idempotency_key: str | None

    @property
    def actor(self) -> Actor:
        return Actor.for_api_key(self.api_key)


def api_endpoint(*methods: str, idempotent: bool = False):
    """Wrap an API call: method check, body parsing, authentication, the
    Idempotency-Key, and turning every outcome into a JSON answer."""

    def decorator(handler: Callable[[ApiCall], dict]):
        @csrf_exempt  # The caller authenticates with its key, not a session cookie.
        @wraps(handler)
        def view(request: HttpRequest) -> JsonResponse:
            try:
                if request.method not in methods:
                    response = _error_response(
                        BillingError(METHOD_NOT_ALLOWED, f"Use {' or '.join(methods)}.")
                    )
                    response["Allow"] = ", ".join(methods)
                    return response
                params = _read_params(request)
                api_key = _authenticate(params)
                _check_text_inputs(params)
                key = _idempotency_key(request) if idempotent else None
                call = ApiCall(params=params, api_key=api_key, idempotency_key=key)
                if key is None:
                    status, body = _run(handler, call)
                    return JsonResponse(body, status=status)
                return _run_once(request, handler, call)
            except BillingError as error:
                return _error_response(error)
            except Exception:
                log.exception("API call %s failed unexpectedly", request.path)
                return _error_response(
                    BillingError(UNEXPECTED_ERROR, "Unexpected error; it has been logged.")
                )

        return view

    return decorator


# --- the calls -------------------------------------------------------------


@api_endpoint("POST", idempotent=True)
def create_writeoff_or_dispute_m(call: ApiCall) -> dict:
    params = call.params
    account = _account(params)
    invoice_id = _invoice_id(params, account)
    reason_code = _reason_code(_required(params, "reason_code"))
    comments = _text(params, "comments", required=True)
    amount = _blank_to_none(params.get("writeoff_dispute_amount"))
    do_dispute = _flag(params, "do_dispute")
    writeoff_date = _date(params, "writeoff_date")
    if do_dispute:
        hold = dispute_hold_create(
            invoice_id=invoice_id,
            amount=amount,
            comments=comments,
            actor=call.actor,
            expire_hold_days=_expire_hold_days(params),
            reason_code=reason_code,
            source=Source.API,
            idempotency_key=call.idempotency_key,
        )
        return _ok(
            rec_no=hold.pk,
            invoice_no=hold.invoice.invoice_no,
            amount=_money(hold.amount_minor, hold.invoice.currency),
            currency=hold.invoice.currency,
            dispute_ind=1,
            can_unsettle=hold.can_unsettle,
            dispute_exp_date=hold.expires_on.isoformat(),
        )
    writeoff = writeoff_create(
        invoice_id=invoice_id,
        amount=amount,
        reason_code=reason_code,
        comments=comments,
        actor=call.actor,
        writeoff_date=writeoff_date,
        source=Source.API,
        idempotency_key=call.idempotency_key,
    )
    return _ok(
        rec_no=writeoff.pk,
        invoice_no=writeoff.invoice.invoice_no,
        amount=_money(writeoff.amount_minor, writeoff.invoice.currency),
        currency=writeoff.invoice.currency,
        dispute_ind=0,
        can_unsettle=False,
        writeoff_date=writeoff.writeoff_date.isoformat(),
        status=api_writeoff_status(writeoff),
    )


@api_endpoint("GET", "POST")
def get_acct_writeoff_or_disputes_m(call: ApiCall) -> dict:
    """An account's write-offs and dispute holds, newest first, one page at a time.

    POST is accepted too, so that a caller can keep its key out of URLs and logs.
    """
    params = call.params
    account = _account(params)
    flag = _choice(params, "dispute_or_writeoff_flag", (0, 1, 2), default=0)
    start = _date(params, "start_date")
    end = _date(params, "end_date")
    page = _positive(params, "page", default=1, maximum=1_000_000)
    page_size = _positive(params, "page_size", default=PAGE_SIZE_DEFAULT, maximum=PAGE_SIZE_MAX)
    offset = (page - 1) * page_size

    def created_between(queryset):
        # Dates are the deployment's local calendar days, as the UI shows them.
        if start is not None:
            queryset = queryset.filter(created_at__gte=_start_of(start))
        if end is not None:
            queryset = queryset.filter(created_at__lt=_start_of(end + datetime.timedelta(days=1)))
        return queryset

    result = _ok(acct_no=account.acct_no, page=page, page_size=page_size)
    if flag in (0, 1):
        writeoffs = created_between(WriteOff.objects.filter(account=account))
        result["writeoff_count"] = writeoffs.count()
        rows = writeoffs.select_related("invoice").order_by("-id")[offset : offset + page_size]
        result["writeoffs"] = [_writeoff_row(w) for w in rows]
    if flag in (0, 2):
        disputes = created_between(DisputeHold.objects.filter(account=account))
        result["dispute_count"] = disputes.count()
        rows = disputes.select_related("invoice").order_by("-id")[offset : offset + page_size]
        on = today()
        result["disputes"] = [_dispute_row(d, on) for d in rows]
    return result


@api_endpoint("POST", idempotent=True)
def settle_dispute_hold_m(call: ApiCall) -> dict:
    params = call.params
    dispute_no = _whole_number(_required(params, "dispute_no"), "dispute_no")
    action_no = _whole_number_or_none(_required(params, "settlement_action"))
    if action_no not in SETTLEMENT_ACTIONS:
        raise BillingError(
            INVALID_SETTLEMENT_ACTION,
            "settlement_action must be 1 (convert to a permanent write-off), "
            "2 (remove and re-age) or 3 (remove without re-aging).",
            field="settlement_action",
        )
    action = SETTLEMENT_ACTIONS[action_no]
    reason_code = ReasonCode.BAD_DEBT
    if action == "convert" and _blank_to_none(params.get("reason_code")) is not None:
        reason_code = _reason_code(params["reason_code"])
    hold = dispute_hold_settle(
        dispute_hold_id=dispute_no,
        action=action,
        actor=call.actor,
        comments=_text(params, "comments") or "",
        reason_code=reason_code,
        source=Source.API,
    )
    result = _ok(
        dispute_no=hold.pk,
        settlement_action=action_no,
        status=hold.status,
        invoice_no=hold.invoice.invoice_no,
        amount=_money(hold.amount_minor, hold.invoice.currency),
        currency=hold.invoice.currency,
        can_unsettle=hold.can_unsettle,
    )
    if action == "convert":
        conversion = hold.conversion_writeoff
        result["rec_no"] = conversion.pk if conversion else None
        # Over the caller's limit the hold stays open until a person approves.
        result["conversion_pending"] = hold.conversion_pending
    return result


def api_writeoff_status(writeoff: WriteOff) -> str:
    """A write-off's status as the API spells it: a pending one is "pending_approval"."""
    if writeoff.is_pending:
        return "pending_approval"
    return writeoff.status


# These two change nothing; exempt so that a stray POST still gets a JSON answer
# rather than the CSRF failure page.
@csrf_exempt
def openapi_json(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        response = _error_response(BillingError(METHOD_NOT_ALLOWED, "Use GET."))
        response["Allow"] = "GET, HEAD"
        return response
    return JsonResponse(openapi_document())


@csrf_exempt
def unknown_call(request: HttpRequest, path: str = "") -> JsonResponse:
    return _error_response(
        BillingError(UNKNOWN_API_CALL, "No such API call; see /api/openapi.json.")
    )


# --- request plumbing ------------------------------------------------------


def _read_params(request: HttpRequest) -> dict[str, object]:
    try:
        if request.method == "GET":
            return {name: request.GET.get(name) for name in request.GET}
        body = request.body
        if request.content_type in ("application/json", "text/json"):
            return _parse_json(body)
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return {name: request.POST.get(name) for name in request.POST}
        if not body.strip():
            return {}
    except RequestDataTooBig:
        raise BillingError(
            BODY_TOO_LARGE,
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
        ) from None
    except (SuspiciousOperation, MultiPartParserError, UnreadablePostError):
        raise BillingError(MALFORMED_BODY, "The request body could not be read.") from None
    raise BillingError(
        MALFORMED_BODY,
        "Send the body as JSON (application/json) or form-encoded "
        "(application/x-www-form-urlencoded).",
    )


def _parse_json(body: bytes) -> dict[str, object]:
    """A JSON object, with every number that has a fraction or exponent as a Decimal:
    an amount must never pass through a float on its way in."""

    def refuse_constant(name: str):
        raise ValueError(f"{name} is not a number")

    try:
        data = json.loads(body.decode("utf-8"), parse_float=Decimal, parse_constant=refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BillingError(MALFORMED_BODY, "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BillingError(MALFORMED_BODY, "The JSON body must be an object of named inputs.")
    return data


def _authenticate(params: dict[str, object]) -> ApiKey:
    if _whole_number_or_none(params.get("client_no")) != settings.BILLING_CLIENT_NO:
        raise BillingError(
            AUTHENTICATION_FAILED, "Authentication error: check client_no and auth_key."
        )
    return api_key_authenticate(params.get("auth_key"))


def _check_text_inputs(params: dict[str, object]) -> None:
    """Seed 001's 25020 covers every character input, not only comments."""
    for name, value in params.items():
        if isinstance(value, str):
            _clean_text(value, name)


def _clean_text(value: str, field: str) -> str:
    text = check_text(value, field=field)
    # A lone surrogate can come in through a JSON escape ("\ud800"); no database can store it.
    if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        raise BillingError(
            ILLEGAL_CHARACTERS,
            "Illegal characters entered: unpaired UTF-16 surrogate.",
            field=field,
        )
    return text


def _idempotency_key(request: HttpRequest) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = _clean_text(key, "Idempotency-Key").strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise BillingError(
            INVALID_INPUT,
            f"The Idempotency-Key header must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters.",
            field="Idempotency-Key",
        )
    return key


def _run(handler: Callable[[ApiCall], dict], call: ApiCall) -> tuple[int, dict]:
    try:
        return HTTPStatus.OK, handler(call)
    except BillingError as error:
        return error.http_status, _error_body(error)


def _run_once(
    request: HttpRequest, handler: Callable[[ApiCall], dict], call: ApiCall
) -> JsonResponse:
    """Answer a request sent with an Idempotency-Key.

    The first answer is stored with a hash of the request. A retry with the
    same request gets that answer back, a different request with the same key
    gets 409. Concurrent retries all reach the service, whose own idempotency
    key (the same header) makes them return one and the same entry; then one
    of them stores the answer and the rest find it.
    """
    digest = _request_sha256(request, call.params)
    since = timezone.now() - IDEMPOTENCY_WINDOW
    record = ApiIdempotencyRecord.objects.filter(
        api_key=call.api_key, key=call.idempotency_key
    ).first()
    if record is not None and record.created_at >= since:
        return _replay(record, digest)
    status, body = _run(handler, call)
    if body["error_code"] == IDEMPOTENCY_CLASH:
        # The service saw this key used for something else; storing that would
        # make the key's first use look like the clash.
        return JsonResponse(body, status=status)
    try:
        with transaction.atomic():
            if record is not None:
                ApiIdempotencyRecord.objects.filter(pk=record.pk, created_at__lt=since).delete()
            ApiIdempotencyRecord.objects.create(
                api_key=call.api_key,
                key=call.idempotency_key,
                request_sha256=digest,
                response_status=status,
                response_body=body,
            )
    except IntegrityError:
        # A concurrent request with this key stored its answer first.
        stored = ApiIdempotencyRecord.objects.filter(
            api_key=call.api_key, key=call.idempotency_key
        ).first()
        if stored is not None and stored.request_sha256 == digest:
            return _replay(stored, digest)
    return JsonResponse(body, status=status)


def _replay(record: ApiIdempotencyRecord, digest: str) -> JsonResponse:
    if record.request_sha256 != digest:
        return _error_response(
            BillingError(
                IDEMPOTENCY_CLASH,
                "This Idempotency-Key was already used for a different request.",
            )
        )
    response = JsonResponse(record.response_body, status=record.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def _request_sha256(request: HttpRequest, params: dict[str, object]) -> str:
    """A hash of what was asked, not of how it was encoded: the same inputs sent
    as JSON or as a form are the same request. The key itself is left out."""
    content = {
        name: str(value) if isinstance(value, int | Decimal) else value
        for name, value in params.items()
        if name != "auth_key"
    }
    payload = json.dumps({"call": request.path, "params": content}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def _ok(**fields: object) -> dict:
    return {"error_code": 0, "error_msg": "OK", **fields}


def _error_body(error: BillingError) -> dict:
    body: dict[str, object] = {"error_code": error.code, "error_msg": error.message}
    if error.field:
        body["field"] = error.field
    return body


def _error_response(error: BillingError) -> JsonResponse:
    return JsonResponse(_error_body(error), status=error.http_status)


# --- input fields ----------------------------------------------------------


def _blank_to_none(value: object) -> object:
    if value is None or value == "":
        return None
    return value


def _required(params: dict[str, object], name: str) -> object:
    value = _blank_to_none(params.get(name))
    if value is None:
        raise BillingError(MISSING_INPUT, f"{name} is required.", field=name)
    return value


def _text(params: dict[str, object], name: str, *, required: bool = False) -> str | None:
    value = _required(params, name) if required else _blank_to_none(params.get(name))
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BillingError(INVALID_INPUT, f"{name} must be text.", field=name)
    return str(value)


def _whole_number_or_none(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and (match := _WHOLE_NUMBER.fullmatch(value)):
        return int(match.group(1))
    return None


def _whole_number(value: object, name: str) -> int:
    number = _whole_number_or_none(value)
    if number is None or not 0 <= number <= _BIGINT_MAX:
        raise BillingError(INVALID_INPUT, f"{name} must be a whole number.", field=name)
    return number


def _positive(params: dict[str, object], name: str, *, default: int, maximum: int) -> int:
    value = _blank_to_none(params.get(name))
    if value is None:
        return default
    number = _whole_number_or_none(value)
    if number is None or not 1 <= number <= maximum:
        raise BillingError(
            INVALID_INPUT, f"{name} must be a whole number from 1 to {maximum}.", field=name
        )
    return number


def _choice(params: dict[str, object], name: str, choices: tuple[int, ...], *, default: int) -> int:
    value = _blank_to_none(params.get(name))
    if value is None:
        return default
    number = _whole_number_or_none(value)
    if number not in choices:
        allowed = ", ".join(str(c) for c in choices)
        raise BillingError(INVALID_INPUT, f"{name} must be one of {allowed}.", field=name)
    return number


def _flag(params: dict[str, object], name: str) -> bool:
    return bool(_choice(params, name, (0, 1), default=0))


def _reason_code(value: object) -> int:
    # Whether the code is allowed for this call is the service's rule; here it
    # only has to be a number.
    number = _whole_number_or_none(value)
    if number is None:
        raise BillingError(
            INVALID_REASON_CODE,
            "Invalid reason code: reason_code must be a number.",
            field="reason_code",
        )
    return number


def _expire_hold_days(params: dict[str, object]) -> int | None:
    value = _blank_to_none(params.get("expire_hold_days"))
    if value is None:
        return None
    number = _whole_number_or_none(value)
    if number is None:
        raise BillingError(
            INVALID_EXPIRE_HOLD_DAYS,
            "The value of Dispute hold override (Expire_Hold_Days) is invalid: "
            "enter a whole number of days.",
            field="expire_hold_days",
        )
    return number


def _date(params: dict[str, object], name: str) -> datetime.date | None:
    value = _blank_to_none(params.get(name))
    if value is None:
        return None
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise BillingError(
        INVALID_DATE_FORMAT, f"Invalid date format: {name} must be yyyy-mm-dd.", field=name
    )


def _account(params: dict[str, object]) -> Account:
    acct_no = _blank_to_none(params.get("acct_no"))
    client_acct_id = _text(params, "client_acct_id")
    if acct_no is None and client_acct_id is None:
        raise BillingError(MISSING_INPUT, "Give acct_no or client_acct_id.", field="acct_no")
    accounts = Account.objects.all()
    if acct_no is not None:
        accounts = accounts.filter(acct_no=_whole_number(acct_no, "acct_no"))
    if client_acct_id is not None:
        accounts = accounts.filter(client_acct_id=client_acct_id)
    account = accounts.first()
    if account is None:
        which = "AriaNo (acct_no)" if acct_no is not None else "ClientId (client_acct_id)"
        raise BillingError(ACCOUNT_NOT_FOUND, f"Account not found: {which}.", field="acct_no")
    return account


def _invoice_id(params: dict[str, object], account: Account) -> int:
    """The invoice, looked up within the account: another account's invoice is not found."""
    invoice_no = _whole_number(_required(params, "invoice_no"), "invoice_no")
    invoice_id = (
        Invoice.objects.filter(account=account, invoice_no=invoice_no)
        .values_list("pk", flat=True)
        .first()
    )
    if invoice_id is None:
        raise BillingError(
            INVOICE_NOT_FOUND,
            f"Invoice {invoice_no} does not exist on account {account.acct_no}.",
            field="invoice_no",
        )
    return invoice_id


# --- output ----------------------------------------------------------------


def _money(amount_minor: int, currency: str) -> str:
    return str(from_minor(amount_minor, currency))


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _local_date(moment: datetime.datetime | None) -> str | None:
    return timezone.localdate(moment).isoformat() if moment else None


def _writeoff_row(writeoff: WriteOff) -> dict:
    return {
        "rec_no": writeoff.pk,
        "dispute_ind": 0,
        "invoice_no": writeoff.invoice.invoice_no,
        "amount": _money(writeoff.amount_minor, writeoff.invoice.currency),
        "currency": writeoff.invoice.currency,
        "reason_code": writeoff.reason_code,
        "reason_text": writeoff.get_reason_code_display(),
        "comments": writeoff.comments,
        "writeoff_date": writeoff.writeoff_date.isoformat(),
        "created_date": _local_date(writeoff.created_at),
        "created_by": writeoff.created_by_label,
        "source": writeoff.source,
        "status": api_writeoff_status(writeoff),
        "can_unsettle": False,
        "origin_dispute_no": writeoff.origin_dispute_id,
        "reversed_date": _local_date(writeoff.reversed_at),
    }


def _dispute_row(hold: DisputeHold, on: datetime.date) -> dict:
    return {
        "rec_no": hold.pk,
        "dispute_ind": 1,
        "invoice_no": hold.invoice.invoice_no,
        "amount": _money(hold.amount_minor, hold.invoice.currency),
        "currency": hold.invoice.currency,
        "reason_code": hold.reason_code,
        "reason_text": hold.get_reason_code_display(),
        "comments": hold.comments,
        "created_date": _local_date(hold.created_at),
        "created_by": hold.created_by_label,
        "source": hold.source,
        "status": hold.status,
        "can_unsettle": hold.can_unsettle,
        "dispute_exp_date": hold.expires_on.isoformat(),
        "expired": hold.is_expired(on),
        "settled_date": _local_date(hold.settled_at),
    }
