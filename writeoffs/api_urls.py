"""The JSON API (seed 001)."""

urlpatterns: list = []
