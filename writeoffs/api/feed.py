"""``GET /api/v1/events``: the events feed (SPEC Part 3, "Out: the events feed").

The feed is read with the API keys of Part 1, sent as ``Authorization: Bearer <key>``
(a GET has no body to carry them). Events come in id order after the cursor; ids
are given out under one lock and commit in that order (``billing.events``), so a
cursor never skips an event that commits late. docs/api.md, "Events feed".
"""

from __future__ import annotations

import json

from django.db.models import TextField
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse

from billing.errors import INVALID_INPUT, BillingError
from billing.models import Event
from writeoffs.api.answers import EventsResponse
from writeoffs.api.transport import bearer_api_key, bearer_endpoint, method_not_allowed

EVENTS_LIMIT_DEFAULT = 100
EVENTS_LIMIT_MAX = 1000
# A cursor is an event id: digits, and no longer than a 64-bit id.
_CURSOR_MAX_DIGITS = 19


@bearer_endpoint()
def events_feed(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return method_not_allowed("GET, HEAD", "Use GET.")
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
