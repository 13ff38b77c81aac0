"""Dispute cases (SPEC Part 3): open, work, resolve; one idea per module."""
