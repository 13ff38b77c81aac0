"""The billing app's pages, and the error pages every view shares."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from django_htmx.http import reswap, retarget, trigger_client_event

from billing.htmx import render_page
from billing.pagination import page_window
from billing.selectors import accounts_matching

ACCOUNTS_PER_PAGE = 25


@login_required
@permission_required("billing.view_account", raise_exception=True)
@require_http_methods(["GET"])
def account_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    accounts = page_window(accounts_matching(query), request.GET.get("page"), ACCOUNTS_PER_PAGE)
    return render_page(
        request,
        "billing/account_list.html",
        {"accounts": accounts, "query": query},
        partial="results",
    )


def _error_page(request: HttpRequest, template: str, status: int) -> HttpResponse:
    """A full page normally; for htmx, just the message, shown in the drawer.

    htmx swaps 403/404 bodies (see responseHandling in base.html). Whatever asked,
    the message lands in the drawer, and a pop-out that asked is closed, so the
    user reads it where they were working rather than in a half-replaced table.
    """
    htmx = getattr(request, "htmx", False)
    response = render(
        request, f"{template}#message" if htmx else template, {"status": status}, status=status
    )
    if htmx:
        retarget(response, "#drawer-content")
        reswap(response, "innerHTML")
        trigger_client_event(response, "closePopout")
    return response


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "403.html", 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "404.html", 404)
