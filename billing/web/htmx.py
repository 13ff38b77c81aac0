"""Answering htmx: a page or one of its fragments, and the answer to a success.

A view renders the whole page for a normal request and a named
``{% partialdef %}`` of the same template for htmx. The response differs by
``HX-Request``, so it says so in ``Vary``: a cache must never serve the
fragment to a browser that asked for the page, or the other way round.

The events the server sends in ``HX-Trigger`` are named here once; static/js/app.js
listens for the same names, and templates refresh on ``ledgerChanged from:body``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django_htmx.http import trigger_client_event
from django_htmx.middleware import HtmxDetails

# A payment, write-off or dispute hold was created or changed; detail {kind, id}.
LEDGER_CHANGED = "ledgerChanged"
# Close the pop-out (a refusal goes back to the drawer), or both overlays.
CLOSE_POPOUT = "closePopout"
CLOSE_OVERLAYS = "closeOverlays"
# Show a message in the page's message area; detail {level, text}.
SHOW_MESSAGE = "showMessage"


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (for type checkers)."""

    htmx: HtmxDetails


def render_page(
    request: HtmxHttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """The page for a normal request; ``template#partial`` for an htmx one."""
    name = f"{template}#{partial}" if partial and request.htmx else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def htmx_done(
    request: HtmxHttpRequest, *, kind: str, pk: int, message: str, next_url: str
) -> HttpResponse:
    """The answer to every successful change.

    htmx gets an empty 204 whose events close the overlays, show ``message`` and
    announce ``ledgerChanged`` with the entry's kind and id, so each table or ledger
    listening for it refreshes (and highlights the row). Without JavaScript: the
    same message on the next page, and a redirect to ``next_url``.
    """
    if request.htmx:
        response = HttpResponse(status=204)
        trigger_client_event(response, LEDGER_CHANGED, {"kind": kind, "id": pk})
        trigger_client_event(response, CLOSE_OVERLAYS)
        trigger_client_event(response, SHOW_MESSAGE, {"level": "success", "text": message})
        patch_vary_headers(response, ["HX-Request"])
        return response
    messages.success(request, message)
    return redirect(next_url)
