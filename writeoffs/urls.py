"""The Transactions > Write-Offs pages.

Each drawer and pop-out step has its own plain URL, so the flow also works as
full pages without JavaScript.
"""

from django.urls import path

from writeoffs import views

urlpatterns = [
    path("accounts/<int:acct_no>/write-offs/", views.writeoff_page, name="writeoff_page"),
]
