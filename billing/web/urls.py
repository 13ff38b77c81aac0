"""The billing app's pages: accounts, invoices, payments, and the books."""

from django.urls import path

from billing.web import accounts, books, imports

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

# Imports from the billing system: upload, check, preview, import, result, mapping.
urlpatterns += [
    path("imports/", imports.import_upload, name="import_upload"),
    path("imports/<int:import_id>/", imports.import_detail, name="import_detail"),
    path("imports/<int:import_id>/import/", imports.import_start, name="import_start"),
    path("imports/<int:import_id>/mapping/", imports.import_mapping, name="import_mapping"),
    path(
        "imports/<int:import_id>/refused.csv",
        imports.import_refused_csv,
        name="import_refused_csv",
    ),
]
