"""The project's URLs plus what only the benchmark serves.

- ``stock-admin/``: Django's admin with default ``ModelAdmin`` classes, the
  baseline for measurement A and the admin comparisons.
- ``minimal/<acct_no>/write-offs/``: the floor for B2, the same rows through a
  one-loop template.
- ``bare/``: the floor for H (HTTP), a fixed string for a signed-in user: every
  middleware and the session's user, nothing of a page.
"""

from django.contrib import admin
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template import engines
from django.urls import include, path
from django.views.decorators.http import require_http_methods

from billing.models import Account, Invoice
from writeoffs.models import WriteOff

PAGE_SIZE = 25

stock_site = admin.AdminSite(name="stock_admin")


class StockWriteOffAdmin(admin.ModelAdmin):
    list_per_page = PAGE_SIZE


class StockInvoiceAdmin(admin.ModelAdmin):
    list_per_page = PAGE_SIZE


stock_site.register(WriteOff, StockWriteOffAdmin)
stock_site.register(Invoice, StockInvoiceAdmin)


def stock_like_ours(model) -> type[admin.ModelAdmin]:
    """A default ModelAdmin showing as many rows per page as the project's admin does."""
    ours = admin.site._registry.get(model)
    per_page = ours.list_per_page if ours else admin.ModelAdmin.list_per_page
    return type(f"Stock{model.__name__}Admin", (admin.ModelAdmin,), {"list_per_page": per_page})


# Our admin changelists are compared with stock ones of the same page size.
stock_same_page_site = admin.AdminSite(name="stock_admin_same_page")
stock_same_page_site.register(WriteOff, stock_like_ours(WriteOff))
stock_same_page_site.register(Invoice, stock_like_ours(Invoice))

MINIMAL_TEMPLATE = engines["django"].from_string(
    "<table>{% for w in writeoffs %}<tr><td>{{ w.pk }}</td><td>{{ w.invoice.invoice_no }}</td>"
    "<td>{{ w.writeoff_date }}</td><td>{{ w.amount }} {{ w.invoice.currency }}</td>"
    "<td>{{ w.get_reason_code_display }}</td><td>{{ w.comments }}</td>"
    "<td>{{ w.created_by_label }}</td><td>{{ w.get_status_display }}</td></tr>"
    "{% endfor %}</table>"
)


@login_required
@permission_required("writeoffs.view_writeoff", raise_exception=True)
def minimal_writeoffs(request: HttpRequest, acct_no: int) -> HttpResponse:
    account = get_object_or_404(Account, acct_no=acct_no)
    writeoffs = WriteOff.objects.filter(account=account).select_related("invoice")[:PAGE_SIZE]
    return HttpResponse(MINIMAL_TEMPLATE.render({"writeoffs": writeoffs}, request))


@login_required
@require_http_methods(["GET"])
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("stock-admin/", stock_site.urls),
    path("stock-admin-same-page/", stock_same_page_site.urls),
    path("minimal/<int:acct_no>/write-offs/", minimal_writeoffs, name="bench_minimal"),
    path("bare/", bare, name="bench_bare"),
    path("", include("billing.urls")),
]
