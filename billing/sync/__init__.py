"""Sync with the billing system (SPEC Part 3): accounts, invoices and payments coming in
(imports), and the events feed pushed out as webhooks."""
