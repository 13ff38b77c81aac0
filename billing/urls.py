from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from billing.web import errors

urlpatterns = [
    path("healthz", errors.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("writeoffs.web.report_urls")),
    path("", include("billing.web.urls")),
    path("", include("writeoffs.web.urls")),
    path("api/", include("writeoffs.api.urls")),
]

# Readable 403/404 pages, and for htmx a message fragment that lands in the drawer.
handler403 = "billing.web.errors.permission_denied"
handler404 = "billing.web.errors.page_not_found"
# A database outage is a readable 503 with Retry-After (see billing.web.errors.service_unavailable).
handler400 = "billing.web.errors.bad_request"
handler500 = "billing.web.errors.server_error"
