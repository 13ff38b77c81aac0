"""htmx requests and an expired session; NUL in input; the load balancer's health probe.

A fragment request whose session has expired must not swap the sign-in page
into a drawer: it gets ``HX-Redirect`` to sign-in, so the browser leaves the page.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url

from billing.web.errors import healthz, nul_in_input
from billing.web.htmx import HtmxHttpRequest


class HtmxAuthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HtmxHttpRequest) -> HttpResponse:
        response = self.get_response(request)
        is_htmx = getattr(request, "htmx", False)
        login_url = resolve_url(settings.LOGIN_URL)
        if (
            is_htmx
            and response.status_code == 302
            and response.get("Location", "").startswith(login_url)
        ):
            current = request.htmx.current_url_abs_path or request.get_full_path()
            redirect = redirect_to_login(current, login_url)
            htmx_response = HttpResponse(status=204)
            htmx_response["HX-Redirect"] = redirect["Location"]
            return htmx_response
        return response


class HealthCheckMiddleware:
    """First in MIDDLEWARE: ``/healthz`` is answered before SecurityMiddleware's
    HTTPS redirect and CommonMiddleware's ALLOWED_HOSTS check. A load balancer
    probes each instance over plain HTTP by its address, which is neither HTTPS
    nor an allowed host. Skipping the host check is safe here because the answer
    never uses the Host header (no links, no redirects), and it skips sessions,
    CSRF and sign-in, which the probe has none of."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == "/healthz":
            return healthz(request)
        return self.get_response(request)


class RefuseNulMiddleware:
    """A NUL character in any query parameter or form field (name or value) is
    answered with a readable 400 before any view or admin page reads it.

    No text column can hold NUL (PostgreSQL refuses it outright, which used to
    surface as a 500 from a search or an admin filter), and no person types one:
    it is a broken or hostile client. Refusing it here covers every parameter,
    including those no form validates, such as admin's changelist filters. The
    other characters the SPEC calls illegal are refused by the forms and the
    search box, next to the field (check_text, 25020). The API answers in JSON
    with its own codes, so it is left to the API."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith("/api/") and (
            _has_nul(request.GET) or (request.method == "POST" and _has_nul(request.POST))
        ):
            return nul_in_input(request)
        return self.get_response(request)


def _has_nul(params) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in params.lists()
    )


class NoStoreWhenSignedInMiddleware:
    """Every answer to a signed-in request carries ``Cache-Control: no-store``: pages,
    htmx fragments, CSV exports (streamed or not) and admin alike hold customers'
    balances, and no browser cache, shared proxy or "back" button may keep a copy
    after the user signs out. A view that set its own Cache-Control keeps it.

    After AuthenticationMiddleware in MIDDLEWARE, so that ``request.user`` is known;
    a sign-in that has just succeeded is signed in by the time the answer passes here."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response
