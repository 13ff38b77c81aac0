"""The JSON transport every API call shares: read the parameters (form or JSON),
authenticate the key, replay an idempotent retry, validate, and turn every refusal
into its documented error code and HTTP status. The ``/api/v1/`` calls
(``Authorization: Bearer``, JSON only) use the same pieces: ``bearer_endpoint``,
``json_body``, ``run_idempotent``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from http import HTTPStatus
from typing import Any, Concatenate

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from pydantic import BaseModel, ValidationError

from billing.actors import Actor
from billing.api.keys import api_key_authenticate, authentication_throttle
from billing.errors import (
    AUTHENTICATION_FAILED,
    BODY_TOO_LARGE,
    INVALID_INPUT,
    LENGTH_REQUIRED,
    MALFORMED_BODY,
    METHOD_NOT_ALLOWED,
    UNEXPECTED_ERROR,
    UNKNOWN_API_CALL,
    BillingError,
)
from billing.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH, replay_or_run, request_sha256
from billing.models import ApiKey
from billing.rules import check_text
from writeoffs.api.answers import (
    ApiError,
    Ok,
)
from writeoffs.api.fields import input_error
from writeoffs.api.inputs import (
    ApiInput,
)
from writeoffs.api.openapi import openapi_document

log = logging.getLogger(__name__)

# Builds a refusal's JSON body.
type Describe = Callable[[BillingError], dict[str, Any]]


@dataclass(frozen=True)
class ApiCall:
    """One authenticated request: its validated input and who sent it."""

    input: Any
    api_key: ApiKey
    idempotency_key: str | None

    @property
    def actor(self) -> Actor:
        return Actor.for_api_key(self.api_key)


def api_endpoint(request_model: type[ApiInput], *, idempotent: bool = False):
    """Wrap an API call: method check, body parsing, authentication (throttled),
    input validation against ``request_model``, the Idempotency-Key, and turning
    every outcome into a JSON answer. Every call is a POST: the API key travels
    in the body, never in a URL that access logs keep."""

    def decorator(handler: Callable[[ApiCall], Ok]):
        @csrf_exempt  # The caller authenticates with its key, not a session cookie.
        @wraps(handler)
        def view(request: HttpRequest) -> JsonResponse:
            return _answered(
                request, lambda: _post_call(request, request_model, idempotent, handler)
            )

        return view

    return decorator


def _post_call(
    request: HttpRequest,
    request_model: type[ApiInput],
    idempotent: bool,
    handler: Callable[[ApiCall], Ok],
) -> JsonResponse:
    if request.method != "POST":
        return method_not_allowed(
            "POST", "Use POST: the API key goes in the body, never in the URL."
        )
    params = _read_params(request)
    api_key = _authenticate(request, params)
    _check_text_inputs(params)
    call = ApiCall(
        input=_validate(request_model, params),
        api_key=api_key,
        idempotency_key=idempotency_key(request) if idempotent else None,
    )
    run = lambda: _run(handler, call)  # noqa: E731
    return run_idempotent(request, api_key, call.idempotency_key, params, run)


def bearer_endpoint(*, describe: Describe = ApiError.of):
    """Wrap a ``/api/v1/`` view (``Authorization: Bearer <key>``): every refusal
    becomes its JSON error answer (``describe`` builds the body), a refused key
    also gets the ``WWW-Authenticate`` challenge, and anything unexpected is
    logged and answered 500 without its details."""

    def decorator[**P](
        view: Callable[Concatenate[HttpRequest, P], HttpResponseBase],
    ) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
        @csrf_exempt  # The caller authenticates with its key, not a session cookie.
        @wraps(view)
        def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            return _answered(request, lambda: view(request, *args, **kwargs), describe, bearer=True)

        return wrapped

    return decorator


def _answered[R: HttpResponseBase](
    request: HttpRequest,
    call: Callable[[], R],
    describe: Describe = ApiError.of,
    *,
    bearer: bool = False,
) -> R | JsonResponse:
    try:
        return call()
    except BillingError as error:
        response = error_response(error, describe)
        if bearer and error.code == AUTHENTICATION_FAILED:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    except Exception:
        log.exception("API call %s failed unexpectedly", request.path)
        return error_response(
            BillingError(UNEXPECTED_ERROR, "Unexpected error; it has been logged."), describe
        )


def run_idempotent(
    request: HttpRequest,
    api_key: ApiKey,
    key: str | None,
    params: dict[str, object],
    run: Callable[[], tuple[int, dict]],
) -> JsonResponse:
    """Run the call, or, with an Idempotency-Key, replay its first answer: a retry
    of the same request (same path and inputs) gets the stored answer with
    ``Idempotent-Replayed: true``; another request under the key gets 409."""
    if key is None:
        status, body = run()
        return JsonResponse(body, status=status)
    digest = request_sha256(request.path, params)
    status, body, replayed = replay_or_run(api_key, key, digest, run)
    response = JsonResponse(body, status=status)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def method_not_allowed(allow: str, message: str | None = None) -> JsonResponse:
    response = error_response(BillingError(METHOD_NOT_ALLOWED, message or f"Use {allow}."))
    response["Allow"] = allow
    return response


# These two change nothing; exempt so that a stray POST still gets a JSON answer
# rather than the CSRF failure page.
@csrf_exempt
def openapi_json(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed("GET, HEAD", "Use GET.")
    return JsonResponse(openapi_document())


@csrf_exempt
def unknown_call(request: HttpRequest, path: str = "") -> JsonResponse:
    return error_response(
        BillingError(UNKNOWN_API_CALL, "No such API call; see /api/openapi.json.")
    )


def bearer_api_key(request: HttpRequest) -> ApiKey:
    """The key in ``Authorization: Bearer <key>``, checked and throttled as the
    POST calls' keys are (billing.api.keys): failed keys from one address are
    counted, and past the limit that address gets 429 without a look at the key.
    A request with no Authorization header guesses nothing: it gets 401, uncounted."""
    header = request.headers.get("Authorization")
    if header is None:
        raise BillingError(
            AUTHENTICATION_FAILED, "Send the API key as Authorization: Bearer <key>."
        )
    throttle = authentication_throttle(request)
    throttle.refuse_if_exceeded()
    scheme, _, raw_key = header.partition(" ")
    try:
        if scheme.lower() != "bearer" or not raw_key.strip():
            raise BillingError(
                AUTHENTICATION_FAILED, "Send the API key as Authorization: Bearer <key>."
            )
        try:
            return api_key_authenticate(raw_key.strip())
        except BillingError:
            raise BillingError(
                AUTHENTICATION_FAILED, "Authentication error: check the Bearer API key."
            ) from None
    except BillingError:
        throttle.record_failure()
        raise


def _read_params(request: HttpRequest) -> dict[str, object]:
    if "CONTENT_LENGTH" not in request.META:
        # A chunked body (no Content-Length) reads as empty in WSGI: answer that
        # plainly rather than as a missing input.
        raise BillingError(
            LENGTH_REQUIRED, "Send the body with a Content-Length header (not chunked)."
        )
    try:
        body = request.body
        if request.content_type in ("application/json", "text/json"):
            return _parse_json(body)
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            # A repeated field stays a list, which no input accepts: the server
            # never picks one of several values silently.
            return {
                name: values[0] if len(values) == 1 else values
                for name, values in request.POST.lists()
            }
        if not body.strip():
            return {}
    except RequestDataTooBig:
        raise _too_large() from None
    except (SuspiciousOperation, MultiPartParserError, UnreadablePostError):
        raise BillingError(MALFORMED_BODY, "The request body could not be read.") from None
    raise BillingError(
        MALFORMED_BODY,
        "Send the body as JSON (application/json) or form-encoded "
        "(application/x-www-form-urlencoded).",
    )


def json_body(request: HttpRequest, *, noun: str = "body") -> dict[str, object]:
    """The ``/api/v1/`` calls' body: JSON only (no form encoding), with a
    Content-Length, and an object (``_parse_json``)."""
    if "CONTENT_LENGTH" not in request.META:
        raise BillingError(
            LENGTH_REQUIRED, "Send the body with a Content-Length header (not chunked)."
        )
    if request.content_type not in ("application/json", "text/json"):
        raise BillingError(MALFORMED_BODY, f"Send the {noun} as JSON (application/json).")
    try:
        return _parse_json(request.body)
    except RequestDataTooBig:
        raise _too_large() from None


def _too_large() -> BillingError:
    return BillingError(
        BODY_TOO_LARGE,
        f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
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


def _authenticate(request: HttpRequest, params: dict[str, object]) -> ApiKey:
    """The caller's key. Failures from one address are counted, and past
    API_AUTH_FAILURE_LIMIT in a window that address is refused without a look at
    the key, so that keys cannot be guessed at full speed."""
    throttle = authentication_throttle(request)
    throttle.refuse_if_exceeded()
    try:
        try:
            auth = ApiInput.model_validate(params)
        except ValidationError:
            raise BillingError(
                AUTHENTICATION_FAILED, "Authentication error: check client_no and auth_key."
            ) from None
        if auth.client_no != settings.BILLING_CLIENT_NO:
            raise BillingError(
                AUTHENTICATION_FAILED, "Authentication error: check client_no and auth_key."
            )
        return api_key_authenticate(auth.auth_key)
    except BillingError:
        throttle.record_failure()
        raise


def _check_text_inputs(params: dict[str, object]) -> None:
    """Seed 001's 25020 covers every character input, not only comments."""
    for name, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                check_text(item, field=name)


def _validate(model: type[BaseModel], params: dict[str, object]) -> Any:
    try:
        return model.model_validate(params)
    except ValidationError as error:
        raise input_error(error, model) from None


def idempotency_key(request: HttpRequest) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = check_text(key, field="Idempotency-Key").strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise BillingError(
            INVALID_INPUT,
            f"The Idempotency-Key header must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters.",
            field="Idempotency-Key",
        )
    return key


def _run(handler: Callable[[ApiCall], Ok], call: ApiCall) -> tuple[int, dict]:
    try:
        return HTTPStatus.OK, handler(call).body()
    except BillingError as error:
        return error.http_status, ApiError.of(error)


def error_response(error: BillingError, describe: Describe = ApiError.of) -> JsonResponse:
    """The refusal as JSON with its HTTP status (and ``Retry-After`` when it has one);
    ``describe`` builds the body (the case calls add every field's problem)."""
    response = JsonResponse(describe(error), status=error.http_status)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response
