"""htmx requests and an expired session.

A fragment request whose session has expired must not swap the sign-in page
into a drawer: it gets ``HX-Redirect`` to sign-in, so the browser leaves the page.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url

from billing.htmx import HtmxHttpRequest


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
