"""The error pages every view shares, the outage page and the load balancer's probe."""

from __future__ import annotations

import sys

from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.views import defaults
from django.views.decorators.http import require_http_methods
from django_htmx.http import reswap, retarget, trigger_client_event

from billing.web.accounts import logger
from billing.web.htmx import CLOSE_POPOUT, HtmxHttpRequest

# Billing's pages show write-offs and holds too; they read them through the write-offs
# app's selectors (the import-linter contract in pyproject.toml allows views this).


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
    patch_vary_headers(response, ["HX-Request"])
    if htmx:
        retarget(response, "#drawer-content")
        reswap(response, "innerHTML")
        trigger_client_event(response, CLOSE_POPOUT)
    return response


def permission_denied(request: HtmxHttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "403.html", 403)


def page_not_found(request: HtmxHttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, "404.html", 404)


def csrf_failure(request: HtmxHttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form sent with a stale or missing token. Django's own page
    carries an inline <style> that the CSP blocks (an error in the console) and
    speaks to developers; this one is the app's page, and says what to do."""
    return _error_page(request, "403_csrf.html", 403)


# How long a client should wait before retrying while the database is unreachable.
OUTAGE_RETRY_AFTER_SECONDS = 30


def database_is_unavailable(exception: BaseException | None) -> bool:
    """Whether the database being unreachable caused this exception. Django wraps
    the driver's error in OperationalError or InterfaceError; a session whose
    save failed arrives as SessionInterrupted with that error as its context."""
    seen = 0
    while exception is not None and seen < 10:
        if isinstance(exception, OperationalError | InterfaceError):
            return True
        exception = exception.__cause__ or exception.__context__
        seen += 1
    return False


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """A readable 503 with Retry-After. Rendered without the request's context: the
    context processors would read the user, which needs the very database that is down."""
    htmx = request.headers.get("HX-Request") == "true"
    body = render_to_string(
        "503.html#message" if htmx else "503.html", {"status": 503, "htmx": htmx}
    )
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
    patch_vary_headers(response, ["HX-Request"])
    if htmx:
        retarget(response, "#drawer-content")
        reswap(response, "innerHTML")
        trigger_client_event(response, "closePopout")
    return response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if database_is_unavailable(exception):
        return service_unavailable(request)
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its ``except`` block, so the exception is at hand.
    if database_is_unavailable(sys.exc_info()[1]):
        return service_unavailable(request)
    return defaults.server_error(request)


def nul_in_input(request: HttpRequest) -> HttpResponse:
    """The answer to a request carrying NUL (billing.ops.middleware.RefuseNulMiddleware),
    in the words check_text uses for an illegal character."""
    return _error_page(request, "illegal_input.html", 400)


@require_http_methods(["GET", "HEAD"])
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers: 200 when the database answers and every migration is
    applied, otherwise 503. No sign-in; the body says nothing more than that, and
    what failed goes to the log. billing.ops.middleware.HealthCheckMiddleware routes
    the probe here before the host and HTTPS checks."""
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        logger.exception("Health check: the database did not answer.")
        pending = None
    healthy = pending == []
    if pending:
        logger.error("Health check: %d migrations are not applied.", len(pending))
    response = HttpResponse(
        "ok\n" if healthy else "unavailable\n",
        status=200 if healthy else 503,
        content_type="text/plain; charset=utf-8",
    )
    response["Cache-Control"] = "no-store"
    # SecurityMiddleware and the CSP middleware never see this answer: their headers, by hand.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    return response
