"""The Transactions > Write-Offs page: tables, picker and entry drawers, confirm pop-out."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from billing.htmx import render_page
from billing.selectors import account_for


@login_required
@permission_required("writeoffs.view_writeoff", raise_exception=True)
@require_http_methods(["GET"])
def writeoff_page(request: HttpRequest, acct_no: int) -> HttpResponse:
    account = account_for(acct_no)
    return render_page(request, "writeoffs/page.html", {"account": account, "section": "writeoffs"})
