"""Receivables: sending invoices, recording and removing payments, and the reads the
account pages share."""
