"""The billing app's pages: accounts, invoices, payments."""

from django.urls import path

from billing import views

urlpatterns = [
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/<int:acct_no>/", views.account_overview, name="account_overview"),
    path("accounts/<int:acct_no>/invoices/", views.invoice_list, name="invoice_list"),
    path(
        "accounts/<int:acct_no>/invoices/<int:invoice_no>/",
        views.invoice_detail,
        name="invoice_detail",
    ),
    path(
        "accounts/<int:acct_no>/invoices/<int:invoice_no>/payments/new/",
        views.payment_new,
        name="payment_new",
    ),
    path("accounts/<int:acct_no>/payments/", views.payment_list, name="payment_list"),
    path(
        "accounts/<int:acct_no>/payments/<int:payment_id>/remove/",
        views.payment_remove_view,
        name="payment_remove",
    ),
]
