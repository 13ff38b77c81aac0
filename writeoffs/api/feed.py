"""``GET /api/v1/events``: the events feed (SPEC Part 3, "Out: the events feed").

The feed is read with the API keys of Part 1, sent as ``Authorization: Bearer <key>``
(a GET has no body to carry them). Events come in id order after the cursor; ids
are given out under one lock and commit in that order (``billing.events``), so a
cursor never skips an event that commits late. docs/api.md, "Events feed".
"""

from __future__ import annotations

import json
import logging

from django.db.models import TextField
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from billing.api.keys import api_key_authenticate, authentication_throttle
from billing.errors import (
    AUTHENTICATION_FAILED,
    INVALID_INPUT,
    METHOD_NOT_ALLOWED,
    UNEXPECTED_ERROR,
    BillingError,
)
from billing.models import ApiKey, Event
from writeoffs.api.answers import EventsResponse
from writeoffs.api.transport import error_response

log = logging.getLogger(__name__)

EVENTS_LIMIT_DEFAULT = 100
EVENTS_LIMIT_MAX = 1000
# A cursor is an event id: digits, and no longer than a 64-bit id.
_CURSOR_MAX_DIGITS = 19


@csrf_exempt  # The caller authenticates with its key, not a session cookie.
def events_feed(request: HttpRequest) -> HttpResponse:
    try:
        if request.method not in ("GET", "HEAD"):
            response = error_response(BillingError(METHOD_NOT_ALLOWED, "Use GET."))
            response["Allow"] = "GET, HEAD"
            return response
        bearer_api_key(request)
        after = _cursor(request.GET.get("after"))
        limit = _limit(request.GET.get("limit"))
        # One query, one snapshot: an id is visible only once every smaller id has
        # committed, so what it returns is a gap-free run after the cursor.
        rows = list(
            Event.objects.filter(id__gt=after)
            .order_by("id")
            .annotate(payload_json=Cast("payload", output_field=TextField()))
            .values_list("id", "payload_json")[: limit + 1]
        )
        page = rows[:limit]
        next_cursor = page[-1][0] if page else after
        answer = _events_answer(
            [payload for _, payload in page], next_cursor=next_cursor, has_more=len(rows) > limit
        )
        answer["Cache-Control"] = "no-store"
        return answer
    except BillingError as error:
        response = error_response(error)
        if error.code == AUTHENTICATION_FAILED:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    except Exception:
        log.exception("API call %s failed unexpectedly", request.path)
        return error_response(
            BillingError(UNEXPECTED_ERROR, "Unexpected error; it has been logged.")
        )


def _events_answer(payloads: list[str], *, next_cursor: int, has_more: bool) -> HttpResponse:
    """The answer, with each event's stored JSON (``Event.payload``, which record_event
    built and the webhooks send as it is) spliced in as its text.

    Decoding a page of 1,000 events, validating each against ``EventRow`` and encoding
    them again took most of a page's time (docs/benchmarks.md, EV). The envelope still
    comes from the answer's model; the events' shape is record_event's, and the tests
    check real answers against the OpenAPI document built from ``EventsResponse``.
    """
    envelope = EventsResponse.ok(events=[], next_cursor=str(next_cursor), has_more=has_more)
    fields = envelope.body()
    del fields["events"]
    head = json.dumps(fields)
    body = f'{head[:-1]}, "events": [{", ".join(payloads)}]}}'
    return HttpResponse(body, content_type="application/json")


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


def _cursor(raw: str | None) -> int:
    # Left out starts at the first event; an empty ``after=`` is refused like any
    # other text that is not a cursor (the OpenAPI pattern says digits).
    if raw is None:
        return 0
    if not (raw.isascii() and raw.isdigit()) or len(raw) > _CURSOR_MAX_DIGITS:
        raise BillingError(
            INVALID_INPUT,
            "after must be a cursor from next_cursor (digits), or left out to start at the "
            "first event.",
            field="after",
        )
    return int(raw)


def _limit(raw: str | None) -> int:
    if raw is None:
        return EVENTS_LIMIT_DEFAULT
    if (
        not (raw.isascii() and raw.isdigit())
        or len(raw) > 6
        or not 1 <= int(raw) <= EVENTS_LIMIT_MAX
    ):
        raise BillingError(
            INVALID_INPUT,
            f"limit must be a whole number from 1 to {EVENTS_LIMIT_MAX}.",
            field="limit",
        )
    return int(raw)
