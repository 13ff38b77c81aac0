"""The billing app's pages: accounts, invoices, payments."""

from django.urls import path

from billing import views

urlpatterns = [
    path("", views.account_list, name="account_list"),
]
