"""The ledger: the control codes, the lock date, posting, the books (trial balance,
journal export) and closing a period. Every journal line is written here."""
