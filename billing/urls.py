from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("writeoffs.report_urls")),
    path("", include("billing.app_urls")),
    path("", include("writeoffs.urls")),
    path("api/", include("writeoffs.api_urls")),
]

# Readable 403/404 pages, and for htmx a message fragment that lands in the drawer.
handler403 = "billing.views.permission_denied"
handler404 = "billing.views.page_not_found"
