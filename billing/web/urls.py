"""The billing app's pages: accounts, invoices, payments, and the books."""

from django.urls import path

from billing.web import accounts, books

urlpatterns = [
    path("accounts/", accounts.account_list, name="account_list"),
    path("accounts/<int:acct_no>/", accounts.account_overview, name="account_overview"),
    path("accounts/<int:acct_no>/invoices/", accounts.invoice_list, name="invoice_list"),
    path(
        "accounts/<int:acct_no>/invoices/<int:invoice_no>/",
        accounts.invoice_detail,
        name="invoice_detail",
    ),
    path(
        "accounts/<int:acct_no>/invoices/<int:invoice_no>/payments/new/",
        accounts.payment_new,
        name="payment_new",
    ),
    path(
        "accounts/<int:acct_no>/invoices/<int:invoice_no>/payments/confirm/",
        accounts.payment_confirm,
        name="payment_confirm",
    ),
    path(
        "accounts/<int:acct_no>/invoices/<int:invoice_no>/void/",
        accounts.invoice_void_view,
        name="invoice_void",
    ),
    path("accounts/<int:acct_no>/payments/", accounts.payment_list, name="payment_list"),
    path(
        "accounts/<int:acct_no>/payments/<int:payment_id>/remove/",
        accounts.payment_remove_view,
        name="payment_remove",
    ),
]

# The books: the lock date, the trial balance, the journal export.
urlpatterns += [
    path("books/lock-date/", books.lock_date_page, name="lock_date"),
    path("books/trial-balance/", books.trial_balance_page, name="trial_balance"),
    path("books/journal/", books.journal_export_page, name="journal_export_page"),
    path("books/journal/export.csv", books.journal_export_csv, name="journal_export"),
]
