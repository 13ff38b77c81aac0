"""Sync with the billing system (SPEC Part 3): the events feed pushed out as webhooks."""
