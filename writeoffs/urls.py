"""The Transactions > Write-Offs pages."""

urlpatterns: list = []
