"""Sync with the billing system: accounts, invoices and payments coming in."""
