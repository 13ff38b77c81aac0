"""Sync with the billing system: imports in (the events feed out is writeoffs/api/feed.py)."""
