"""The allowance for doubtful accounts: the month end's provision run and the
allowance's roll-forward (SPEC Part 3)."""
