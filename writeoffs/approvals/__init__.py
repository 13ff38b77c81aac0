"""Approvals (maker-checker): limits per role and currency, and the decisions on
pending write-offs."""
