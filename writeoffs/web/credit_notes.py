"""A credit note's page: print-ready (the print stylesheet leaves the document only).

No PDF: no well-kept pure-Python library renders this HTML to PDF without system
packages (WeasyPrint needs Pango; xhtml2pdf pulls in reportlab and a pile of
pinned pieces), so the browser's print to PDF is the way to a file.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_http_methods

from billing.receivables.selectors import account_for
from billing.web.htmx import HtmxHttpRequest, render_page
from writeoffs.models import CreditNote


@login_required
@permission_required("writeoffs.view_writeoff", raise_exception=True)
@require_http_methods(["GET"])
def credit_note_detail(request: HtmxHttpRequest, acct_no: int, credit_note_no: str) -> HttpResponse:
    account = account_for(acct_no)
    note = (
        CreditNote.objects.select_related("invoice", "account", "writeoff")
        .prefetch_related("lines__tax_rate")
        .filter(account=account, number=credit_note_no)
        .first()
    )
    if note is None:
        raise Http404("No such credit note on this account.")
    return render_page(
        request,
        "writeoffs/credit_note.html",
        {"account": account, "note": note, "currency": note.invoice.currency},
        partial="document",
    )
