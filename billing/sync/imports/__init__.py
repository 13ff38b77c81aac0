"""The import of accounts, invoices and payments: one service, three ways in."""
