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

# The books: the lock date, the trial balance, the journal export.
urlpatterns += [
    path("books/lock-date/", views.lock_date_page, name="lock_date"),
    path("books/trial-balance/", views.trial_balance_page, name="trial_balance"),
    path("books/journal/", views.journal_export_page, name="journal_export_page"),
    path("books/journal/export.csv", views.journal_export_csv, name="journal_export"),
]
