"""Tax on write-offs (SPEC Part 3): credit notes, the daily relief step, and what
verify_ledger expects of a write-off's split."""
