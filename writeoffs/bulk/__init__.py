"""Bulk small-balance write-off runs: draft and preview, start, execution on the task
worker, and the log."""
