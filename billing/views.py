from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods


@login_required
@permission_required("billing.view_account", raise_exception=True)
@require_http_methods(["GET"])
def account_list(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/account_list.html", {})
