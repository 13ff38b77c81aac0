"""Rendering a page or one of its fragments, depending on who asks.

A view renders the whole page for a normal request and a named
``{% partialdef %}`` of the same template for htmx. The response differs by
``HX-Request``, so it says so in ``Vary``: a cache must never serve the
fragment to a browser that asked for the page, or the other way round.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def render_page(
    request: HttpRequest,
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
